"""The ticket page, made for a phone at the door, with its QR images and calendar file.

A ticket URL is a secret: whoever holds it holds the ticket. Nothing here is cached by browsers
or proxies, indexed, or sent on as a referrer.
"""
import re
import unicodedata

from flask import Blueprint, Response, abort, render_template, request

from ..accounts.access import public
from ..events.services import map_links
from ..registration.models import RegistrationStatus
from ..registration.services import waitlist_position
from ..shared.links import external_url
from ..shared.private_links import keep_private
from ..shared.timeutil import utcnow
from .calendar import ticket_event
from .qr import MIMETYPES, qr_image
from .services import Ticket, TicketState, find_ticket

bp = Blueprint("tickets", __name__)

# A waiting-list page is 409 (there is no ticket yet), a cancelled meetup's 410 (there never will be).
PAGE_STATUS = {TicketState.VALID: 200, TicketState.NOT_YET: 409, TicketState.MEETUP_CANCELLED: 410}


bp.after_request(keep_private)


@bp.route("/tickets/<ref>")
@public
def ticket(ref: str):
    found = find_ticket(ref)
    if found is None:
        abort(404)
    registration, meetup = found.registration, found.meetup
    context = {"ticket": found, "registration": registration, "meetup": meetup, "now": utcnow()}
    if found.state is TicketState.VALID:
        context["maps"] = map_links(meetup)
    elif registration.status == RegistrationStatus.WAITLISTED.value:
        context["waitlist_position"] = waitlist_position(registration)
    return render_template("tickets/ticket.html", **context), PAGE_STATUS[found.state]


@bp.route("/tickets/<ref>.png")
@public
def qr_png(ref: str):
    return _qr_response(ref, "png")


@bp.route("/tickets/<ref>.svg")
@public
def qr_svg(ref: str):
    return _qr_response(ref, "svg")


@bp.route("/tickets/<ref>.ics")
@public
def calendar(ref: str):
    found = _valid_ticket(ref)
    event = ticket_event(found, external_url("tickets.ticket", ref=found.ref))
    response = Response(event.encode(), content_type="text/calendar; charset=utf-8")
    response.headers.set("Content-Disposition", "attachment", filename=_file_name(found, "ics"))
    return response


def _qr_response(ref: str, kind: str) -> Response:
    found = _valid_ticket(ref)
    response = Response(qr_image(found.code, kind), mimetype=MIMETYPES[kind])
    if request.args.get("download", "") not in ("", "0"):
        response.headers.set("Content-Disposition", "attachment", filename=_file_name(found, kind))
    return response


def _valid_ticket(ref: str) -> Ticket:
    """Images and calendar files exist only for tickets that admit their holder."""
    found = find_ticket(ref)
    if found is None or found.state is not TicketState.VALID:
        abort(404)
    return found


def _file_name(found: Ticket, extension: str) -> str:
    """`meetup-ticket-chengdu-2026-12-05.png`: plain ASCII, which every browser saves as is."""
    meetup = found.meetup
    city = unicodedata.normalize("NFKD", meetup.city.name).encode("ascii", "ignore").decode()
    city = re.sub(r"[^a-z0-9]+", "-", city.lower()).strip("-") or "city"
    return f"meetup-ticket-{city}-{meetup.local_starts_at:%Y-%m-%d}.{extension}"
