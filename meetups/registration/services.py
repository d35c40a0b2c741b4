"""Registering, cancelling, the waiting list, offers, invite codes, a meetup's capacity and its
cancellation: every change to a meetup's seats goes through here, under the meetup's lock
(events.locks). Emails are recorded in the mail queue in the same transaction and sent after the
commit (registration.mailing)."""
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import DateTime, and_, bindparam, case, func, literal_column, or_, select, union_all
from sqlalchemy.orm import make_transient_to_detached

from ..cities.services import find_city
from ..errors import DomainError
from ..events.locks import lock_meetup, lock_meetup_only
from ..events.models import Meetup, MeetupStatus
from ..events.services import MeetupDetails, apply_details, locked_meetup
from ..extensions import db
from ..shared.db import dialect_name, first, on_conflict
from ..shared.mail import send
from ..shared.private_links import new_salt, row_for_token
from ..shared.timeutil import format_in_zone, utcnow
from ..shared.validation import Fields
from . import mailing
from .mailing import MANAGE_LINK, Outgoing
from .models import IN_LINE, SEAT_HOLDING, CancelReason, InviteCode, Registration, RegistrationStatus

MAX_QUESTION = 2000  # a rule for the form, not the column's (Text)
MAX_CODES_AT_ONCE = 50
_PHONE = re.compile(r"\+?[0-9][0-9 ()-]{4,38}")
# Invite codes avoid characters that are misread on paper (0/O, 1/I/L).
_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 10

# The statements of the registration path are built once: building one costs more than running
# it, and much of that time would be spent under the meetup's lock.
_meetup_ids, _now = bindparam("meetup_ids", expanding=True), bindparam("now", type_=DateTime())
# Rows of (meetup, a SeatCounts field, number, lapsed offers among them).
_SEAT_COUNTS = union_all(
    select(Registration.meetup_id, Registration.status, func.count(), func.count(case(
        (and_(Registration.status == RegistrationStatus.OFFERED.value, Registration.offer_expires_at <= _now), 1))))
    .where(Registration.meetup_id.in_(_meetup_ids), Registration.status != RegistrationStatus.CANCELLED.value)
    .group_by(Registration.meetup_id, Registration.status),
    select(InviteCode.meetup_id, literal_column("'held'"), func.count(), literal_column("0"))
    .join(Meetup, Meetup.id == InviteCode.meetup_id)
    .where(InviteCode.meetup_id.in_(_meetup_ids), InviteCode.used_at.is_(None),
           func.coalesce(Meetup.codes_release_at, Meetup.starts_at) > _now)
    .group_by(InviteCode.meetup_id),
)
_registrations, _meetups = Registration.__table__.c, Meetup.__table__.c


def _registrations_of_meetup(*conditions):
    return (select(func.count()).select_from(Registration.__table__)
            .where(_registrations.meetup_id == _meetups.id, *conditions).scalar_subquery())


# What registering decides on, read in one statement right after taking the meetup's lock: the
# meetup's registration settings and its SeatCounts fields.
_held_until = func.coalesce(_meetups.codes_release_at, _meetups.starts_at)
_MEETUP_AND_SEATS = select(
    _meetups.status, _meetups.capacity, _meetups.starts_at, _meetups.registration_opens_at,
    _meetups.registration_closes_at, _held_until.label("codes_held_until"),
    *(_registrations_of_meetup(_registrations.status == status.value).label(status.value)
      for status in (RegistrationStatus.CONFIRMED, RegistrationStatus.OFFERED, RegistrationStatus.WAITLISTED)),
    _registrations_of_meetup(_registrations.status == RegistrationStatus.OFFERED.value,
                             _registrations.offer_expires_at <= _now).label("lapsed_offers"),
    select(func.count()).select_from(InviteCode.__table__).where(
        InviteCode.__table__.c.meetup_id == _meetups.id, InviteCode.__table__.c.used_at.is_(None), _held_until > _now)
    .scalar_subquery().label("held"),
).where(_meetups.id == bindparam("meetup_id"))
_REGISTRATION_BY_EMAIL = select(Registration).where(
    Registration.meetup_id == bindparam("meetup_id"), Registration.email == bindparam("email"))
# Inserts nothing for an email already registered (one registration per email): one statement
# both looks and writes, and a rush of new fans needs no lookup.
_NEW_REGISTRATION = on_conflict(Registration.__table__, ["meetup_id", "email"],
                                returning=(Registration.__table__.c.id,))


