"""The planner's pages: every meetup, its settings, attendees, invite codes and forum post."""
from datetime import datetime

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..accounts.access import roles_required
from ..accounts.models import Role
from ..errors import DomainError
from ..events.models import Meetup, MeetupStatus
from ..events.services import close_registration, create_meetup, map_links, publish_meetup
from ..extensions import db
from ..registration.models import InviteCode, RegistrationStatus
from ..registration.seats import meetup_seats, seat_counts
from ..registration.services import attendees, cancel_meetup, create_invite_codes, format_code, update_meetup
from ..shared.forms import EmptyForm, show_on_form
from ..shared.links import external_url
from ..shared.spreadsheets import csv_download
from ..shared.timeutil import to_local, utcnow
from .forms import InviteCodesForm, MeetupForm, location_text
from .promotion import forum_post, link_qr_png

bp = Blueprint("planning_meetups", __name__, url_prefix="/planner/meetups")
planners = roles_required(Role.PLANNER, Role.ADMIN)


@bp.route("")
@planners
def index():
    now = utcnow()
    meetups = list(db.session.scalars(select(Meetup).options(joinedload(Meetup.city))))
    upcoming = sorted((m for m in meetups if m.starts_at >= now), key=lambda m: (m.starts_at, m.id))
    past = sorted((m for m in meetups if m.starts_at < now), key=lambda m: (m.starts_at, m.id), reverse=True)
    return render_template("planning/meetups/index.html", upcoming=upcoming, past=past,
                           seats=seat_counts(meetups, now))


@bp.route("/new", methods=["GET", "POST"])
@planners
def new():
    form = MeetupForm()
    if form.validate_on_submit():
        publish = request.form.get("action") == "publish"
        try:
            meetup = create_meetup(form.details(), publish=publish)
        except DomainError as error:
            show_on_form(form, error)
        else:
            flash(_("Meetup published: fans can register now.") if publish
                  else _("Draft saved. Only planners can see it until you publish it."), "success")
            return redirect(url_for(".detail", meetup_id=meetup.id))
    return _form_page(form, None)


@bp.route("/<int:meetup_id>")
@planners
def detail(meetup_id: int):
    meetup = db.get_or_404(Meetup, meetup_id)
    people = attendees(meetup)
    waiting = [r for r in people if r.status == RegistrationStatus.WAITLISTED.value]
    return render_template(
        "planning/meetups/detail.html", meetup=meetup, seats=meetup_seats(meetup), people=people,
        positions={r.id: number for number, r in enumerate(waiting, 1)},
        public_url=external_url("registration.meetup", meetup_id=meetup.id), form=EmptyForm(), now=utcnow(),
        venue_location=location_text(meetup), venue_map=map_links(meetup)["osm"],
    )


@bp.route("/<int:meetup_id>/edit", methods=["GET", "POST"])
@planners
def edit(meetup_id: int):
    meetup = db.get_or_404(Meetup, meetup_id)
    form = MeetupForm()
    if form.validate_on_submit():
        try:
            update_meetup(meetup.id, form.details())
        except DomainError as error:
            if not error.fields:
                flash(error.message, "error")
                return redirect(url_for(".detail", meetup_id=meetup_id))
            show_on_form(form, error)
        else:
            flash(_("Meetup saved."), "success")
            return redirect(url_for(".detail", meetup_id=meetup_id))
    elif not form.is_submitted():
        form = MeetupForm.for_meetup(meetup)
    return _form_page(form, meetup)


@bp.route("/<int:meetup_id>/publish", methods=["POST"])
@planners
def publish(meetup_id: int):
    meetup = db.get_or_404(Meetup, meetup_id)
    was_closed = meetup.status == MeetupStatus.CLOSED.value
    done = _("Registration is open again.") if was_closed else _("Meetup published: fans can register now.")
    return _action(meetup_id, publish_meetup, done)


@bp.route("/<int:meetup_id>/close", methods=["POST"])
@planners
def close(meetup_id: int):
    return _action(meetup_id, close_registration,
                   _("Registration closed. The meetup stays listed; reopen registration at any time."))


@bp.route("/<int:meetup_id>/cancel", methods=["GET", "POST"])
@planners
def cancel(meetup_id: int):
    """GET asks for confirmation (saying who will be emailed); POST cancels."""
    meetup = db.get_or_404(Meetup, meetup_id)
    form = EmptyForm()
    if form.validate_on_submit():
        return _action(meetup_id, cancel_meetup, _("Meetup cancelled. Everyone registered has been emailed."))
    seats = meetup_seats(meetup)
    return render_template("planning/meetups/cancel.html", meetup=meetup, form=form,
                           to_email=seats.confirmed + seats.offered + seats.waitlisted)


