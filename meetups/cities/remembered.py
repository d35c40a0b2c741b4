"""The city a fan chose on the meetup list, remembered in a cookie, so that every page that asks
for a city (the list, registering, asking for a meetup) starts from it."""
from flask import Response, request

from ..extensions import db
from ..shared.validation import whole_number
from .models import City

CITY_COOKIE = "city"  # the geonameid of the city the fan last chose
CITY_COOKIE_AGE = 365 * 24 * 3600


def remembered_city() -> City | None:
    """The city the fan chose (the cookie), if it still exists."""
    geonameid = whole_number(request.cookies.get(CITY_COOKIE))
    return db.session.get(City, geonameid) if geonameid is not None else None


def remember_city(response: Response, city: City | None) -> None:
    """Keep `city` for the fan's next visits; None forgets it."""
    if city is None:
        response.delete_cookie(CITY_COOKIE)
    else:
        response.set_cookie(CITY_COOKIE, str(city.geonameid), max_age=CITY_COOKIE_AGE, samesite="Lax")
