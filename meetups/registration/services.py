"""Registering, cancelling, the waiting list, offers and invite codes: every change to a meetup's
seats goes through here, under the meetup's lock (meetups.locks), and mails only after commit."""
import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import and_, exists, func, or_, select

from ..cities.services import find_city
from ..fans.services import is_email
from ..errors import DomainError
from ..extensions import db
from ..links import external_url
from ..mail import Mail, compose, send
from ..meetups.locks import lock_meetup
from ..meetups.models import Meetup, MeetupStatus
from ..tickets.codes import ticket_code
from ..timeutil import format_in_zone, utcnow
from .models import IN_LINE, SEAT_HOLDING, CancelReason, InviteCode, Registration, RegistrationStatus

MAX_NAME = 100
MAX_PHONE = 40
MAX_QUESTION = 2000
MAX_CODES_AT_ONCE = 50
_SURROGATE = re.compile("[\ud800-\udfff]")
_PHONE = re.compile(r"\+?[0-9][0-9 ()-]{4,38}")
# Invite codes avoid characters that are misread on paper (0/O, 1/I/L).
_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 10


@dataclass
class SeatCounts:
    capacity: int
    confirmed: int = 0
    offered: int = 0
    waitlisted: int = 0
    held: int = 0  # unused invite codes, before the meetup's release time

    @property
    def seats_left(self) -> int:
        """Seats the public can still take."""
        return max(0, self.capacity - self.confirmed - self.offered - self.held)


@dataclass
class RegistrationOutcome:
    registration: Registration
    manage_token: str
    waitlist_position: int | None


@dataclass
class CancelOutcome:
    registration: Registration
    promoted: list[Registration] = field(default_factory=list)


# --- reading -------------------------------------------------------------------------------

def seat_counts(meetups: list[Meetup], now: datetime | None = None) -> dict[int, SeatCounts]:
    """Seat counts of many meetups in two queries."""
    now = now or utcnow()
    counts = {meetup.id: SeatCounts(capacity=meetup.capacity) for meetup in meetups}
    if not counts:
        return counts
    by_status = db.session.execute(
        select(Registration.meetup_id, Registration.status, func.count())
        .where(Registration.meetup_id.in_(counts), Registration.status != RegistrationStatus.CANCELLED.value)
        .group_by(Registration.meetup_id, Registration.status)
    )
    for meetup_id, status, number in by_status:
        setattr(counts[meetup_id], status, number)
    held = db.session.execute(
        select(InviteCode.meetup_id, func.count())
        .join(Meetup, Meetup.id == InviteCode.meetup_id)
        .where(InviteCode.meetup_id.in_(counts), InviteCode.used_at.is_(None),
               func.coalesce(Meetup.codes_release_at, Meetup.starts_at) > now)
        .group_by(InviteCode.meetup_id)
    )
    for meetup_id, number in held:
        counts[meetup_id].held = number
    return counts


def meetup_seats(meetup: Meetup, now: datetime | None = None) -> SeatCounts:
    return seat_counts([meetup], now)[meetup.id]


def waitlist_position(registration: Registration) -> int | None:
    """1 for the first in line; None when not on the waiting list."""
    if registration.status not in IN_LINE:
        return None
    ahead = db.session.scalar(
        select(func.count()).select_from(Registration).where(
            Registration.meetup_id == registration.meetup_id,
            Registration.status.in_(IN_LINE),
            or_(Registration.queued_at < registration.queued_at,
                and_(Registration.queued_at == registration.queued_at, Registration.id < registration.id)),
        )
    )
    return ahead + 1


def manage_token(registration: Registration) -> str:
    """The secret of the registration's manage link: `<id>-<HMAC of its salt>`."""
    return f"{registration.id}-{_manage_signature(registration.id, registration.manage_salt)}"


