"""The fan's pages: the upcoming meetups (nearest first when the fan's city is known), each meetup
with its registration form, and the manage page (also the confirmation page after registering),
where the fan sees the registration and the ticket, accepts an offered seat or cancels."""
from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from ..accounts.access import public
from ..cities.models import City
from ..cities.remembered import remember_city, remembered_city
from ..cities.services import MAX_TYPED_CITY, city_named, city_suggestions
from ..errors import DomainError
from ..events.models import Meetup
from ..events.services import distance_km, map_links, upcoming_meetups
from ..extensions import db
from ..shared.forms import EmptyForm, public_write, show_on_form
from ..shared.private_links import keep_private
from ..shared.timeutil import utcnow
from .cards import meetup_card_items
from .forms import CancelForm, RegistrationForm
from .seats import meetup_seats, seat_counts
from .services import (
    accept_offer,
    cancel_registration,
    closed_message,
    register,
    registration_for_token,
    waitlist_position,
)

bp = Blueprint("registration", __name__)
bp.add_app_template_global(meetup_card_items)


@bp.route("/meetups")
@public
def upcoming():
    typed = request.args.get("city")
    unknown_city = None
    if typed is None:
        city = remembered_city()
    else:
        typed = typed.strip()[:MAX_TYPED_CITY]
        city = city_named(typed)
        if typed and city is None:
            unknown_city = typed
    meetups, counts, distances = meetup_listing(city)
    locale = str(get_locale())
    response = make_response(render_template(
        "registration/list.html", meetups=meetups, counts=counts, distances=distances, now=utcnow(), city=city,
        typed_city=typed if typed is not None else (city.display_name(locale) if city else ""),
        unknown_city=unknown_city, city_names=city_suggestions(locale, [m.city for m in meetups]),
    ))
    if typed == "":  # the fan emptied the field: forget the city
        remember_city(response, None)
    elif typed and city is not None:
        remember_city(response, city)
    return response


@bp.route("/meetups/<int:meetup_id>", methods=["GET", "POST"])
@public_write
@public
def meetup(meetup_id: int):
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
                show_on_form(form, error, flash_rest=False)
            else:
                if outcome.is_confirmed:
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
        "registration/meetup.html", meetup=meetup, form=form, state=state, counts=meetup_seats(meetup, now),
        closed=closed_message(meetup, state) if state != "open" else None, problem=problem,
        maps=map_links(meetup) if meetup.has_venue_location else None,
        city_names=city_suggestions(str(get_locale()), [meetup.city]),
    ), status


def meetup_listing(near: City | None):
    """Upcoming meetups (nearest to `near` first), their seat counts and distances in km."""
    meetups = upcoming_meetups(near=near)
    distances = {m.id: distance_km(near, m) for m in meetups} if near is not None else {}
    return meetups, seat_counts(meetups), distances


# --- the manage link -----------------------------------------------------------------------

@bp.route("/manage/<token>")
@public
def manage(token: str):
    return _manage_page(token, CancelForm(), 200)


@bp.route("/manage/<token>/cancel", methods=["POST"])
@public
def cancel(token: str):
    form = CancelForm()
    if not form.validate_on_submit():
        return _manage_page(token, form, 422)
    try:
        outcome = cancel_registration(token)
    except DomainError as error:
        if error.code == "not_found":
            raise
        flash(error.message, "error")
    else:
        if outcome.promoted:
            flash(_("Your registration is cancelled. Your seat went to the next fan on the waiting list. Thank you!"),
                  "success")
        else:
            flash(_("Your registration is cancelled."), "success")
    return redirect(url_for("registration.manage", token=token))


@bp.route("/manage/<token>/accept", methods=["POST"])
@public
def accept(token: str):
    if EmptyForm().validate_on_submit():
        try:
            accept_offer(token)
        except DomainError as error:
            if error.code == "not_found":
                raise
            flash(error.message, "error")
        else:
            flash(_("The seat is yours! Your ticket is ready below."), "success")
    else:
        flash(_("This form has expired. Please try again."), "error")
    return redirect(url_for("registration.manage", token=token))


def _manage_page(token: str, cancel_form: CancelForm, status: int):
    registration = registration_for_token(token)  # DomainError not_found → the 404 page
    meetup = registration.meetup
    ticket_ref = registration.ticket_ref
    return keep_private(make_response(render_template(
        "registration/manage.html", registration=registration, meetup=meetup, token=token,
        position=waitlist_position(registration), now=utcnow(), started=utcnow() >= meetup.starts_at,
        ticket_url=url_for("tickets.ticket", ref=ticket_ref), calendar_url=url_for("tickets.calendar", ref=ticket_ref),
        cancel_form=cancel_form, accept_form=EmptyForm(),
    ), status))
