"""Signed tickets: which registration a ticket names, its QR images, calendar file and page (the
code itself is signed in shared.ticket_codes)."""