def registration_for_token(token: str) -> Registration:
    number, _dash, signature = (token or "").strip().partition("-")
    # ASCII digits only ('²' is a digit to isdigit, not to int) and within PostgreSQL's integer.
    plausible = number.isascii() and number.isdigit() and len(number) < 10
    registration = db.session.get(Registration, int(number)) if plausible else None
    if registration is None or not hmac.compare_digest(
            _manage_signature(registration.id, registration.manage_salt), signature):
        raise DomainError("not_found", _("This manage link is not valid (was it copied in full?)."), status=404)
    return registration


def registration_for_ticket(ticket_ref: str) -> Registration | None:
    return db.session.scalar(select(Registration).where(Registration.ticket_ref == ticket_ref))


def attendees(meetup: Meetup) -> list[Registration]:
    """Confirmed and offered first, then the waiting list in order, then the cancelled."""
    rank = {RegistrationStatus.CONFIRMED.value: 0, RegistrationStatus.OFFERED.value: 1,
            RegistrationStatus.WAITLISTED.value: 2, RegistrationStatus.CANCELLED.value: 3}
    found = db.session.scalars(select(Registration).where(Registration.meetup_id == meetup.id))
    return sorted(found, key=lambda r: (rank[r.status], r.queued_at, r.id))


# --- registering ---------------------------------------------------------------------------

def register(meetup_id: int, *, name: str, email: str, city: str = "", phone: str = "", question: str = "",
             invite_code: str = "", locale: str = "en", now: datetime | None = None) -> RegistrationOutcome:
    """Take a seat if one is free (or the invite code holds one), else a place on the waiting list."""
    values = _validated(name, email, city, phone, question)
    code_text = normalize_code(invite_code)
    meetup = _locked_listed_meetup(meetup_id)
    # The clock is read inside the lock: the waiting list's order (queued_at) is then the order in
    # which fans took the lock, so no two fans in a rush are told the same position.
    now = now or utcnow()
    state = meetup.registration_state(now)
    if state != "open":
        db.session.rollback()
        raise DomainError("registration_closed", closed_message(meetup, state), status=409)
    mails = _sweep(meetup, now)

    registration = db.session.scalar(
        select(Registration).where(Registration.meetup_id == meetup.id, Registration.email == values["email"])
    )
    if registration is not None and not registration.is_cancelled:
        db.session.commit()  # keeps what the sweep did
        send(mails)
        raise DomainError("already_registered", _("This email is already registered for this meetup; "
                                                  "the manage link in your confirmation email shows your ticket."),
                          {"email": _("Already registered for this meetup.")}, status=409)
    code = None
    if code_text:
        code = db.session.scalar(select(InviteCode).where(InviteCode.code == code_text))
        problem = None
        if code is None or code.meetup_id != meetup.id:
            problem = _("This invite code is not valid for this meetup.")
        elif code.is_used:
            problem = _("This invite code has already been used.")
        if problem:
            db.session.commit()
            send(mails)
            raise DomainError("invalid", problem, {"invite_code": problem})

    counts = meetup_seats(meetup, now)
    holds_seat = code is not None and now < meetup.codes_held_until  # its seat is counted in `held`
    if registration is None:
        registration = Registration(meetup=meetup, **values)
        db.session.add(registration)
    else:  # a cancelled registration comes back: new token, new ticket, back of the line
        for key, value in values.items():
            setattr(registration, key, value)
        registration.cancelled_at = registration.cancel_reason = None
        registration.ticket_ref = _new_ticket_ref()
    registration.manage_salt = _new_salt()
    registration.ticket_ref = registration.ticket_ref or _new_ticket_ref()
    registration.locale = locale
    registration.queued_at = now
    if code is not None:
        code.used_at = now
        registration.invite_code = code
    if holds_seat or counts.seats_left > 0:
        _confirm(registration, now)
        template = "registration_confirmed"
    else:
        registration.status = RegistrationStatus.WAITLISTED.value
        template = "registration_waitlisted"
    # The newcomer is last in line (queued now, under the lock): no need to count again.
    position = None if registration.is_confirmed else counts.waitlisted + 1
    db.session.commit()
    # Composed after the commit, so the lock is held no longer than the seat decision needs.
    mails.append(_mail(registration, template, waitlist_position=position))
    send(mails)
    return RegistrationOutcome(registration, manage_token(registration), position)


