"""Reading the JSON object an API call sends: one set of type checks and messages for every
API (registrations, city requests, the feedback pool, the door), collected with the services'
own field checks (`validation.Fields`)."""
from flask import request
from flask_babel import gettext as _

from ..errors import DomainError
from .validation import MAX_ID, Fields


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
        self.fields = Fields()

    @property
    def errors(self) -> dict[str, str]:
        return self.fields.errors

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
        return self.fields.text(field, value, most=most, required=_("This is required.") if required else None,
                                strip=strip)

    def check_number(self, value, field: str, required: bool = True, message: str | None = None) -> int | None:
        """A row number, a whole number from 1 to MAX_ID (absent or null: None, unless `required`);
        JSON numbers only, never text holding one."""
        if value is None:
            if required:
                self.fields.refuse(field, message or _("This is required."))
            return None
        return self.fields.number(field, value, int, 1, MAX_ID, from_text=False,
                                  message=message or _("This must be a number from the system (a whole number)."))

    def done(self) -> None:
        self.fields.done()


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
