"""Registering, cancelling, the waiting list, offers, invite codes, a meetup's capacity and its
cancellation: every change to a meetup's seats goes through here, under the meetup's lock
(events.locks). Emails are recorded in the mail queue in the same transaction and sent after the
commit (registration.mailing)."""
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import DateTime, Integer, and_, bindparam, func, insert, literal, or_, select

from ..cities.services import find_city
from ..errors import DomainError
from ..events.locks import lock_meetup
from ..events.models import Meetup, MeetupStatus
from ..events.services import MeetupDetails, apply_details, locked_meetup
from ..extensions import db
from ..shared.db import begin_write, dialect_name, first, on_conflict, on_conflict_insert
from ..shared.mail import send
from ..shared.private_links import new_salt, row_for_token
from ..shared.timeutil import format_in_zone, utcnow
from ..shared.validation import Fields
from . import mailing
from .mailing import MANAGE_LINK, Outgoing
from .models import IN_LINE, SEAT_HOLDING, CancelReason, InviteCode, QueuedMail, Registration, RegistrationStatus
from .seats import TAKE_SEAT, SeatCounts, meetup_seats, recount, taken

MAX_QUESTION = 2000  # a rule for the form, not the column's (Text)
MAX_CODES_AT_ONCE = 50
_PHONE = re.compile(r"\+?[0-9][0-9 ()-]{4,38}")
# Invite codes avoid characters that are misread on paper (0/O, 1/I/L).
_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 10

# Built once: building a statement costs more than running it, on the path of a rush.
_REGISTRATION_BY_EMAIL = select(Registration).where(
    Registration.meetup_id == bindparam("meetup_id"), Registration.email == bindparam("email"))
# Inserts nothing for an email already registered (one registration per email): one statement
# both looks and writes, and a rush of new fans needs no lookup.
_NEW_REGISTRATION = on_conflict(Registration.__table__, ["meetup_id", "email"],
                                returning=(Registration.__table__.c.id,))
# PostgreSQL takes the registration and its email in one statement (a round trip less under the
# meetup's lock); SQLite, in process, runs the two statements.
_REGISTRATION_COLUMNS = [column.name for column in Registration.__table__.c if column.name != "id"]
_inserted = (on_conflict_insert("postgresql")(Registration.__table__)
             .values({name: bindparam(name) for name in _REGISTRATION_COLUMNS})
             .on_conflict_do_nothing(index_elements=["meetup_id", "email"])
             .returning(Registration.__table__.c.id).cte("inserted"))
_NEW_REGISTRATION_AND_MAIL = (
    insert(QueuedMail.__table__)
    .from_select(["kind", "registration_id", "waitlist_position", "created_at", "attempts", "last_error"],
                 select(bindparam("kind"), _inserted.c.id, bindparam("waitlist_position", type_=Integer()),
                        bindparam("now", type_=DateTime()), literal(0), literal("")))
    .add_cte(_inserted, nest_here=True)
    .returning(QueuedMail.__table__.c.registration_id))


@dataclass(frozen=True)
class RegistrationOutcome:
    """What registering decided, as the fan is told it (no row is read back to say it)."""

    registration_id: int
    meetup_id: int
    status: str
    ticket_ref: str
    manage_token: str
    waitlist_position: int | None

    @property
    def is_confirmed(self) -> bool:
        return self.status == RegistrationStatus.CONFIRMED.value

    @property
    def registration(self) -> Registration:
        """The registration's row, loaded on access."""
        return db.session.get(Registration, self.registration_id)


@dataclass
class CancelOutcome:
    registration: Registration
    promoted: list[Registration] = field(default_factory=list)


# --- reading -------------------------------------------------------------------------------

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
    """Take a seat if one is free (or the invite code holds one), else a place on the waiting list.

    A rush takes three statements: the UPDATE that locks the meetup and counts the newcomer
    (seats.TAKE_SEAT), the INSERT of the registration and its email, the COMMIT. Anything more
    to decide (an invite code, an offer out, a sweep due, an email seen before) goes the careful
    way (`_register_carefully`)."""
    values = _validated(name, email, city, phone, question)
    code_text = normalize_code(invite_code)
    asked = now or utcnow()
    begin_write()  # SQLite: the writers' queue; PostgreSQL: the UPDATE below locks the row
    settings = first(TAKE_SEAT, {"meetup_id": meetup_id, "now": asked, "plain": not code_text})
    # The clock is read again inside the lock: the waiting list's order (queued_at) is then the
    # order in which fans took the lock, so no two fans in a rush are told the same position.
    now = now or utcnow()
    status = taken(settings, asked, not code_text) if settings is not None else None
    if status is not None:
        row = _new_row(values, locale, now, status)
        position = settings.waitlisted_count if status == RegistrationStatus.WAITLISTED.value else None
        inserted = _insert_with_mail(meetup_id, row, position, now)
        if inserted is not None:
            db.session.commit()
            send([mailing.QUEUED])
            return RegistrationOutcome(inserted, meetup_id, status, row["ticket_ref"],
                                       mailing.manage_token(inserted, row["manage_salt"]), position)
        db.session.rollback()  # the email is registered already (or was, and cancelled): uncount it
        begin_write()
        settings = first(TAKE_SEAT, {"meetup_id": meetup_id, "now": asked, "plain": False})
    return _register_carefully(meetup_id, settings, values, code_text, locale, asked, now)


