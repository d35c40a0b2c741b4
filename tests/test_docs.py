"""docs/api.md and docs/cli.md document every route under /api/ and every `flask --app app` command:
a new route or command without its section fails here, and so does a section left behind for one
that no longer exists.

What counts as documented:

- **An API route** has a heading in docs/api.md naming its method and path, e.g.
  "### `POST /api/meetups/<id>/checkins`". Paths are compared with every variable part replaced by
  `<>`, whatever its converter and name: the rule `/api/meetups/<int(max=2147483647):meetup_id>/checkins`
  and the heading's `/api/meetups/<id>/checkins` both read `/api/meetups/<>/checkins`. Each method
  of a rule (HEAD and OPTIONS aside, which Flask adds) needs its own heading.
- **A command** (a group, or a command inside one) has a line of docs/cli.md that starts with its
  full name in backticks, as a heading ("### `cities load [--country CN]`") or as the first cell
  of a table row ("| `db history` | …"). The name is the words before the first argument or
  option (`FILE.csv`, `ID`, `[--top 20]`, `-m`): lower-case words, so write arguments in capitals.

Only headings and table rows count, so a command or path merely mentioned in a sentence documents
nothing, and removing the line that documents one fails the test.
"""
import re
from pathlib import Path

import click

DOCS = Path(__file__).resolve().parent.parent / "docs"
IGNORED_METHODS = {"HEAD", "OPTIONS"}

_VARIABLE = re.compile(r"<[^>]*>")
_API_HEADING = re.compile(r"^#{2,6} `(GET|POST|PUT|PATCH|DELETE) (/api/[^`\s?]*)")
_COMMAND_LINE = re.compile(r"^(?:#{2,6} |\| )`(?:flask --app app )?([a-z][a-z0-9-]*(?: [a-z][a-z0-9-]*)*)")


def normalised(path: str) -> str:
    """`/api/feedback/<int(max=2147483647):item_id>/votes` → `/api/feedback/<>/votes`."""
    return _VARIABLE.sub("<>", path)


def documented_endpoints(text: str) -> set[tuple[str, str]]:
    """(method, normalised path) of every endpoint heading of docs/api.md."""
    found = set()
    for line in text.splitlines():
        match = _API_HEADING.match(line)
        if match:
            found.add((match.group(1), normalised(match.group(2))))
    return found


def documented_commands(text: str) -> set[str]:
    """The command names ("cities", "cities load", "db upgrade") that lines of docs/cli.md define."""
    found = set()
    for line in text.splitlines():
        match = _COMMAND_LINE.match(line)
        if match:
            found.add(match.group(1))
    return found


def api_endpoints(app) -> set[tuple[str, str]]:
    return {(method, normalised(rule.rule))
            for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/")
            for method in rule.methods - IGNORED_METHODS}


def registered_commands(group: click.Group, prefix: str = "") -> set[str]:
    """Every command and subcommand under `group`, by its full name."""
    names = set()
    for name, command in group.commands.items():
        full = f"{prefix}{name}"
        names.add(full)
        if isinstance(command, click.Group):
            names |= registered_commands(command, f"{full} ")
    return names


def test_every_api_route_is_documented(app):
    endpoints = api_endpoints(app)
    assert endpoints, "no route under /api/: is the test looking at the right app?"
    documented = documented_endpoints((DOCS / "api.md").read_text(encoding="utf-8"))
    missing = sorted(endpoints - documented)
    assert not missing, f"routes without a '### `METHOD /api/…`' section in docs/api.md: {missing}"
    stale = sorted(documented - endpoints)
    assert not stale, f"docs/api.md documents endpoints the app does not have: {stale}"


def test_every_command_is_documented(app):
    commands = registered_commands(app.cli)
    assert {"cities", "cities load", "db upgrade", "backup"} <= commands
    documented = documented_commands((DOCS / "cli.md").read_text(encoding="utf-8"))
    missing = sorted(commands - documented)
    assert not missing, f"commands without a heading or table row in docs/cli.md: {missing}"
    stale = sorted(documented - commands)
    assert not stale, f"docs/cli.md documents commands the app does not have: {stale}"


def test_the_normalisation():
    assert normalised("/api/meetups/<int(max=2147483647):meetup_id>/checkins") == "/api/meetups/<>/checkins"
    assert normalised("/api/meetups/<id>/checkins/<registration_id>/undo") == "/api/meetups/<>/checkins/<>/undo"
    assert documented_endpoints("### `GET /api/feedback`\nSee `GET /api/health` too.") == {("GET", "/api/feedback")}
    assert documented_commands("### `fans import FILE.csv [--strict]`\n| `db migrate -m MESSAGE` | …\n"
                               "- `meetups sweep` every minute\n") == {"fans import", "db migrate"}
