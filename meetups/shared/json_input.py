"""Reading the JSON object an API call sends: one set of type checks and messages for every
API (registrations, city requests, the feedback pool, the door)."""
from flask import request
from flask_babel import gettext as _

from ..errors import DomainError
from .validation import storable

MAX_ID = 2**31 - 1  # larger numbers name no row (and overflow PostgreSQL's integer)


class JsonBody:
    """The request's JSON object, read field by field: 400 `bad_request` for a body that is not an
    object; `done()` raises 422 `invalid` naming every bad field at once. The `check_*` methods
    read a value found elsewhere in the body (an item of a list) under the name given."""

    def __init__(self, optional: bool = False):
        body = request.get_json(silent=True)
        if body is None and optional and not request.get_data():
            body = {}  # `optional`: an empty body reads as {}
        if not isinstance(body, dict):
            raise DomainError("bad_request", _("Send a JSON object with Content-Type: application/json."), status=400)
        self.body = body
        self.errors: dict[str, str] = {}

    def text(self, name: str, required: bool = False, most: int | None = None, strip: bool = True) -> str:
        return self.check_text(self.body.get(name), name, required, most, strip)

    def number(self, name: str, required: bool = True, message: str | None = None) -> int | None:
        return self.check_number(self.body.get(name), name, required, message)

    def texts(self, names: tuple[str, ...], required: tuple[str, ...] = ()) -> dict[str, str]:
        """Text fields as sent (the services strip them)."""
        return {name: self.text(name, required=name in required, strip=False) for name in names}

    def numbers(self, names: tuple[str, ...], required: tuple[str, ...] = ()) -> dict[str, int | None]:
        """Row numbers (absent or null: None unless required)."""
        return {name: self.number(name, required=name in required) for name in names}

    def check_text(self, value, field: str, required: bool = False, most: int | None = None,
                   strip: bool = True) -> str:
        """Text (absent or null: empty), stripped unless `strip` is False."""
        if value is None:
            value = ""
        if not isinstance(value, str):
            self.errors[field] = _("This must be text.")
            return ""
        if strip:
            value = value.strip()
        if required and not value.strip():
            self.errors[field] = _("This is required.")
        elif most is not None and len(value) > most:
            self.errors[field] = _("At most %(most)d characters.", most=most)
        elif not storable(value):
            self.errors[field] = _("This contains characters that cannot be stored.")
        return value

    def check_number(self, value, field: str, required: bool = True, message: str | None = None) -> int | None:
        """A row number, a whole number from 1 to MAX_ID (absent or null: None, unless `required`)."""
        if value is None and not required:
            return None
        if value is None and message is None:
            self.errors[field] = _("This is required.")
        elif isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
            self.errors[field] = message or _("This must be a number from the system (a whole number).")
        else:
            return value
        return None

    def done(self) -> None:
        if self.errors:
            raise DomainError("invalid", _("Please correct the marked fields."), self.errors)


def text_fields(names: tuple[str, ...], required: tuple[str, ...] = ()) -> dict[str, str]:
    """`JsonBody.texts` of a body holding nothing else to check."""
    body = JsonBody()
    values = body.texts(names, required)
    body.done()
    return values


def id_fields(names: tuple[str, ...], required: tuple[str, ...] = ()) -> dict[str, int | None]:
    """`JsonBody.numbers` of a body holding nothing else to check."""
    body = JsonBody()
    values = body.numbers(names, required)
    body.done()
    return values
