"""The door screen: staff pick tonight's meetup and scan tickets with a phone (static/js/door.js
talks to the check-in API in api.py)."""
from flask import Blueprint, render_template

from ..accounts.access import roles_required
from ..accounts.models import Role
from ..shared.timeutil import utcnow
from .services import door_meetup, door_meetups

bp = Blueprint("door", __name__, url_prefix="/door")
door_staff = roles_required(Role.STAFF)  # and admins, who may do everything


@bp.route("")
@door_staff
def picker():
    return render_template("checkin/picker.html", meetups=door_meetups(utcnow()))


@bp.route("/<int:meetup_id>")
@door_staff
def screen(meetup_id: int):
    meetup = door_meetup(meetup_id)  # 404 for a draft, 409 for a cancelled meetup
    return render_template("checkin/door.html", meetup=meetup, urls=_api_urls(meetup.id))


def _api_urls(meetup_id: int) -> dict[str, str]:
    """Where door.js sends its requests; `{registration_id}` and `{conflict_id}` it fills in."""
    base = f"/api/meetups/{meetup_id}"
    return {
        "checkins": f"{base}/checkins",
        "manual": f"{base}/checkins/manual",
        "undo": f"{base}/checkins/{{registration_id}}/undo",
        "door": f"{base}/door",
        "search": f"{base}/checkins/search",
        "roster": f"{base}/roster",
        "sync": f"{base}/checkins/sync",
        "dismiss": f"{base}/conflicts/{{conflict_id}}/dismiss",
    }
