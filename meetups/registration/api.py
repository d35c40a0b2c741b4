"""JSON API for fans: upcoming meetups with their seats, registering, cancelling (README, "JSON API")."""
from flask import Blueprint, jsonify, request
from flask_babel import get_locale
from flask_babel import gettext as _

from ..accounts.access import public
from ..cities.services import city_named
from ..errors import DomainError
from ..events.models import Meetup
from ..events.serializers import meetup_json
from ..events.services import distance_km, upcoming_meetups
from ..extensions import db
from ..shared.forms import public_write
from ..shared.json_input import text_fields
from ..shared.links import external_url
from ..shared.ticket_codes import ticket_code
from ..shared.timeutil import utcnow
from ..shared.validation import MAX_ID
from .seats import seat_counts
from .services import cancel_registration, register

bp = Blueprint("registration_api", __name__, url_prefix="/api")

REGISTRATION_FIELDS = ("name", "email", "city", "question", "phone", "invite_code")


@bp.route("/meetups")
@public
def meetup_list():
    near = city_named(request.args.get("city", ""))
    meetups = upcoming_meetups(near=near)
    counts = seat_counts(meetups)
    now = utcnow()
    listed = []
    for meetup in meetups:
        entry = meetup_json(meetup, counts[meetup.id], now)
        if near is not None:
            entry["distance_km"] = round(distance_km(near, meetup), 1)
        listed.append(entry)
    return jsonify({"meetups": listed, "near": near.name if near else None})


@bp.route(f"/meetups/<int(max={MAX_ID}):meetup_id>")
@public
def meetup_detail(meetup_id: int):
    meetup = db.session.get(Meetup, meetup_id)
    if meetup is None or not meetup.is_listed:
        raise DomainError("not_found", _("There is no such meetup."), status=404)
    return jsonify(meetup_json(meetup, seat_counts([meetup])[meetup.id], utcnow()))


@bp.route(f"/meetups/<int(max={MAX_ID}):meetup_id>/registrations", methods=["POST"])
@public_write
@public
def create_registration(meetup_id: int):
    values = text_fields(REGISTRATION_FIELDS)
    outcome = register(meetup_id, locale=str(get_locale() or "en"), **values)
    confirmed = outcome.is_confirmed
    body = {
        "registration_id": outcome.registration_id,
        "meetup_id": outcome.meetup_id,
        "status": outcome.status,
        "waitlist_position": outcome.waitlist_position,
        "ticket_url": external_url("tickets.ticket", ref=outcome.ticket_ref) if confirmed else None,
        "ticket_code": ticket_code(outcome.ticket_ref) if confirmed else None,
        "manage_token": outcome.manage_token,
        "manage_url": external_url("registration.manage", token=outcome.manage_token),
    }
    return jsonify(body), 201


@bp.route("/registrations/cancel", methods=["POST"])
@public_write
@public
def cancel():
    token = text_fields(("manage_token",), required=("manage_token",))["manage_token"]
    outcome = cancel_registration(token)
    promoted = [registration.id for registration in outcome.promoted]
    return jsonify({
        "status": "cancelled",
        "registration_id": outcome.registration.id,
        "promoted_registration_id": promoted[0] if promoted else None,
        "promoted_registration_ids": promoted,
    })
