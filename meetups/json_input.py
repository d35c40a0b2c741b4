"""Reading the JSON object a public API call sends: one set of type checks and messages."""
from flask import request
from flask_babel import gettext as _

from .errors import DomainError


def text_fields(names: tuple[str, ...], required: tuple[str, ...] = ()) -> dict[str, str]:
    """The JSON object's text fields: 400 for a body that is not an object, 422 for a wrong type."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise DomainError("bad_request", _("Send a JSON object with Content-Type: application/json."), status=400)
    values, fields = {}, {}
    for name in names:
        value = body.get(name)
        if value is None:
            value = ""
        if not isinstance(value, str):
            fields[name] = _("This must be text.")
        elif name in required and not value.strip():
            fields[name] = _("This is required.")
        else:
            values[name] = value
    if fields:
        raise DomainError("invalid", _("Please correct the marked fields."), fields)
    return values


MAX_ID = 2**31 - 1  # larger numbers name no row (and overflow PostgreSQL's integer)


def id_fields(names: tuple[str, ...], required: tuple[str, ...] = ()) -> dict[str, int | None]:
    """The JSON object's optional row numbers (absent or null: None); 422 for anything but a
    whole number from 1 to MAX_ID. Call it after text_fields, which checks the body is an object."""
    body = request.get_json(silent=True) or {}
    values, fields = {}, {}
    for name in names:
        value = body.get(name)
        if value is None and name in required:
            fields[name] = _("This is required.")
        elif value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID):
            fields[name] = _("This must be a number from the system (a whole number).")
        else:
            values[name] = value
    if fields:
        raise DomainError("invalid", _("Please correct the marked fields."), fields)
    return values
