"""The fan's forms: registering for a meetup, and giving the registration up (a tick first, no
JavaScript needed)."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, StringField, TelField, TextAreaField
from wtforms.validators import DataRequired

from ..shared.validation import MAX_EMAIL_LENGTH, column_length
from .models import Registration
from .services import MAX_QUESTION


class RegistrationForm(FlaskForm):
    """Only the CSRF token is checked here: the service `register` judges every field, so that the
    page, the JSON API and the tests all meet the same rules and the same messages."""

    name = StringField(_l("Your name"), render_kw={
        "autocomplete": "name", "maxlength": column_length(Registration.name)})
    email = EmailField(_l("Email (your ticket is sent here)"), render_kw={
        "autocomplete": "email", "inputmode": "email", "maxlength": MAX_EMAIL_LENGTH})
    city = StringField(_l("Your city"), render_kw={
        "list": "city-names", "autocomplete": "off", "maxlength": column_length(Registration.city_text)})
    phone = TelField(_l("Phone (optional)"), render_kw={
        "autocomplete": "tel", "maxlength": column_length(Registration.phone)})
    invite_code = StringField(_l("Invite code (optional)"), render_kw={
        "autocomplete": "off", "autocapitalize": "characters", "maxlength": 20, "placeholder": "ABCDE-FGHJK"})
    question = TextAreaField(_l("What would you like to ask the engineers?"), render_kw={
        "rows": 4, "maxlength": MAX_QUESTION})


class CancelForm(FlaskForm):
    confirm = BooleanField(_l("Yes, I will not come: give my place to the next fan"),
                           validators=[DataRequired(_l("Tick the box to confirm that you want to cancel."))])
