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