@bp.route("/<int:meetup_id>/attendees.csv")
@planners
def attendees_csv(meetup_id: int):
    meetup = db.get_or_404(Meetup, meetup_id)
    people = attendees(meetup)
    position = 0
    rows = []
    for registration in people:
        waiting = registration.status == RegistrationStatus.WAITLISTED.value
        position += waiting
        rows.append([
            registration.status, position if waiting else "", registration.name, registration.email,
            registration.city_text, registration.phone, registration.question,
            format_code(registration.invite_code.code) if registration.invite_code else "",
            _local_iso(registration.created_at, meetup), _local_iso(registration.confirmed_at, meetup),
            _local_iso(registration.cancelled_at, meetup),
        ])
    header = ["status", "waitlist position", "name", "email", "city", "phone", "question", "invite code",
              "registered at", "confirmed at", "cancelled at"]
    return csv_download(f"meetup-{meetup.id}-attendees.csv", header, rows)


@bp.route("/<int:meetup_id>/codes", methods=["GET", "POST"])
@planners
def codes(meetup_id: int):
    meetup = db.get_or_404(Meetup, meetup_id)
    form = InviteCodesForm()
    if form.validate_on_submit():
        try:
            created = create_invite_codes(meetup.id, form.count.data, form.label.data or "",
                                          created_by_id=current_user.id)
        except DomainError as error:
            show_on_form(form, error)
        else:
            flash(_("%(count)d invite codes created.", count=len(created)), "success")
            return redirect(url_for(".codes", meetup_id=meetup.id))
    return render_template("planning/meetups/codes.html", meetup=meetup, form=form, codes=_codes(meetup),
                           seats=meetup_seats(meetup), now=utcnow(), format_code=format_code), \
        422 if form.errors else 200


@bp.route("/<int:meetup_id>/codes.csv")
@planners
def codes_csv(meetup_id: int):
    meetup = db.get_or_404(Meetup, meetup_id)
    rows = [[format_code(code.code), code.label, "yes" if code.is_used else "no",
             code.registration.name if code.registration else "",
             code.registration.email if code.registration else "",
             _local_iso(code.used_at, meetup), _local_iso(meetup.codes_held_until, meetup)]
            for code in _codes(meetup)]
    header = ["code", "for whom", "used", "used by", "email", "used at", "seat held until"]
    return csv_download(f"meetup-{meetup.id}-invite-codes.csv", header, rows)


@bp.route("/<int:meetup_id>/post")
@planners
def post(meetup_id: int):
    meetup = db.get_or_404(Meetup, meetup_id)
    link = external_url("registration.meetup", meetup_id=meetup.id)
    return render_template("planning/meetups/post.html", meetup=meetup, link=link,
                           post=forum_post(meetup, meetup_seats(meetup), link))


@bp.route("/<int:meetup_id>/post-qr.png")
@planners
def post_qr(meetup_id: int):
    meetup = db.get_or_404(Meetup, meetup_id)
    png = link_qr_png(external_url("registration.meetup", meetup_id=meetup.id))
    return Response(png, mimetype="image/png", headers={
        "Content-Disposition": f'inline; filename="meetup-{meetup.id}-qr.png"',
        "Cache-Control": "private, max-age=300",
    })


# --- helpers --------------------------------------------------------------------------------

def _form_page(form: MeetupForm, meetup: Meetup | None):
    return render_template("planning/meetups/form.html", form=form, meetup=meetup), 422 if form.errors else 200


def _action(meetup_id: int, service, done: str):
    """A button on the detail page: one service call, a flash message, back to the meetup."""
    if not EmptyForm().validate_on_submit():
        flash(_("This form has expired. Please try again."), "error")
    else:
        try:
            service(meetup_id)
        except DomainError as error:
            flash(error.message, "error")
        else:
            flash(done, "success")
    return redirect(url_for(".detail", meetup_id=meetup_id))


def _codes(meetup: Meetup) -> list[InviteCode]:
    return list(db.session.scalars(
        select(InviteCode).options(joinedload(InviteCode.registration))
        .where(InviteCode.meetup_id == meetup.id).order_by(InviteCode.created_at, InviteCode.id)
    ))


def _local_iso(moment: datetime | None, meetup: Meetup) -> str:
    """Spreadsheet-friendly, with the offset so that nobody guesses the zone."""
    return to_local(moment, meetup.city.timezone).isoformat(sep=" ", timespec="minutes") if moment else ""
