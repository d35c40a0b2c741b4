"""The shared floor every domain stands on: database plumbing (write locks, CHECK constraints),
validation of what people type, time, mail, links, private-link tokens, ticket-code signing,
JSON input, forms, CSV downloads, backups. It imports no domain."""