def _register_carefully(meetup_id: int, settings, values: dict, code_text: str, locale: str, asked: datetime,
                        now: datetime) -> RegistrationOutcome:
    """`register`, under the meetup's lock, when TAKE_SEAT counted nothing: the ORM's way, ending
    with a recount."""
    if settings is None or settings.status == MeetupStatus.DRAFT.value:
        db.session.rollback()
        raise DomainError("not_found", _("There is no such meetup."), status=404)
    meetup = db.session.get(Meetup, meetup_id, populate_existing=True)
    state = meetup.registration_state(asked)
    if state != "open":
        message = closed_message(meetup, state)
        db.session.rollback()
        raise DomainError("registration_closed", message, status=409)
    mails = _sweep(meetup, now)  # the sweep moves fans along first
    counts = recount(meetup, now) if mails else meetup_seats(meetup, now)

    registration = code = None
    if code_text:  # a fan already registered is told so before anything about the code
        registration = _unless_registered(meetup, values["email"], mails, now)
        code = db.session.scalar(select(InviteCode).where(InviteCode.code == code_text))
        problem = None
        if code is None or code.meetup_id != meetup_id:
            problem = _("This invite code is not valid for this meetup.")
        elif code.is_used:
            problem = _("This invite code has already been used.")
        if problem:
            _commit_and_send(meetup, mails, now)
            raise DomainError("invalid", problem, {"invite_code": problem})

    holds_seat = code is not None and now < meetup.codes_held_until  # its seat is counted in `held`
    confirmed = holds_seat or counts.seats_left > 0
    status = RegistrationStatus.CONFIRMED.value if confirmed else RegistrationStatus.WAITLISTED.value
    row = _new_row(values, locale, now, status)
    if code is not None:
        code.used_at = now
        row["invite_code_id"] = code.id
    if registration is None:  # usually one statement: inserted, unless the email is registered already
        inserted = first(_NEW_REGISTRATION[dialect_name()], {**row, "meetup_id": meetup_id})
        registration_id = inserted[0] if inserted else None
        if registration_id is None:
            registration = _unless_registered(meetup, values["email"], mails, now)
    if registration is not None:
        _come_back(registration, row)
        registration_id = registration.id
    # The newcomer is last in line (queued now, under the lock): no need to count again.
    position = None if confirmed else counts.waitlisted + 1
    kind = "registration_confirmed" if confirmed else "registration_waitlisted"
    _commit_and_send(meetup, mails + [Outgoing(kind, registration_id, position)], now)
    return RegistrationOutcome(registration_id, meetup_id, status, row["ticket_ref"],
                               mailing.manage_token(registration_id, row["manage_salt"]), position)


def _new_row(values: dict, locale: str, now: datetime, status: str) -> dict:
    confirmed = status == RegistrationStatus.CONFIRMED.value
    return {**values, "locale": locale, "queued_at": now, "created_at": now, "manage_salt": new_salt(),
            "ticket_ref": _new_ticket_ref(), "status": status, "confirmed_at": now if confirmed else None,
            "offer_expires_at": None, "invite_code_id": None, "cancel_reason": None, "cancelled_at": None}


def _insert_with_mail(meetup_id: int, row: dict, position: int | None, now: datetime) -> int | None:
    """The registration and its email queued, unless the email is registered for the meetup
    already; the new registration's id, or None."""
    kind = "registration_waitlisted" if position else "registration_confirmed"
    if dialect_name() == "postgresql":
        inserted = first(_NEW_REGISTRATION_AND_MAIL, {**row, "meetup_id": meetup_id, "kind": kind,
                                                      "waitlist_position": position, "now": now})
        return inserted[0] if inserted else None
    inserted = first(_NEW_REGISTRATION["sqlite"], {**row, "meetup_id": meetup_id})
    if inserted is None:
        return None
    mailing.record([Outgoing(kind, inserted[0], position)], now)
    return inserted[0]


def _unless_registered(meetup: Meetup, email: str, mails: list[Outgoing], now: datetime) -> Registration | None:
    """The email's cancelled registration for the meetup, if any; `already_registered` (keeping
    what the sweep did) if it holds a seat, an offer or a place in line."""
    registration = db.session.scalar(_REGISTRATION_BY_EMAIL, {"meetup_id": meetup.id, "email": email})
    if registration is not None and not registration.is_cancelled:
        _commit_and_send(meetup, mails, now)
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
    _commit_and_send(meetup, mails + promotion_mails, now)
    return CancelOutcome(registration, promoted)


def accept_offer(token: str, now: datetime | None = None) -> Registration:
    """The fan takes the seat offered to them, before the offer lapses."""
    now = now or utcnow()
    registration = registration_for_token(token)
    meetup = _locked_listed_meetup(registration.meetup_id)
    db.session.refresh(registration)
    if registration.status != RegistrationStatus.OFFERED.value or registration.offer_expires_at <= now:
        _commit_and_send(meetup, _sweep(meetup, now), now)
        if registration.is_confirmed:
            return registration  # accepted twice: nothing more to do
        raise DomainError("offer_lapsed", _("This seat offer is no longer open."), status=409)
    _confirm(registration, now)
    _commit_and_send(meetup, [Outgoing("registration_confirmed", registration.id)], now)
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
    _commit_and_send(meetup, mails, now)
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
    recount(meetup, now)
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
    _commit_and_send(meetup, mails, now)
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
    _commit_and_send(meetup, [Outgoing("meetup_cancelled", number) for number in registration_ids], meetup.cancelled_at)
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
    return (counts or meetup_seats(meetup, now)).sweep_due


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
    free = recount(meetup, now).seats_left
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


def _commit_and_send(meetup: Meetup, mails: list[Outgoing], now: datetime) -> None:
    """The meetup's counters recounted, the emails queued, committed; then the emails go."""
    recount(meetup, now)
    queued = mailing.record(mails)
    db.session.commit()
    send(queued)


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
