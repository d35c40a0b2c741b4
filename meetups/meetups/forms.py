"""The fan's registration form and the city suggestions shown beside city inputs."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import EmailField, StringField, TelField, TextAreaField

from ..cities.models import City
from ..extensions import db
from ..registration.services import MAX_NAME, MAX_PHONE, MAX_QUESTION

SUGGESTED_CITIES = 40


class RegistrationForm(FlaskForm):
    """Only the CSRF token is checked here: the service `register` judges every field, so that the
    page, the JSON API and the tests all meet the same rules and the same messages."""

    name = StringField(_l("Your name"), render_kw={"autocomplete": "name", "maxlength": MAX_NAME})
    email = EmailField(_l("Email (your ticket is sent here)"),
                       render_kw={"autocomplete": "email", "inputmode": "email", "maxlength": 254})
    city = StringField(_l("Your city"), render_kw={"list": "city-names", "autocomplete": "off", "maxlength": 100})
    phone = TelField(_l("Phone (optional)"), render_kw={"autocomplete": "tel", "maxlength": MAX_PHONE})
    invite_code = StringField(_l("Invite code (optional)"),
                              render_kw={"autocomplete": "off", "autocapitalize": "characters", "maxlength": 20,
                                         "placeholder": "ABCDE-FGHJK"})
    question = TextAreaField(_l("What would you like to ask the engineers?"),
                             render_kw={"rows": 4, "maxlength": MAX_QUESTION})


def city_suggestions(locale: str, extra: list[City] = ()) -> list[str]:
    """Names for a city input's <datalist>: the given cities (meetup hosts), then the largest
    cities of the gazetteer. Only a hint: any name the gazetteer knows is accepted."""
    largest = db.session.scalars(select(City).order_by(City.population.desc(), City.geonameid).limit(SUGGESTED_CITIES))
    names = []
    for city in [*extra, *largest]:
        name = city.display_name(locale)
        if name not in names:
            names.append(name)
    return names
