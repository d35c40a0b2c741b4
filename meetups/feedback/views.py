"""The feedback pool's pages: the ranked pool and each item (anyone), voting (a fan confirmed by an
emailed link), the moderation of staff (status, merge, edit, CSV), and an attendee's rating page."""
from flask import Blueprint, flash, make_response, redirect, render_template, request, session, url_for
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user

from ..accounts.access import public, roles_required
from ..accounts.models import Role
from ..errors import DomainError
from ..shared.forms import EmptyForm, public_write, show_on_form
from ..shared.links import external_url
from ..shared.private_links import keep_private
from ..shared.spreadsheets import csv_download
from ..shared.validation import MAX_ID, whole_number
from . import ratings, services
from .forms import ItemForm, MergeForm, RatingForm, StatusForm, VoteForm
from .labels import CATEGORY_ICONS, CATEGORY_LABELS, STATUS_LABELS
from .models import STATUS_VALUES

bp = Blueprint("feedback", __name__)
moderators = roles_required(Role.ENGINEER, Role.PLANNER, Role.ADMIN)
VOTER = "feedback_voter"  # the session key: the voter whose link this browser opened
VOTED = "feedback_voted"  # carries the outcome of a vote to the "check your email" page


@bp.app_context_processor
def feedback_labels():
    return {"category_labels": CATEGORY_LABELS, "category_icons": CATEGORY_ICONS, "status_labels": STATUS_LABELS}


def signed_in_voter() -> int | None:
    return session.get(VOTER)


@bp.route("/feedback")
@public
def pool_page():
    sort = request.args.get("sort", "top")
    category, status = request.args.get("category", ""), request.args.get("status", "")
    q = request.args.get("q", "").strip()[:200]
    try:
        items = services.pool(sort, category=category, status=status, q=q)
    except DomainError as error:  # a hand-edited address: show the whole pool and say why
        flash(error.message, "error")
        sort, category, status, items = "top", "", "", services.pool("top", q=q)
    return render_template("feedback/pool.html", items=items[:services.PAGE_SIZE], total=len(items), sort=sort,
                           category=category, status=status, q=q,
                           shipped=services.shipped_from_fans(), statuses=STATUS_VALUES,
                           voted=services.voted_item_ids(signed_in_voter()), form=EmptyForm())


@bp.route(f"/feedback/<int(max={MAX_ID}):item_id>")
@public
def item_page(item_id: int):
    item = services.get_item(item_id)
    if item.is_duplicate:
        flash(_("“%(title)s” was merged into this item: its votes and notes are here.", title=item.title), "info")
        return redirect(url_for(".item_page", item_id=item.merged_into_id))
    return _item_page(item, VoteForm())


def _item_page(item, vote_form: VoteForm, status: int = 200, staff_forms: dict | None = None):
    summary = services.summarize([item])[0]
    forms = staff_forms or {}
    if current_user.is_authenticated and current_user.has_role(Role.ENGINEER, Role.PLANNER):
        forms.setdefault("item", ItemForm(obj=item, formdata=None))
        forms.setdefault("status", StatusForm(status=item.status, shipped_in=item.shipped_in or "", formdata=None))
        forms.setdefault("merge", MergeForm(formdata=None))
    voter = signed_in_voter()
    return render_template(
        "feedback/item.html", item=item, summary=summary, notes=services.notes_of(item),
        history=services.history_of(item), duplicates=services.duplicates_of(item), vote_form=vote_form,
        voted=item.id in services.voted_item_ids(voter, counted_only=True), voter_signed_in=voter is not None,
        staff_forms=forms, form=EmptyForm(),
    ), status


@bp.route(f"/feedback/<int(max={MAX_ID}):item_id>/vote", methods=["POST"])
@public_write
@public
def vote(item_id: int):
    form = VoteForm()
    if not form.validate_on_submit():
        flash(_("This form has expired. Please try again."), "error")
        return redirect(url_for(".item_page", item_id=item_id))
    try:
        outcome = services.cast_vote(item_id, voter_id=signed_in_voter(), email=form.email.data or "",
                                     locale=str(get_locale()))
    except DomainError as error:
        if error.status == 404:
            raise
        if error.code == "duplicate":
            flash(error.message, "error")
            return redirect(url_for(".item_page", item_id=item_id))
        show_on_form(form, error, flash_rest=False)
        return _item_page(services.get_item(item_id), form, error.status)
    if outcome.status in (services.COUNTED, services.ALREADY_COUNTED):
        flash(_("Thank you! Your vote counts.") if outcome.status == services.COUNTED
              else _("You have already voted for this item."), "success")
        return redirect(url_for(".item_page", item_id=item_id))
    session[VOTED] = {"status": outcome.status, "email": outcome.voter.email, "item": item_id}
    return redirect(url_for(".vote_sent"))


@bp.route("/feedback/vote/sent")
@public
def vote_sent():
    voted = session.get(VOTED)
    if not voted:
        return redirect(url_for(".pool_page"))
    return render_template("feedback/vote_sent.html", voted=voted)


@bp.route(f"/feedback/<int(max={MAX_ID}):item_id>/unvote", methods=["POST"])
@public_write
@public
def unvote(item_id: int):
    if EmptyForm().validate_on_submit():
        if services.withdraw_vote(item_id, signed_in_voter()):
            flash(_("Your vote is withdrawn."), "success")
    else:
        flash(_("This form has expired. Please try again."), "error")
    return redirect(url_for(".item_page", item_id=item_id))