@dataclass
class SeatCounts:
    capacity: int
    confirmed: int = 0
    offered: int = 0
    waitlisted: int = 0
    held: int = 0  # unused invite codes, before the meetup's release time
    lapsed_offers: int = 0  # offered seats past their deadline, not yet passed on

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
    """Seat counts of many meetups in one query."""
    now = now or utcnow()
    counts = {meetup.id: SeatCounts(capacity=meetup.capacity) for meetup in meetups}
    if not counts:
        return counts
    for meetup_id, kind, number, lapsed in db.session.execute(_SEAT_COUNTS, {"meetup_ids": list(counts), "now": now}):
        setattr(counts[meetup_id], kind, number)
        counts[meetup_id].lapsed_offers += lapsed
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
    """The secret of the registration's manage link: `<id>-<HMAC of its salt>` (shared.private_links)."""
    return mailing.manage_token(registration.id, registration.manage_salt)


def registration_for_token(token: str) -> Registration:
    registration = row_for_token(Registration, token, MANAGE_LINK, lambda row: row.manage_salt)
    if registration is None:
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
    # The lock, then one statement for the meetup and its counts: the ORM loads nothing while
    # every other registration for the meetup waits, unless there is more to do than usual.
    exists = lock_meetup_only(meetup_id)
    # The clock is read inside the lock: the waiting list's order (queued_at) is then the order in
    # which fans took the lock, so no two fans in a rush are told the same position.
    now = now or utcnow()
    settings = first(_MEETUP_AND_SEATS, {"meetup_id": meetup_id, "now": now})
    if not exists or settings is None or settings.status == MeetupStatus.DRAFT.value:
        db.session.rollback()
        raise DomainError("not_found", _("There is no such meetup."), status=404)
    state = Meetup.registration_state(settings, now)  # the model's rule, on the row just read
    if state != "open":
        message = closed_message(db.session.get(Meetup, meetup_id), state)
        db.session.rollback()
        raise DomainError("registration_closed", message, status=409)
    counts = SeatCounts(settings.capacity, settings.confirmed, settings.offered, settings.waitlisted, settings.held,
                        settings.lapsed_offers)
    mails = []
    if _is_due(settings, now, counts):  # the sweep moves fans along first; then count again
        meetup = db.session.get(Meetup, meetup_id)
        mails = _sweep(meetup, now, counts)
        counts = meetup_seats(meetup, now)

    registration = code = None
    if code_text:  # a fan already registered is told so before anything about the code
        registration = _unless_registered(meetup_id, values["email"], mails)
        code = db.session.scalar(select(InviteCode).where(InviteCode.code == code_text))
        problem = None
        if code is None or code.meetup_id != meetup_id:
            problem = _("This invite code is not valid for this meetup.")
        elif code.is_used:
            problem = _("This invite code has already been used.")
        if problem:
            _commit_and_send(mails)
            raise DomainError("invalid", problem, {"invite_code": problem})

    holds_seat = code is not None and now < settings.codes_held_until  # its seat is counted in `held`
    confirmed = holds_seat or counts.seats_left > 0
    row = {**values, "locale": locale, "queued_at": now, "manage_salt": new_salt(), "ticket_ref": _new_ticket_ref(),
           "status": RegistrationStatus.CONFIRMED.value if confirmed else RegistrationStatus.WAITLISTED.value,
           "confirmed_at": now if confirmed else None, "offer_expires_at": None}
    if code is not None:
        code.used_at = now
        row["invite_code_id"] = code.id
    inserted_id = None
    if registration is None:  # usually one statement: inserted, unless the email is registered already
        inserted = first(_NEW_REGISTRATION[dialect_name()], {**row, "meetup_id": meetup_id})
        inserted_id = inserted[0] if inserted else None
        registration = None if inserted_id else _unless_registered(meetup_id, values["email"], mails)
    if registration is not None:
        _come_back(registration, row)
    # The newcomer is last in line (queued now, under the lock): no need to count again.
    position = None if confirmed else counts.waitlisted + 1
    kind = "registration_confirmed" if confirmed else "registration_waitlisted"
    mails.append(Outgoing(kind, inserted_id or registration.id, position))
    queued = mailing.record(mails, now)
    _commit_keeping_loaded()
    if registration is None:  # what was inserted is known: not read back (the rest loads on access)
        registration = Registration(id=inserted_id, meetup_id=meetup_id, **row)
        make_transient_to_detached(registration)
        db.session.add(registration)
    send(queued)
    return RegistrationOutcome(registration, manage_token(registration), position)