def cancel_registration(token: str, now: datetime | None = None) -> CancelOutcome:
    """The fan gives up their seat, offer or place in line; a freed seat goes to the next in line.
    Cancelling again changes nothing."""
    now = now or utcnow()
    registration = registration_for_token(token)
    meetup = _locked_listed_meetup(registration.meetup_id)
    db.session.refresh(registration)
    if registration.is_cancelled:
        db.session.commit()
        return CancelOutcome(registration)
    if now >= meetup.starts_at:
        db.session.rollback()
        raise DomainError("meetup_started", _("The meetup has already begun; registrations can no longer be cancelled."),
                          status=409)
    _cancel(registration, CancelReason.FAN, now)
    mails = [_mail(registration, "registration_cancelled")]
    promoted, promotion_mails = _fill_free_seats(meetup, now)
    db.session.commit()
    send(mails + promotion_mails)
    return CancelOutcome(registration, promoted)


def accept_offer(token: str, now: datetime | None = None) -> Registration:
    """The fan takes the seat offered to them, before the offer lapses."""
    now = now or utcnow()
    registration = registration_for_token(token)
    meetup = _locked_listed_meetup(registration.meetup_id)
    db.session.refresh(registration)
    if registration.status != RegistrationStatus.OFFERED.value or registration.offer_expires_at <= now:
        mails = _sweep(meetup, now)
        db.session.commit()
        send(mails)
        if registration.is_confirmed:
            return registration  # accepted twice: nothing more to do
        raise DomainError("offer_lapsed", _("This seat offer is no longer open."), status=409)
    _confirm(registration, now)
    mail = _mail(registration, "registration_confirmed", waitlist_position=None)
    db.session.commit()
    send([mail])
    return registration


def refresh_meetup(meetup_id: int, now: datetime | None = None) -> list[Registration]:
    """Pass on lapsed offers and give free seats to the waiting list, if anything is due; cheap
    when nothing is (pages and the API call this on access, `meetups sweep` from cron)."""
    now = now or utcnow()
    meetup = db.session.get(Meetup, meetup_id)
    if meetup is None or not _is_due(meetup, now):
        return []
    meetup = lock_meetup(meetup_id)
    before = {r.id for r in db.session.scalars(select(Registration).where(
        Registration.meetup_id == meetup_id, Registration.status.in_(SEAT_HOLDING)))}
    mails = _sweep(meetup, now)
    promoted = [r for r in db.session.scalars(select(Registration).where(
        Registration.meetup_id == meetup_id, Registration.status.in_(SEAT_HOLDING))) if r.id not in before]
    db.session.commit()
    send(mails)
    return promoted


def sweep_all(now: datetime | None = None) -> int:
    """`meetups sweep`: refresh every meetup still to come; the number of fans promoted."""
    now = now or utcnow()
    ids = db.session.scalars(select(Meetup.id).where(
        Meetup.status.in_((MeetupStatus.PUBLISHED.value, MeetupStatus.CLOSED.value)), Meetup.starts_at > now))
    return sum(len(refresh_meetup(meetup_id, now)) for meetup_id in list(ids))


# --- invite codes --------------------------------------------------------------------------

def create_invite_codes(meetup_id: int, count: int, label: str = "", created_by_id: int | None = None,
                        now: datetime | None = None) -> list[InviteCode]:
    """N single-use codes; each holds a seat until the meetup's release time."""
    now = now or utcnow()
    if not 1 <= count <= MAX_CODES_AT_ONCE:
        message = _("Create between 1 and %(most)d codes at a time.", most=MAX_CODES_AT_ONCE)
        raise DomainError("invalid", message, {"count": message})
    meetup = lock_meetup(meetup_id)
    if meetup is None:
        raise DomainError("not_found", _("There is no such meetup."), status=404)
    if meetup.status == MeetupStatus.CANCELLED.value:
        db.session.rollback()
        raise DomainError("meetup_cancelled", _("This meetup is cancelled."), status=409)
    available = meetup_seats(meetup, now).seats_left
    if count > available:
        db.session.rollback()
        message = _("Only %(available)d seats are free to hold for invite codes.", available=available)
        raise DomainError("invalid", message, {"count": message})
    codes = [InviteCode(meetup=meetup, code=_new_code(), label=label.strip()[:100], created_by_id=created_by_id)
             for _number in range(count)]
    db.session.add_all(codes)
    db.session.commit()
    return codes


