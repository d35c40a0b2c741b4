"""JSON API of the door (README, "Check-in at the door"): staff and admins, by bearer token or the
signed-in session (whose POSTs carry the X-CSRFToken header)."""
from datetime import datetime

from flask import Blueprint, g, jsonify, request
from flask_babel import gettext as _

from ..accounts.access import api_roles_required
from ..accounts.models import Role
from ..shared.json_input import JsonBody
from ..shared.validation import MAX_ID
from .models import MAX_DEVICE, MAX_NONCE
from .services import (
    SyncedScan,
    check_in_code,
    check_in_registration,
    dismiss_conflict,
    door_status,
    roster,
    search_registrations,
    sync_scans,
    undo_check_in,
)

bp = Blueprint("checkin_api", __name__, url_prefix="/api")

DOOR = f"/meetups/<int(max={MAX_ID}):meetup_id>"
MAX_SYNC_SCANS = 500
door_staff = api_roles_required(Role.STAFF)  # and admins, who may do everything


@bp.route(f"{DOOR}/checkins", methods=["POST"])
@door_staff
def check_in(meetup_id: int):
    body = DoorBody()
    code, device, nonce = body.text("code", required=True, strip=False), body.device(), body.nonce()
    body.done()
    return jsonify(check_in_code(meetup_id, code, user=g.api_user, device=device, nonce=nonce))


@bp.route(f"{DOOR}/checkins/manual", methods=["POST"])
@door_staff
def check_in_manually(meetup_id: int):
    body = DoorBody()
    registration_id, device, nonce = body.registration(), body.device(), body.nonce()
    body.done()
    return jsonify(check_in_registration(meetup_id, registration_id, user=g.api_user, device=device, nonce=nonce))


@bp.route(f"{DOOR}/checkins/<int(max={MAX_ID}):registration_id>/undo", methods=["POST"])
@door_staff
def undo(meetup_id: int, registration_id: int):
    arrived, expected = undo_check_in(meetup_id, registration_id, user=g.api_user, device=_device_only())
    return jsonify({"result": "undone", "registration_id": registration_id, "arrived": arrived, "expected": expected})


@bp.route(f"{DOOR}/checkins/sync", methods=["POST"])
@door_staff
def sync(meetup_id: int):
    body = DoorBody()
    device = body.device(required=True)
    scans = body.scans()
    body.done()
    results, (arrived, expected) = sync_scans(meetup_id, scans, user=g.api_user, device=device)
    return jsonify({"results": results, "arrived": arrived, "expected": expected})


@bp.route(f"{DOOR}/conflicts/<int(max={MAX_ID}):conflict_id>/dismiss", methods=["POST"])
@door_staff
def dismiss(meetup_id: int, conflict_id: int):
    conflict = dismiss_conflict(meetup_id, conflict_id, user=g.api_user, device=_device_only())
    return jsonify({"result": "dismissed", "conflict_id": conflict.id})


@bp.route(f"{DOOR}/door")
@door_staff
def door(meetup_id: int):
    return jsonify(door_status(meetup_id))


@bp.route(f"{DOOR}/checkins/search")
@door_staff
def search(meetup_id: int):
    return jsonify({"results": search_registrations(meetup_id, request.args.get("q", ""))})


@bp.route(f"{DOOR}/roster")
@door_staff
def offline_roster(meetup_id: int):
    response = jsonify(roster(meetup_id))
    response.headers["Cache-Control"] = "private, no-store"  # names of the people coming
    return response


def _device_only() -> str:
    """The device's name from a body that may be empty (undo, dismiss)."""
    body = DoorBody(optional=True)
    device = body.device()
    body.done()
    return device


class DoorBody(JsonBody):
    """What door devices send: their name, a nonce, scans made offline."""

    def device(self, required: bool = False) -> str:
        """The door device's own name (the screen makes one up and keeps it)."""
        return self.text("device", required=required, most=MAX_DEVICE)

    def nonce(self) -> str | None:
        return self.text("nonce", most=MAX_NONCE) or None

    def registration(self) -> int | None:
        return self._registration(self.body.get("registration_id"), "registration_id")

    def scans(self) -> list[SyncedScan]:
        scans = self.body.get("scans")
        if not isinstance(scans, list) or len(scans) > MAX_SYNC_SCANS:
            self.fields.refuse("scans", _("Send a list of at most %(most)d scans.", most=MAX_SYNC_SCANS))
            return []
        read = []
        for number, scan in enumerate(scans):
            where = f"scans[{number}]"
            if not isinstance(scan, dict):
                self.fields.refuse(where, _("Each scan is an object with nonce, registration_id and scanned_at."))
                continue
            nonce = self.check_text(scan.get("nonce"), f"{where}.nonce", required=True, most=MAX_NONCE)
            registration_id = self._registration(scan.get("registration_id"), f"{where}.registration_id")
            scanned_at = self._moment(scan.get("scanned_at"), f"{where}.scanned_at")
            read.append(SyncedScan(nonce, registration_id, scanned_at))
        return read

    def _registration(self, value, field: str) -> int | None:
        return self.check_number(value, field, message=_("This must be a registration number."))

    def _moment(self, value, field: str) -> datetime:
        try:
            return datetime.fromisoformat(value)
        except (TypeError, ValueError):
            self.fields.refuse(field, _("This must be a time in ISO 8601, e.g. 2026-11-23T19:05:00+08:00."))
            return datetime.min