def _unless_registered(meetup_id: int, email: str, mails: list[Outgoing]) -> Registration | None:
    """The email's cancelled registration for the meetup, if any; `already_registered` (keeping
    what the sweep did) if it holds a seat, an offer or a place in line."""
    registration = db.session.scalar(_REGISTRATION_BY_EMAIL, {"meetup_id": meetup_id, "email": email})
    if registration is not None and not registration.is_cancelled:
        _commit_and_send(mails)
        raise DomainError("already_registered", _("This email is already registered for this meetup; "
                                                  "the manage link in your confirmation email shows your ticket."),
                          {"email": _("Already registered for this meetup.")}, status=409)
    return registration


def _come_back(registration: Registration, row: dict) -> None:
    """A cancelled registration comes back: new token, new ticket, back of the line."""
    for key, value in row.items():
        setattr(registration, key, value)
    registration.cancelled_at = registration.cancel_reason = None


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
        raise DomainError("meetup_started",
                          _("The meetup has already begun; registrations can no longer be cancelled."),
                          status=409)
    _cancel(registration, CancelReason.FAN, now)
    mails = [Outgoing("registration_cancelled", registration.id)]
    promoted, promotion_mails = _fill_free_seats(meetup, now)
    _commit_and_send(mails + promotion_mails)
    return CancelOutcome(registration, promoted)


def accept_offer(token: str, now: datetime | None = None) -> Registration:
    """The fan takes the seat offered to them, before the offer lapses."""
    now = now or utcnow()
    registration = registration_for_token(token)
    meetup = _locked_listed_meetup(registration.meetup_id)
    db.session.refresh(registration)
    if registration.status != RegistrationStatus.OFFERED.value or registration.offer_expires_at <= now:
        _commit_and_send(_sweep(meetup, now))
        if registration.is_confirmed:
            return registration  # accepted twice: nothing more to do
        raise DomainError("offer_lapsed", _("This seat offer is no longer open."), status=409)
    _confirm(registration, now)
    _commit_and_send([Outgoing("registration_confirmed", registration.id)])
    return registration


def refresh_meetup(meetup_id: int, now: datetime | None = None) -> list[Registration]:
    """Pass on lapsed offers and give free seats to the waiting list, if anything is due; cheap
    when nothing is. The sweep (`sweep_all`, `meetups sweep` from cron) calls it for every meetup;
    pages never do: reading a page changes nothing."""
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
    _commit_and_send(mails)
    return promoted


def sweep_all(now: datetime | None = None) -> int:
    """The sweep (`meetups sweep`, from cron): refresh every meetup still to come; the number of
    fans promoted. Registering, cancelling and accepting an offer sweep their own meetup first."""
    now = now or utcnow()
    ids = db.session.scalars(select(Meetup.id).where(
        Meetup.status.in_((MeetupStatus.PUBLISHED.value, MeetupStatus.CLOSED.value)), Meetup.starts_at > now))
    return sum(len(refresh_meetup(meetup_id, now)) for meetup_id in list(ids))


# --- invite codes --------------------------------------------------------------------------

def create_invite_codes(meetup_id: int, count: int, label: str = "", created_by_id: int | None = None,
                        now: datetime | None = None) -> list[InviteCode]:
    """N single-use codes; each holds a seat until the meetup's release time."""
    now = now or utcnow()
    fields = Fields()
    count = fields.number("count", count, int, 1, MAX_CODES_AT_ONCE,
                          message=_("Create between 1 and %(most)d codes at a time.", most=MAX_CODES_AT_ONCE))
    label = fields.text("label", label, InviteCode.label)
    fields.done(fields.errors.get("count"))  # the command line shows this message
    meetup = lock_meetup(meetup_id)
    if meetup is None:
        db.session.rollback()
        raise DomainError("not_found", _("There is no such meetup."), status=404)
    if meetup.status == MeetupStatus.CANCELLED.value:
        db.session.rollback()
        raise DomainError("meetup_cancelled", _("This meetup is cancelled."), status=409)
    available = meetup_seats(meetup, now).seats_left
    if count > available:
        db.session.rollback()
        message = _("Only %(available)d seats are free to hold for invite codes.", available=available)
        raise DomainError("invalid", message, {"count": message})
    codes = [InviteCode(meetup=meetup, code=_new_code(), label=label, created_by_id=created_by_id)
             for _number in range(count)]
    db.session.add_all(codes)
    db.session.commit()
    return codes


def normalize_code(text: str) -> str:
    """What people type (`abcde-fghjk`, spaces) to the stored form."""
    return re.sub(r"[^A-Z0-9]", "", (text or "").upper())


def format_code(code: str) -> str:
    return f"{code[:5]}-{code[5:]}"


# --- changes to a meetup that move seats --------------------------------------------------