def normalize_code(text: str) -> str:
    """What people type (`abcde-fghjk`, spaces) to the stored form."""
    return re.sub(r"[^A-Z0-9]", "", (text or "").upper())


def format_code(code: str) -> str:
    return f"{code[:5]}-{code[5:]}"


# --- the meetup's side ---------------------------------------------------------------------

def fill_free_seats(meetup: Meetup, now: datetime) -> tuple[list[Registration], list[Mail]]:
    """For the meetup service, under the lock it holds: capacity went up."""
    return _fill_free_seats(meetup, now)


def notify_meetup_cancelled(meetup: Meetup) -> list[Mail]:
    """Mails to everyone holding a seat, an offer or a place in line (sent by the caller after commit)."""
    registrations = db.session.scalars(select(Registration).where(
        Registration.meetup_id == meetup.id, Registration.status != RegistrationStatus.CANCELLED.value))
    return [_mail(registration, "meetup_cancelled") for registration in registrations]


def closed_message(meetup: Meetup, state: str) -> str:
    if state == "not_yet_open":
        opens = meetup.registration_opens_at
        return _("Registration opens on %(when)s.", when=format_in_zone(opens, meetup.city.timezone))
    return {
        "cancelled": _("This meetup has been cancelled."),
        "closed": _("Registration for this meetup is closed."),
        "draft": _("This meetup is not published yet."),
    }.get(state, _("Registration for this meetup has ended."))


# --- inside the lock -----------------------------------------------------------------------

def _locked_listed_meetup(meetup_id: int) -> Meetup:
    meetup = lock_meetup(meetup_id)
    if meetup is None or not meetup.is_listed:
        db.session.rollback()
        raise DomainError("not_found", _("There is no such meetup."), status=404)
    return meetup


def _is_due(meetup: Meetup, now: datetime) -> bool:
    if meetup.status not in (MeetupStatus.PUBLISHED.value, MeetupStatus.CLOSED.value) or now >= meetup.starts_at:
        return False
    lapsed = db.session.scalar(select(exists().where(
        Registration.meetup_id == meetup.id, Registration.status == RegistrationStatus.OFFERED.value,
        Registration.offer_expires_at <= now)))
    if lapsed:
        return True
    counts = meetup_seats(meetup, now)
    return counts.waitlisted > 0 and counts.seats_left > 0


def _sweep(meetup: Meetup, now: datetime) -> list[Mail]:
    """Lapsed offers pass on; free seats (a released code hold, a raised capacity) go to the line."""
    if not _is_due(meetup, now):
        return []
    mails = []
    lapsed = db.session.scalars(select(Registration).where(
        Registration.meetup_id == meetup.id, Registration.status == RegistrationStatus.OFFERED.value,
        Registration.offer_expires_at <= now))
    for registration in lapsed:
        _cancel(registration, CancelReason.OFFER_LAPSED, now)
        mails.append(_mail(registration, "offer_lapsed"))
    _promoted, promotion_mails = _fill_free_seats(meetup, now)
    return mails + promotion_mails


