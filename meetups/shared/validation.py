"""Checking what people send, for every service: `Fields` collects a service's field errors
(text trimmed, storable, required, no longer than its database column), `parse_number` reads
every number typed or sent, `is_email` is the one email rule."""
import math
import re

from flask_babel import gettext as _
from sqlalchemy.orm import InstrumentedAttribute

from ..errors import DomainError

_SURROGATE = re.compile("[\ud800-\udfff]")
_EMAIL = re.compile(r"[^@\s,;<>\"]+@[^@\s,;<>\"]+\.[^@\s,;<>\".]+")
_WHOLE = re.compile(r"[+-]?[0-9]{1,18}")
MAX_EMAIL_LENGTH = 254  # RFC 5321's limit; every email column is String(254)
MAX_ID = 2**31 - 1  # larger numbers name no row (and overflow PostgreSQL's integer)


def is_email(text: str) -> bool:
    """What the app accepts as a fan's email address (already lower-cased and trimmed): the fan
    base import, registering, asking for a city and voting use this one rule."""
    return len(text) <= MAX_EMAIL_LENGTH and _EMAIL.fullmatch(text) is not None


def storable(text: str) -> bool:
    """No NUL (PostgreSQL refuses it) and no lone surrogate (JSON allows "\\ud800"; UTF-8 does not)."""
    return "\x00" not in text and not _SURROGATE.search(text)


def column_length(column: InstrumentedAttribute) -> int | None:
    """How many characters the model's column holds (String(100) → 100; Text → None)."""
    return getattr(column.type, "length", None)


def parse_number(value, kind: type = int, least: float | None = None, most: float | None = None,
                 from_text: bool = True) -> int | float | None:
    """The number in `value`, or None when there is none or it lies outside `least`…`most`.

    `value` is a number (never a bool) or, with `from_text`, text holding one in ASCII: a whole
    number for `kind=int` ('²' and '٣' are digits to Python, not to people typing a count), a
    finite decimal for `kind=float`. The one reader of numbers for forms, query strings, the CSV
    import and (with `from_text=False`, as JSON has numbers of its own) the JSON API."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and from_text:
        text = value.strip()
        if not text.isascii():
            return None
        if kind is int:
            value = int(text) if _WHOLE.fullmatch(text) else None
        else:
            try:
                value = float(text)
            except ValueError:
                return None
    if kind is int and not isinstance(value, int):
        return None
    if kind is float and isinstance(value, int | float):
        value = float(value)
        if not math.isfinite(value):
            return None
    elif kind is float:
        return None
    if (least is not None and value < least) or (most is not None and value > most):
        return None
    return value


def whole_number(text: str | None) -> int | None:
    """A row number typed or sent as text (a link token, a form's hidden field), or None."""
    return parse_number(text or "", int, 0, MAX_ID)


class Fields:
    """A service's checks of one request, every bad field collected before anything is refused:
    `done()` raises one DomainError `invalid` naming them all (the form marks each field, the
    JSON API lists them in `fields`)."""

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    def text(self, name: str, value, column: InstrumentedAttribute | None = None, *, most: int | None = None,
             required: str | None = None, strip: bool = True) -> str:
        """`value` trimmed (unless `strip` is False); refused when it is not text, cannot be stored,
        is empty where `required` (the message to show), or longer than `most` (by default the
        length of the model's `column`)."""
        if value is None:
            value = ""
        if not isinstance(value, str):
            self.refuse(name, _("This must be text."))
            return ""
        if strip:
            value = value.strip()
        most = most if most is not None else column_length(column) if column is not None else None
        if not storable(value):
            self.refuse(name, _("This contains characters that cannot be stored."))
        elif required and not value.strip():
            self.refuse(name, required)
        elif most is not None and len(value) > most:
            self.refuse(name, _("At most %(most)d characters.", most=most))
        return value

    def email(self, name: str, value, *, required: str, invalid: str | None = None) -> str:
        """An email address, trimmed and lower-cased (the one rule: `is_email`)."""
        email = self.text(name, value, most=MAX_EMAIL_LENGTH, required=required).lower()
        if email and name not in self.errors and not is_email(email):
            self.refuse(name, invalid or _("This does not look like an email address."))
        return email

    def number(self, name: str, value, kind: type = int, least: float | None = None, most: float | None = None,
               *, message: str, required: bool = True, from_text: bool = True) -> int | float | None:
        """`parse_number` of `value`; `message` when it is not one in range (or missing while
        `required`; absent or empty is None otherwise)."""
        if value is None or (isinstance(value, str) and not value.strip() and from_text):
            if required:
                self.refuse(name, message)
            return None
        number = parse_number(value, kind, least, most, from_text)
        if number is None:
            self.refuse(name, message)
        return number

    def choice(self, name: str, value, choices, *, message: str) -> str:
        """One of `choices` (an enum's values), trimmed."""
        value = value.strip() if isinstance(value, str) else value
        if value not in choices:
            self.refuse(name, message)
        return value

    def refuse(self, name: str, message: str) -> None:
        """A rule of the service's own refused this field (its first message stands)."""
        self.errors.setdefault(name, message)

    def __contains__(self, name: str) -> bool:
        return name in self.errors

    def done(self, message: str | None = None) -> None:
        if self.errors:
            raise DomainError("invalid", message or _("Please correct the marked fields."), dict(self.errors))
