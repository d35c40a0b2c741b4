"""The fan's manage page (also the confirmation page after registering): see the registration and
the ticket, accept an offered seat, cancel."""
from flask import Blueprint, flash, make_response, redirect, render_template, url_for
from flask_babel import gettext as _

from ..accounts.access import public
from ..errors import DomainError
from ..forms import EmptyForm
from ..timeutil import utcnow
from .forms import CancelForm
from .services import accept_offer, cancel_registration, refresh_meetup, registration_for_token, waitlist_position

bp = Blueprint("registration", __name__)


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
    refresh_meetup(registration.meetup_id)  # a lapsed offer passes on before the fan reads it
    meetup = registration.meetup
    ticket_ref = registration.ticket_ref
    response = make_response(render_template(
        "registration/manage.html", registration=registration, meetup=meetup, token=token,
        position=waitlist_position(registration), now=utcnow(), started=utcnow() >= meetup.starts_at,
        ticket_url=url_for("tickets.ticket", ref=ticket_ref), calendar_url=url_for("tickets.calendar", ref=ticket_ref),
        cancel_form=cancel_form, accept_form=EmptyForm(),
    ), status)
    # The URL is the fan's key: keep it out of Referer headers and shared caches.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "private, no-store"
    return response