def _fill_free_seats(meetup: Meetup, now: datetime) -> tuple[list[Registration], list[Mail]]:
    if meetup.status not in (MeetupStatus.PUBLISHED.value, MeetupStatus.CLOSED.value) or now >= meetup.starts_at:
        return [], []
    db.session.flush()
    free = meetup_seats(meetup, now).seats_left
    if free <= 0:
        return [], []
    line = db.session.scalars(
        select(Registration)
        .where(Registration.meetup_id == meetup.id, Registration.status.in_(IN_LINE))
        .order_by(Registration.queued_at, Registration.id)
        .limit(free)
    ).all()
    mails = []
    for registration in line:
        if meetup.offer_hours:
            registration.status = RegistrationStatus.OFFERED.value
            registration.offer_expires_at = now + timedelta(hours=meetup.offer_hours)
            mails.append(_mail(registration, "offer_made"))
        else:
            _confirm(registration, now)
            mails.append(_mail(registration, "promoted"))
    return list(line), mails


def _confirm(registration: Registration, now: datetime) -> None:
    registration.status = RegistrationStatus.CONFIRMED.value
    registration.confirmed_at = now
    registration.offer_expires_at = None


def _cancel(registration: Registration, reason: CancelReason, now: datetime) -> None:
    registration.status = RegistrationStatus.CANCELLED.value
    registration.cancel_reason = reason.value
    registration.cancelled_at = now
    registration.offer_expires_at = None
    registration.ticket_ref = _new_ticket_ref()  # the old ticket code no longer names anyone


def _mail(registration: Registration, template: str, **context) -> Mail:
    meetup = registration.meetup
    return compose(
        registration.email, template, registration.locale,
        registration=registration, meetup=meetup,
        meetup_url=external_url("meetups.meetup", meetup_id=meetup.id),
        manage_url=external_url("registration.manage", token=manage_token(registration)),
        ticket_url=external_url("tickets.ticket", ref=registration.ticket_ref) if registration.is_confirmed else None,
        ticket_code=ticket_code(registration.ticket_ref) if registration.is_confirmed else None,
        **context,
    )


def _validated(name: str, email: str, city: str, phone: str, question: str) -> dict:
    fields = {}
    name, email, city = (name or "").strip(), (email or "").strip().lower(), (city or "").strip()
    phone, question = (phone or "").strip(), (question or "").strip()
    if not name:
        fields["name"] = _("Please tell us your name.")
    elif len(name) > MAX_NAME:
        fields["name"] = _("Names are at most %(most)d characters.", most=MAX_NAME)
    if not email:
        fields["email"] = _("Please give your email: the ticket is sent there.")
    elif not is_email(email):
        fields["email"] = _("This does not look like an email address.")
    if phone and not _PHONE.fullmatch(phone):
        fields["phone"] = _("Phone numbers have digits, spaces, dashes and an optional leading +.")
    if len(question) > MAX_QUESTION:
        fields["question"] = _("Questions are at most %(most)d characters.", most=MAX_QUESTION)
    for key, value in (("name", name), ("email", email), ("phone", phone), ("question", question), ("city", city)):
        if key not in fields and not _storable(value):
            fields[key] = _("This contains characters that cannot be stored.")
    city_id = None
    if city and "city" not in fields:
        if len(city) > 100:
            fields["city"] = _("City names are at most 100 characters.")
        else:
            city_id = find_city(city).geonameid  # a town the gazetteer lacks is kept as typed
    if fields:
        raise DomainError("invalid", _("Please correct the marked fields."), fields)
    return {"name": name, "email": email, "city_text": city, "city_geonameid": city_id,
            "phone": phone, "question": question}


def _storable(text: str) -> bool:
    """No NUL (PostgreSQL refuses it) and no lone surrogate (JSON allows "\\ud800"; UTF-8 does not)."""
    return "\x00" not in text and not _SURROGATE.search(text)


def _manage_signature(registration_id: int, salt: str) -> str:
    message = f"manage.{registration_id}.{salt}".encode()
    digest = hmac.new(current_app.config["SECRET_KEY"].encode(), message, hashlib.sha256).digest()[:18]
    return base64.urlsafe_b64encode(digest).decode()


def _new_salt() -> str:
    return secrets.token_urlsafe(16)


def _new_ticket_ref() -> str:
    return secrets.token_urlsafe(16)


def _new_code() -> str:
    return "".join(secrets.choice(_CODE_ALPHABET) for _number in range(CODE_LENGTH))
