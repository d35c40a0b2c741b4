"""The engineers' console during a meetup (fans' questions, who is inside, recording notes), and the
planners' report after it (attendance, no-shows, the rating, the notes and the items they touched)."""
from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from wtforms import SelectChoice

from ..accounts.access import roles_required
from ..accounts.models import Role
from ..checkin.services import door_meetup, door_meetups
from ..errors import DomainError
from ..events.models import Meetup
from ..extensions import db
from ..shared.forms import EmptyForm, show_on_form
from ..shared.timeutil import utcnow
from ..shared.validation import MAX_ID, whole_number
from . import ratings, services
from .forms import NoteForm
from .models import FeedbackItem

bp = Blueprint("console", __name__)
engineers = roles_required(Role.ENGINEER)  # and admins, who may do everything
planners = roles_required(Role.PLANNER, Role.ADMIN)


@bp.route("/console")
@engineers
def picker():
    return render_template("feedback/console_picker.html", meetups=door_meetups(utcnow()))


@bp.route(f"/console/<int(max={MAX_ID}):meetup_id>", methods=["GET", "POST"])
@engineers
def console(meetup_id: int):
    meetup = door_meetup(meetup_id)  # 404 for a draft, 409 for a cancelled meetup
    inside = services.checked_in_registrations(meetup)
    form = NoteForm()
    form.asked_by_id.choices = [SelectChoice("", _("— nobody in particular —"))] + [
        SelectChoice(str(registration.id), registration.name) for registration in inside]
    status = 200
    if form.validate_on_submit():
        try:
            outcome = services.record_note(
                meetup.id, current_user, question=form.question.data, answer=form.answer.data,
                category=form.category.data, title=form.title.data, client_key=form.client_key.data,
                feedback_item_id=whole_number(form.feedback_item_id.data),
                asked_by_id=whole_number(form.asked_by_id.data))
        except DomainError as error:
            status = error.status
            show_on_form(form, error)
        else:
            flash(_("Note saved as a new item: “%(title)s”.", title=outcome.item.title) if outcome.created_item
                  else _("Note saved and linked to “%(title)s”.", title=outcome.item.title), "success")
            return redirect(url_for(".console", meetup_id=meetup.id, saved=outcome.note.client_key or ""))
    elif form.is_submitted():
        status = 400
    if not form.client_key.data or status == 200:
        form.client_key.data = services.new_client_key()
    return render_template(
        "feedback/console.html", meetup=meetup, form=form, inside=inside,
        questions=services.registration_questions(meetup), notes=services.meetup_notes(meetup),
        linked_item=_linked_item(form.feedback_item_id.data),
    ), status


def _linked_item(text: str | None):
    number = whole_number(text)
    return db.session.get(FeedbackItem, number) if number is not None else None


@bp.route(f"/planner/meetups/<int(max={MAX_ID}):meetup_id>/report")
@planners
def report(meetup_id: int):
    meetup = db.get_or_404(Meetup, meetup_id)
    return render_template("feedback/report.html", report=ratings.meetup_report(meetup), form=EmptyForm(),
                           over=utcnow() >= ratings.ended_at(meetup))


@bp.route(f"/planner/meetups/<int(max={MAX_ID}):meetup_id>/ratings/request", methods=["POST"])
@planners
def request_ratings(meetup_id: int):
    meetup = db.get_or_404(Meetup, meetup_id)
    if not EmptyForm().validate_on_submit():
        flash(_("This form has expired. Please try again."), "error")
    else:
        try:
            emailed = ratings.request_ratings(meetup)
        except DomainError as error:
            flash(error.message, "error")
        else:
            flash(ngettext("%(num)d attendee was emailed a link to rate the meetup.",
                           "%(num)d attendees were emailed a link to rate the meetup.", emailed), "success")
    return redirect(url_for(".report", meetup_id=meetup.id))
