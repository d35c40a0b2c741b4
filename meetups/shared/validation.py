"""Rules for the text people type, shared by the services that store it."""
import re

_SURROGATE = re.compile("[\ud800-\udfff]")
_EMAIL = re.compile(r"[^@\s,;<>\"]+@[^@\s,;<>\"]+\.[^@\s,;<>\".]+")
MAX_EMAIL_LENGTH = 254  # RFC 5321's limit; every email column is String(254)


def is_email(text: str) -> bool:
    """What the app accepts as a fan's email address (already lower-cased and trimmed): the fan
    base import, registering, asking for a city and voting use this one rule."""
    return len(text) <= MAX_EMAIL_LENGTH and _EMAIL.fullmatch(text) is not None


def storable(text: str) -> bool:
    """No NUL (PostgreSQL refuses it) and no lone surrogate (JSON allows "\\ud800"; UTF-8 does not)."""
    return "\x00" not in text and not _SURROGATE.search(text)


def whole_number(text: str | None) -> int | None:
    """A row number typed or sent as text, or None: ASCII digits only ('²' is a digit to isdigit,
    not to int) and within PostgreSQL's integer."""
    text = (text or "").strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) < 10 else None
