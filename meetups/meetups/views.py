"""Fans' meetup pages: the upcoming list (nearest first when the fan's city is known) and each
meetup with its registration form."""
from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from ..accounts.access import public
from ..cities.models import City
from ..cities.services import city_named
from ..errors import DomainError
from ..extensions import db
from ..forms import public_write, show_field_errors
from ..registration.services import closed_message, meetup_seats, refresh_meetup, register, seat_counts
from ..text import whole_number
from ..timeutil import utcnow
from .forms import RegistrationForm, city_suggestions
from .models import Meetup
from .services import distance_km, map_links, upcoming_meetups

bp = Blueprint("meetups", __name__)

CITY_COOKIE = "city"  # the geonameid of the city the fan last chose
CITY_COOKIE_AGE = 365 * 24 * 3600


@bp.route("/meetups")
@public
def upcoming():
    typed = request.args.get("city")
    unknown_city = None
    if typed is None:
        city = remembered_city()
    else:
        typed = typed.strip()[:100]
        city = city_named(typed)
        if typed and city is None:
            unknown_city = typed
    meetups, counts, distances = meetup_listing(city)
    locale = str(get_locale())
    response = make_response(render_template(
        "meetups/list.html", meetups=meetups, counts=counts, distances=distances, now=utcnow(), city=city,
        typed_city=typed if typed is not None else (city.display_name(locale) if city else ""),
        unknown_city=unknown_city, city_names=city_suggestions(locale, [m.city for m in meetups]),
    ))
    if city is not None and typed:
        response.set_cookie(CITY_COOKIE, str(city.geonameid), max_age=CITY_COOKIE_AGE, samesite="Lax")
    elif typed == "":  # the fan emptied the field: forget the city
        response.delete_cookie(CITY_COOKIE)
    return response


@bp.route("/meetups/<int:meetup_id>", methods=["GET", "POST"])
@public_write
@public
def meetup(meetup_id: int):
    refresh_meetup(meetup_id)  # lapsed offers pass on before anyone reads the seat counts
    meetup = db.session.get(Meetup, meetup_id)
    if meetup is None or not meetup.is_listed:
        abort(404)
    form = RegistrationForm()
    status, problem = 200, None
    if request.method == "POST":
        # Checks the CSRF token only (this view is exempt from the global check, see public_write).
        if not form.validate_on_submit():
            status = 400
        else:
            try:
                outcome = register(
                    meetup_id, name=form.name.data, email=form.email.data, city=form.city.data,
                    phone=form.phone.data, question=form.question.data, invite_code=form.invite_code.data,
                    locale=str(get_locale()),
                )
            except DomainError as error:
                if error.code == "not_found":
                    abort(404)
                status, problem = error.status, error.message
                show_field_errors(form, error)
            else:
                if outcome.registration.is_confirmed:
                    flash(_("You have a seat! Your ticket is ready below."), "success")
                else:
                    flash(_("The meetup is full: you are number %(position)d on the waiting list.",
                            position=outcome.waitlist_position or 0), "success")
                return redirect(url_for("registration.manage", token=outcome.manage_token))
    elif not form.city.data:
        city = remembered_city()
        form.city.data = city.display_name(str(get_locale())) if city else ""
    now = utcnow()
    state = meetup.registration_state(now)
    return render_template(
        "meetups/meetup.html", meetup=meetup, form=form, state=state, counts=meetup_seats(meetup, now),
        closed=closed_message(meetup, state) if state != "open" else None, problem=problem,
        maps=map_links(meetup) if meetup.has_venue_location else None,
        city_names=city_suggestions(str(get_locale()), [meetup.city]),
    ), status


def meetup_listing(near: City | None):
    """Upcoming meetups (nearest to `near` first), their seat counts and distances in km."""
    meetups = upcoming_meetups(near=near)
    distances = {m.id: distance_km(near, m) for m in meetups} if near is not None else {}
    return meetups, seat_counts(meetups), distances


def remembered_city() -> City | None:
    """The city the fan chose on the list page (a cookie), if it still exists."""
    geonameid = whole_number(request.cookies.get(CITY_COOKIE))
    return db.session.get(City, geonameid) if geonameid is not None else None
