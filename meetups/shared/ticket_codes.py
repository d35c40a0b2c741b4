"""Ticket codes: `MT1.<ref>.<signature>`, signed with the ticket key.

`MT1` names the format, so a later format can live beside it. `<ref>` is the registration's
random ticket reference (unguessable, redrawn when the registration is cancelled); the signature
is an HMAC-SHA256 of everything before it, so a changed character makes the code invalid, and a
door device can tell a forged code from a real one before it looks anything up.

Rotating the key (README, "Ticket codes"): set the new key and keep the old one in
`TICKET_KEYS_PREVIOUS` (or `instance/ticket_key.previous`, one per line) until the meetups that
tickets were handed out for are over; codes signed with a previous key still verify.
"""
import base64
import hashlib
import hmac
import re
from pathlib import Path

from flask import current_app

PREFIX = "MT1"
_SIGNATURE_BYTES = 16  # 128 bits: not guessable, short enough for a small QR code
_CODE = re.compile(rf"{PREFIX}\.([A-Za-z0-9_-]{{16,32}})\.([A-Za-z0-9_-]{{22}})")


def ticket_code(ticket_ref: str) -> str:
    """The code a ticket with this reference carries, signed with the current key."""
    body = f"{PREFIX}.{ticket_ref}"
    return f"{body}.{_signature(body, _current_key())}"


def ticket_codes(ticket_ref: str) -> list[str]:
    """Every code that verifies for this reference: the current key's first, then one per previous
    key (a fan may hold a code handed out before the last rotation)."""
    body = f"{PREFIX}.{ticket_ref}"
    codes = [f"{body}.{_signature(body, key)}" for key in (_current_key(), *_previous_keys())]
    return list(dict.fromkeys(codes))


def verify(code: str) -> str | None:
    """The ticket reference inside a genuine code; None for anything else, without a database."""
    match = _CODE.fullmatch(code)
    if match is None:
        return None
    body, signature = code[: match.start(2) - 1], match.group(2)
    if hmac.compare_digest(_signature(body, _current_key()), signature):
        return match.group(1)
    if any(hmac.compare_digest(_signature(body, key), signature) for key in _previous_keys()):
        return match.group(1)
    return None


def _signature(body: str, key: str) -> str:
    digest = hmac.new(key.encode(), body.encode(), hashlib.sha256).digest()[:_SIGNATURE_BYTES]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _current_key() -> str:
    return current_app.config["TICKET_KEY"]


def _previous_keys() -> list[str]:
    configured = current_app.config.get("TICKET_KEYS_PREVIOUS") or []
    if isinstance(configured, str):
        configured = configured.split()
    key_file = Path(current_app.instance_path) / "ticket_key.previous"
    from_file = key_file.read_text().split() if key_file.exists() else []
    return [*configured, *from_file]
