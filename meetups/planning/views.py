"""The planner dashboard: cities ranked by fan density with their reasons and signals, the map,
the unserved fans, each city's history, and the two-week schedule (proposed, swapped, accepted)."""
import re

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from ..accounts.access import roles_required
from ..accounts.models import Role
from ..cities.models import City
from ..cities.names import local_name
from ..errors import DomainError
from ..extensions import db
from ..registration.seats import seat_counts
from ..shared.forms import EmptyForm, show_on_form
from ..shared.timeutil import utcnow
from ..shared.validation import whole_number
from .fan_map import fan_map
from .forms import RankingForm, ScheduleForm
from .ranking import city_history, meetup_attendance, parameters_from, rank_cities
from .schedule import accept_schedule, default_start, propose_schedule

bp = Blueprint("planning", __name__, url_prefix="/planner/cities")
planners = roles_required(Role.PLANNER, Role.ADMIN)

RANKING_FIELDS = ("radius_km", "min_population", "merge_km", "min_fans", "cooldown_weeks", "by", "top")
SCHEDULE_FIELDS = ("count", "start")
_SLOT = re.compile(r"city_(\d{1,2})$")


@bp.route("")
@planners
def dashboard():
    return _dashboard(request.args)


@bp.route("/schedule", methods=["POST"])
@planners
def schedule():
    """The proposal's form (its CSRF token checked by CSRFProtect): "Show with my swaps" shows
    the proposal again, "Accept" creates the drafts."""
    swaps = _swaps(request.form)
    if request.form.get("action") != "accept":
        return _dashboard(request.form, swaps)
    try:
        parameters = parameters_from(request.form)
        accepted = accept_schedule(parameters, ScheduleForm(request.form).start.data,
                                   [swaps[number] for number in sorted(swaps)])
    except DomainError as refused:
        return _dashboard(request.form, swaps, refused)
    if accepted.created:
        flash(_("%(count)d draft meetups created. Check each one, then publish it.", count=len(accepted.created)),
              "success")
    else:
        flash(_("These meetups were already scheduled: nothing new was created."), "info")
    return redirect(url_for("planning_meetups.index"))


@bp.route("/<int:geonameid>")
@planners
def history(geonameid: int):
    """Every meetup counted for a candidate city: when, registrations, waiting list, show-up rate."""
    city = db.get_or_404(City, geonameid)
    parameters = parameters_from(request.args)
    ranking = rank_cities(parameters)
    row = next((row for row in ranking.rows if row.geonameid == geonameid), None)
    if row is None:
        abort(404, _("%(city)s is not a candidate host city with these parameters.",
                     city=local_name(city, str(get_locale() or "en"))))
    now = utcnow()
    meetups = city_history(geonameid, parameters)
    return render_template(
        "planning/history.html", city=city, row=row, seats=seat_counts(meetups, now),
        attendance=meetup_attendance([meetup.id for meetup in meetups]),
        upcoming=[meetup for meetup in reversed(meetups) if meetup.starts_at >= now],
        past=[meetup for meetup in meetups if meetup.starts_at < now],
        ranking_values=_chosen(request.args, RANKING_FIELDS),
    )


# --- helpers --------------------------------------------------------------------------------

def _dashboard(values: MultiDict, swaps: dict[int, int] | None = None, refused: DomainError | None = None):
    """The whole page, from the values of the ranking and schedule forms (the query string, or
    the proposal's POST); 422 when any of them, or a swap, was refused (`refused`: by accepting)."""
    ranking_form = RankingForm(values)
    try:
        parameters = parameters_from(values)
    except DomainError as error:
        show_on_form(ranking_form, error)
        return _render(ranking_form, None, values), 422
    ranking = rank_cities(parameters)
    schedule_form = ScheduleForm(values, start=default_start(ranking.today))
    slots, slot_errors = _proposal(ranking, schedule_form, dict(swaps or {}), refused)
    failed = bool(ranking_form.errors or schedule_form.errors or schedule_form.form_errors or slot_errors)
    return _render(ranking_form, ranking, values, schedule_form, slots, slot_errors), 422 if failed else 200


def _proposal(ranking, schedule_form, swaps: dict[int, int], refused: DomainError | None):
    """The slots to show, and the reason beside each slot whose swap was refused (that slot then
    shows the ranking's own city); a refused start or count goes on the schedule form."""
    slot_errors: dict[str, str] = {}
    while True:
        if refused is not None:
            bad = {key: message for key, message in refused.fields.items() if _SLOT.match(key)}
            if not any(f"city_{number}" in bad for number in swaps):
                show_on_form(schedule_form, refused)
                return [], slot_errors
            slot_errors.update(bad)
            swaps = {number: city for number, city in swaps.items() if f"city_{number}" not in bad}
        try:
            return propose_schedule(ranking, schedule_form.start.data, schedule_form.count.data, swaps), slot_errors
        except DomainError as error:
            refused = error


def _render(ranking_form, ranking, values, schedule_form=None, slots=(), slot_errors=None):
    return render_template(
        "planning/dashboard.html", ranking_form=ranking_form, ranking=ranking,
        fan_map=fan_map(ranking) if ranking else None,
        candidates_by_id={row.geonameid: row for row in ranking.rows} if ranking else {},
        schedule_form=schedule_form, slots=slots, slot_errors=slot_errors or {},
        ranking_values=_chosen(values, RANKING_FIELDS), schedule_values=_chosen(values, SCHEDULE_FIELDS),
        accept_form=EmptyForm(),
    )


def _chosen(values: MultiDict, names: tuple[str, ...]) -> dict[str, str]:
    """The non-empty values among `names`: what the other forms and the links carry along."""
    return {name: values[name] for name in names if values.get(name, "").strip()}


def _swaps(values: MultiDict) -> dict[int, int]:
    """city_<slot> → geonameid, as the proposal's selects send them."""
    swaps = {}
    for key, value in values.items():
        match = _SLOT.match(key)
        if match and (geonameid := whole_number(value)) is not None:
            swaps[int(match.group(1))] = geonameid
    return swaps
