"""The form a fan asks for a meetup in their city with."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, StringField

from ..cities.services import MAX_TYPED_CITY
from ..shared.validation import MAX_EMAIL_LENGTH, column_length
from .models import CityRequest


class AskForm(FlaskForm):
    """Only the CSRF token is checked here: the service `ask_for_city` judges every field, so that
    the page and the JSON API meet the same rules and the same messages."""

    city = StringField(_l("Your city"), render_kw={
        "list": "city-names", "autocomplete": "off", "maxlength": MAX_TYPED_CITY,
        "placeholder": _l("e.g. Chengdu or 成都")})
    email = EmailField(_l("Email (we send a link there to confirm your request)"), render_kw={
        "autocomplete": "email", "inputmode": "email", "maxlength": MAX_EMAIL_LENGTH})
    name = StringField(_l("Your name (optional)"), render_kw={
        "autocomplete": "name", "maxlength": column_length(CityRequest.name)})