@bp.route("/feedback/voters/<token>")
@public
def voter_page(token: str):
    voter = services.voter_for_token(token)
    return keep_private(make_response(render_template("feedback/voter.html", voter=voter, token=token,
                                                      pending=services.pending_items(voter), form=EmptyForm())))


@bp.route("/feedback/voters/<token>/confirm", methods=["POST"])
@public_write
@public
def confirm_voter(token: str):
    if not EmptyForm().validate_on_submit():
        flash(_("This form has expired. Please try again."), "error")
        return redirect(url_for(".voter_page", token=token))
    voter, counted = services.confirm_voter(token)
    session[VOTER] = voter.id  # this browser votes at once from now on
    flash(ngettext("Thank you! %(num)d vote now counts. From this browser your next votes count at once.",
                   "Thank you! %(num)d votes now count. From this browser your next votes count at once.",
                   counted), "success")
    return redirect(url_for(".pool_page"))


# --- moderation ----------------------------------------------------------------------------

@bp.route(f"/feedback/<int(max={MAX_ID}):item_id>/edit", methods=["POST"])
@moderators
def edit(item_id: int):
    form = ItemForm()
    item = services.get_item(item_id)
    if form.validate_on_submit():
        try:
            services.edit_item(item_id, title=form.title.data, description=form.description.data,
                               category=form.category.data)
        except DomainError as error:
            show_on_form(form, error)
            return _item_page(item, VoteForm(formdata=None), 422, {"item": form})
        flash(_("Item saved."), "success")
    else:
        flash(_("This form has expired. Please try again."), "error")
    return redirect(url_for(".item_page", item_id=item_id))


@bp.route(f"/feedback/<int(max={MAX_ID}):item_id>/status", methods=["POST"])
@moderators
def change_status(item_id: int):
    form = StatusForm()
    item = services.get_item(item_id)
    if form.validate_on_submit():
        try:
            change = services.change_status(item_id, form.status.data, current_user, shipped_in=form.shipped_in.data)
        except DomainError as error:
            show_on_form(form, error)
            return _item_page(item, VoteForm(formdata=None), 422, {"status": form})
        if change is None:
            flash(_("Nothing changed."), "info")
        else:
            flash(ngettext("Status changed; %(num)d fan was emailed.", "Status changed; %(num)d fans were emailed.",
                           change.notified), "success")
    else:
        flash(_("This form has expired. Please try again."), "error")
    return redirect(url_for(".item_page", item_id=item_id))


@bp.route(f"/feedback/<int(max={MAX_ID}):item_id>/merge", methods=["POST"])
@moderators
def merge(item_id: int):
    form = MergeForm()
    item = services.get_item(item_id)
    if form.validate_on_submit():
        into = whole_number((form.into.data or "").strip().lstrip("#"))
        try:
            if into is None:
                message = _("Give the number of the item this one repeats.")
                raise DomainError("invalid", message, {"into": message})
            change = services.merge_items(item_id, into, current_user)
        except DomainError as error:
            if error.status == 404:
                error = DomainError("invalid", error.message, {"into": error.message})
            show_on_form(form, error)
            return _item_page(item, VoteForm(formdata=None), 422, {"merge": form})
        flash(ngettext("Merged: its votes, notes and mentions are now here; %(num)d fan was emailed.",
                       "Merged: its votes, notes and mentions are now here; %(num)d fans were emailed.",
                       change.notified), "success")
        return redirect(url_for(".item_page", item_id=change.merged_into_id))
    flash(_("This form has expired. Please try again."), "error")
    return redirect(url_for(".item_page", item_id=item_id))


@bp.route("/feedback/export.csv")
@moderators
def export_csv():
    header = ["id", "title", "category", "status", "shipped_in", "votes", "mentions", "meetups", "cities",
              "trending", "created_at", "description", "url"]
    rows = [[s.item.id, s.item.title, s.item.category, s.item.status, s.item.shipped_in or "", s.votes, s.mentions,
             " ".join(str(meetup_id) for meetup_id in s.meetup_ids), "; ".join(city.name for city in s.cities),
             f"{s.trending:.3f}", s.item.created_at.isoformat(sep=" ", timespec="minutes"), s.item.description,
             external_url("feedback.item_page", item_id=s.item.id)]
            for s in services.pool("top", status=request.args.get("status", ""))]
    return csv_download("feedback-pool.csv", header, rows)


# --- rating a meetup -----------------------------------------------------------------------

@bp.route("/rate/<token>", methods=["GET", "POST"])
@public_write
@public
def rate(token: str):
    registration = ratings.registration_for_rating(token)  # 404 for a bad link
    rating = ratings.rating_of(registration)
    form = RatingForm()
    status = 200
    if request.method == "POST":
        if not form.validate_on_submit():
            status = 400
        else:
            try:
                ratings.rate_meetup(token, form.score.data or "", form.comment.data)
            except DomainError as error:
                status = error.status
                show_on_form(form, error, flash_rest=False)
            else:
                flash(_("Thank you for your rating!"), "success")
                return redirect(url_for(".rate", token=token))
    elif rating is not None:
        form.score.data, form.comment.data = str(rating.score), rating.comment
    return keep_private(make_response(render_template("feedback/rate.html", registration=registration,
                                                      rating=rating, form=form), status))