def update_meetup(meetup_id: int, details: MeetupDetails, now: datetime | None = None) -> Meetup:
    """The planner edits a meetup: a lower capacity must still seat everyone confirmed, offered or
    held for an invite code; a higher one seats the waiting list (their emails queued)."""
    now = now or utcnow()
    meetup = locked_meetup(meetup_id)
    if meetup.status == MeetupStatus.CANCELLED.value:
        db.session.rollback()
        raise DomainError("meetup_cancelled", _("A cancelled meetup cannot be edited."), status=409)
    counts = meetup_seats(meetup, now)
    try:
        apply_details(meetup, details, taken=counts.confirmed + counts.offered + counts.held)
    except DomainError:
        db.session.rollback()
        raise
    _promoted, mails = _fill_free_seats(meetup, now)
    _commit_and_send(mails)
    return meetup


def cancel_meetup(meetup_id: int, now: datetime | None = None) -> Meetup:
    """Everyone holding a seat, an offer or a place in line is told by email; their tickets no
    longer admit anyone. Cancelling again changes nothing."""
    meetup = locked_meetup(meetup_id)
    if meetup.status == MeetupStatus.CANCELLED.value:
        db.session.rollback()
        return meetup
    meetup.status = MeetupStatus.CANCELLED.value
    meetup.cancelled_at = now or utcnow()
    registration_ids = db.session.scalars(select(Registration.id).where(
        Registration.meetup_id == meetup.id, Registration.status != RegistrationStatus.CANCELLED.value))
    _commit_and_send([Outgoing("meetup_cancelled", number) for number in registration_ids])
    return meetup


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


def _is_due(meetup: Meetup, now: datetime, counts: SeatCounts | None = None) -> bool:
    if meetup.status not in (MeetupStatus.PUBLISHED.value, MeetupStatus.CLOSED.value) or now >= meetup.starts_at:
        return False
    counts = counts or meetup_seats(meetup, now)
    return counts.lapsed_offers > 0 or (counts.waitlisted > 0 and counts.seats_left > 0)


def _sweep(meetup: Meetup, now: datetime, counts: SeatCounts | None = None) -> list[Outgoing]:
    """Lapsed offers pass on; free seats (a released code hold, a raised capacity) go to the line."""
    if not _is_due(meetup, now, counts):
        return []
    mails = []
    lapsed = db.session.scalars(select(Registration).where(
        Registration.meetup_id == meetup.id, Registration.status == RegistrationStatus.OFFERED.value,
        Registration.offer_expires_at <= now))
    for registration in lapsed:
        _cancel(registration, CancelReason.OFFER_LAPSED, now)
        mails.append(Outgoing("offer_lapsed", registration.id))
    _promoted, promotion_mails = _fill_free_seats(meetup, now)
    return mails + promotion_mails


def _fill_free_seats(meetup: Meetup, now: datetime) -> tuple[list[Registration], list[Outgoing]]:
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
            mails.append(Outgoing("offer_made", registration.id))
        else:
            _confirm(registration, now)
            mails.append(Outgoing("promoted", registration.id))
    return list(line), mails


def _commit_and_send(mails: list[Outgoing]) -> None:
    queued = mailing.record(mails)
    db.session.commit()
    send(queued)


def _commit_keeping_loaded() -> None:
    """Commit without expiring what the session holds: it is what was just decided under the lock,
    and the answer needs it, which would otherwise be read back row by row."""
    session = db.session()
    expiring, session.expire_on_commit = session.expire_on_commit, False
    try:
        session.commit()
    finally:
        session.expire_on_commit = expiring


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


def _validated(name: str, email: str, city: str, phone: str, question: str) -> dict:
    fields = Fields()
    name = fields.text("name", name, Registration.name, required=_("Please tell us your name."))
    email = fields.email("email", email, required=_("Please give your email: the ticket is sent there."))
    phone = fields.text("phone", phone, Registration.phone)
    if phone and "phone" not in fields and not _PHONE.fullmatch(phone):
        fields.refuse("phone", _("Phone numbers have digits, spaces, dashes and an optional leading +."))
    question = fields.text("question", question, most=MAX_QUESTION)
    city = fields.text("city", city, Registration.city_text)
    fields.done()
    city_id = find_city(city).geonameid if city else None  # a town the gazetteer lacks is kept as typed
    return {"name": name, "email": email, "city_text": city, "city_geonameid": city_id,
            "phone": phone, "question": question}


def _new_ticket_ref() -> str:
    return secrets.token_urlsafe(16)


def _new_code() -> str:
    return "".join(secrets.choice(_CODE_ALPHABET) for _number in range(CODE_LENGTH))
