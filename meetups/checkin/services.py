"""Checking fans in at the door: scanned tickets, the manual fallback, offline scans synced later,
undo, conflicts, and what the door screen shows (README, "Check-in at the door").

A ticket's signature is checked before anything is looked up. One check-in per registration is
enforced by the database (an insert that does nothing when the row exists), so two devices
scanning one ticket at the same moment get one `admitted` and one `already_checked_in`, across
server processes. Every answer to a request that carries a nonce is stored under it in the same
transaction as the check-in: a retry gets the first answer back verbatim and changes nothing.
"""
import hashlib
import json
from collections import namedtuple
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import Integer, bindparam, case, column, delete, func, insert, or_, select, text, update
from sqlalchemy.orm import aliased, joinedload

from ..accounts.models import User
from ..cities.models import City
from ..cities.names import local_name
from ..errors import DomainError
from ..events.models import Meetup, MeetupStatus
from ..events.serializers import meetup_json
from ..extensions import db
from ..registration.models import Registration, RegistrationStatus
from ..shared.db import begin_write, first, on_conflict
from ..shared.ticket_codes import ticket_codes, verify
from ..shared.timeutil import format_in_zone, isoformat, to_local, to_utc, utcnow
from .models import CheckIn, CheckInAction, CheckInConflict, CheckInEvent, CheckInMethod, CheckInNonce

SEARCH_LIMIT = 20
RECENT = 10
DOOR_DAYS_AHEAD = 7
# A meetup without an end time is taken to be in progress this long after it starts.
USUAL_LENGTH = timedelta(hours=6)
CONFIRMED = RegistrationStatus.CONFIRMED.value


class Result:
    ADMITTED = "admitted"
    ALREADY_CHECKED_IN = "already_checked_in"
    INVALID = "invalid"
    WRONG_MEETUP = "wrong_meetup"
    NOT_ADMITTED = "not_admitted"


@dataclass(frozen=True)
class SyncedScan:
    """One scan made offline against the roster; `scanned_at` is the device's clock (a time
    without an offset is read as local time in the meetup's city)."""

    nonce: str
    registration_id: int
    scanned_at: datetime


# --- statements on the door's path, built once (building one costs more than running it) ---

_meetups, _cities, _registrations, _checkins, _users, _nonces = (
    model.__table__ for model in (Meetup, City, Registration, CheckIn, User, CheckInNonce))


# The door's counts, each read once per scan. Expected: the meetup's kept count of confirmed seats
# (registration.seats keeps it with every change). Arrived: its confirmed registrations checked
# in, counted from the meetup's check-ins (at most its capacity, found by their index on the
# meetup, whatever the planner's statistics say), each one's registration looked up by key.
# The holder's status is a scalar subquery per check-in, by primary key: a join let the planner
# hash the whole registrations table (a seq scan of every meetup's registrations per scan).
_ARRIVED_SQL = ("SELECT count(*) FROM checkins AS inside WHERE inside.meetup_id = {meetup} AND "
                "(SELECT holder.status FROM registrations AS holder WHERE holder.id = inside.registration_id) = '"
                + CONFIRMED + "'")
_ARRIVED = text(_ARRIVED_SQL.format(meetup=":meetup_id")).columns(column("arrived", Integer)).scalar_subquery()
_EXPECTED = _meetups.c.confirmed_count
_STAFF_LABEL = func.coalesce(func.nullif(_users.c.name, ""), _users.c.email).label("staff")  # as _label()
_COUNTS = select(_ARRIVED, _EXPECTED).where(_meetups.c.id == bindparam("meetup_id"))
_STORED_ANSWER = select(_nonces.c.answer).where(
    _nonces.c.meetup_id == bindparam("meetup_id"), _nonces.c.user_id == bindparam("user_id"),
    _nonces.c.nonce == bindparam("nonce"))
# The door (is it open, in which time zone, its counts) and the answer a retried request already got.
_DOOR_COLUMNS = (_meetups.c.id, _meetups.c.status, _cities.c.timezone, _STORED_ANSWER.scalar_subquery().label("answer"),
                 _ARRIVED.label("arrived"), _EXPECTED.label("expected"))
_DOOR_FROM = _meetups.join(_cities, _cities.c.geonameid == _meetups.c.city_geonameid)
_DOOR = select(*_DOOR_COLUMNS).select_from(_DOOR_FROM).where(_meetups.c.id == bindparam("meetup_id"))
# The registration, its check-in and who made it.
_FOUND_COLUMNS = (_registrations.c.id, _registrations.c.meetup_id, _registrations.c.name, _registrations.c.status,
                  _checkins.c.checked_in_at, _checkins.c.device, _checkins.c.user_id,
                  _STAFF_LABEL.label("checked_in_by"))


def _checked_in(source):
    """`source` (which has the registration) with the registration's check-in and who made it."""
    return (source.outerjoin(_checkins, _checkins.c.registration_id == _registrations.c.id)
            .outerjoin(_users, _users.c.id == _checkins.c.user_id))


_BY_ID = select(*_FOUND_COLUMNS).select_from(_checked_in(_registrations)).where(_registrations.c.id == bindparam("key"))
# A scan in one statement: the door, the stored answer, and the registration the ticket (by its
# reference) or the staff member (by its number) names, if there is one.
_DOOR_AND = {
    by: select(*_DOOR_COLUMNS, *_FOUND_COLUMNS)
    .select_from(_checked_in(_DOOR_FROM.outerjoin(_registrations, key_column == bindparam("key"))))
    .where(_meetups.c.id == bindparam("meetup_id"))
    for by, key_column in (("ref", _registrations.c.ticket_ref), ("id", _registrations.c.id))
}
Door = namedtuple("Door", [selected.name for selected in _DOOR.selected_columns])
Found = namedtuple("Found", [selected.name for selected in _BY_ID.selected_columns])
# An audit event, answering with the counts after the change it records (RETURNING sees the
# transaction's earlier writes, on SQLite and PostgreSQL). Written out: SQLAlchemy drops the table
# names inside a RETURNING clause, which makes them ambiguous.
_RECORD = insert(CheckInEvent.__table__).returning(*(
    text(sql).bindparams(door=None).columns(column("count", Integer)).scalar_subquery()
    for sql in (_ARRIVED_SQL.format(meetup=":door"), "SELECT confirmed_count FROM meetups WHERE meetups.id = :door")))
_NEW_EVENT = insert(CheckInEvent.__table__)
# INSERT … ON CONFLICT DO NOTHING RETURNING id: nothing comes back for a row already there.
_NEW = {CheckIn: on_conflict(_checkins, ["registration_id"], returning=(_checkins.c.id,)),
        CheckInNonce: on_conflict(_nonces, ["meetup_id", "user_id", "nonce"], returning=(_nonces.c.id,))}
_MEETUP = select(Meetup).options(joinedload(Meetup.city)).where(Meetup.id == bindparam("meetup_id"))


# --- the door's meetups --------------------------------------------------------------------

def door_meetups(now: datetime | None = None, days_ahead: int = DOOR_DAYS_AHEAD) -> list[Meetup]:
    """Meetups for the staff's picker: those in progress, those of today (in their city) and of
    the next `days_ahead` days, soonest first. Drafts and cancelled meetups have no door."""
    now = now or utcnow()
    candidates = db.session.scalars(
        select(Meetup).options(joinedload(Meetup.city))
        .where(Meetup.status.in_((MeetupStatus.PUBLISHED.value, MeetupStatus.CLOSED.value)),
               Meetup.starts_at >= now - timedelta(days=2), Meetup.starts_at <= now + timedelta(days=days_ahead))
        .order_by(Meetup.starts_at, Meetup.id)
    )
    return [meetup for meetup in candidates if _is_at_the_door(meetup, now)]


def _is_at_the_door(meetup: Meetup, now: datetime) -> bool:
    if meetup.starts_at > now:
        return True
    ends = meetup.ends_at or meetup.starts_at + USUAL_LENGTH
    zone = meetup.city.timezone
    return ends >= now or to_local(meetup.starts_at, zone).date() == to_local(now, zone).date()


def door_meetup(meetup_id: int) -> Meetup:
    """The meetup whose door is open: 404 for an unknown or draft one, 409 for a cancelled one."""
    meetup = db.session.scalars(_MEETUP, {"meetup_id": meetup_id}).one_or_none()
    _refuse_closed_door(meetup.status if meetup is not None else None)
    return meetup


def _refuse_closed_door(status: str | None) -> None:
    if status is None or status == MeetupStatus.DRAFT.value:
        raise DomainError("not_found", _("There is no such meetup."), status=404)
    if status == MeetupStatus.CANCELLED.value:
        raise DomainError("meetup_cancelled", _("This meetup is cancelled."), status=409)


def _door(meetup_id: int, user: User, nonce: str | None = None, by: str | None = None,
          key=None) -> tuple[Door, dict | None, Found | None]:
    """The open door's (id, status, timezone), the answer to an earlier request with this nonce
    if there was one, and, asked `by` "ref" or "id", the registration with that `key` (its
    check-in and the door's counts with it): one statement."""
    params = {"meetup_id": meetup_id, "user_id": user.id, "nonce": nonce, "key": key}
    row = first(_DOOR_AND[by] if by else _DOOR, params) or (None,) * len(Door._fields)
    door = Door._make(row[:len(Door._fields)])
    _refuse_closed_door(door.status)
    found = Found._make(row[len(Door._fields):]) if by and row[len(Door._fields)] is not None else None
    return door, json.loads(door.answer) if door.answer is not None else None, found


# --- checking in ---------------------------------------------------------------------------

def check_in_code(meetup_id: int, code, *, user: User, device: str = "", nonce: str | None = None,
                  now: datetime | None = None) -> dict:
    """A scanned (or typed) ticket code. Only the exact text of a genuine code is a ticket."""
    ref = verify(code) if isinstance(code, str) else None  # before any lookup: a forged code costs nothing
    door, replay, found = _door(meetup_id, user, nonce, *(("ref", ref) if ref is not None else ()))
    if replay is not None:
        return replay
    now = now or utcnow()
    if ref is None:
        return _finish(door, user, nonce, _answer(door, Result.INVALID, _("Not a valid ticket: do not admit.")))
    if found is None:
        # A genuine code that names nobody: its registration was cancelled, which draws a new
        # ticket reference and so revokes the old code.
        return _finish(door, user, nonce, _answer(
            door, Result.NOT_ADMITTED, _("This ticket was cancelled: do not admit."), reason="cancelled"))
    return _check_in(door, found, user=user, device=device, nonce=nonce, method=CheckInMethod.SCAN, now=now)


def check_in_registration(meetup_id: int, registration_id: int, *, user: User, device: str = "",
                          nonce: str | None = None, now: datetime | None = None) -> dict:
    """The manual fallback: a registration picked from a search, checked in like a scanned ticket."""
    door, replay, found = _door(meetup_id, user, nonce, "id", registration_id)
    if replay is not None:
        return replay
    return _check_in_found(door, found, user=user, device=device, nonce=nonce, method=CheckInMethod.MANUAL,
                           now=now or utcnow())


def sync_scans(meetup_id: int, scans: list[SyncedScan], *, user: User, device: str,
               now: datetime | None = None) -> tuple[list[dict], tuple[int, int]]:
    """Scans made offline, each in its own transaction (a scan is stored whole or not at all).
    A scan of a registration another device has checked in is recorded as a conflict and never
    counted twice. The answers in order (each with its nonce), and (arrived, expected) after."""
    now = now or utcnow()
    results = []
    door, _replay, _found = _door(meetup_id, user)
    for scan in scans:
        door, answer, found = _door(meetup_id, user, scan.nonce, "id", scan.registration_id)
        if answer is None:
            scanned_at = min(to_utc(scan.scanned_at, door.timezone), now)  # a clock ahead cannot say "later"
            answer = _check_in_found(door, found, user=user, device=device, nonce=scan.nonce,
                                     method=CheckInMethod.SYNC, now=now, scanned_at=scanned_at)
        results.append({"nonce": scan.nonce, **{key: answer.get(key) for key in (
            "result", "attendee", "checked_in_at", "checked_in_by", "reason", "message", "conflict")}})
    return results, door_counts(door.id)


def _check_in_found(door: Door, found: Found | None, **context) -> dict:
    """A registration picked by its number (by hand, or synced): `found`, or None for no such number."""
    if found is None:
        return _finish(door, context["user"], context["nonce"], _answer(
            door, Result.INVALID, _("There is no registration with this number.")))
    return _check_in(door, found, **context)


def _check_in(door: Door, found: Found, *, user: User, device: str, nonce: str | None, method: CheckInMethod,
              now: datetime, scanned_at: datetime | None = None) -> dict:
    """`found` is the registration and its check-in if there is one; `door` has the counts."""
    if found.meetup_id != door.id:
        other = db.session.scalars(_MEETUP, {"meetup_id": found.meetup_id}).one()
        message = _("This ticket is for another meetup: %(title)s, %(city)s, %(when)s. Do not admit.",
                    title=other.title, city=local_name(other.city, str(get_locale() or "en")),
                    when=format_in_zone(other.starts_at, other.city.timezone))
        return _finish(door, user, nonce, _answer(door, Result.WRONG_MEETUP, message, found,
                                                  ticket_meetup=meetup_json(other)))
    if found.status != CONFIRMED:
        return _finish(door, user, nonce, _answer(door, Result.NOT_ADMITTED, _not_admitted_message(found),
                                                  found, reason=found.status))
    if found.checked_in_at is None:
        at = scanned_at or now
        # Composed before the insert: on SQLite the insert takes the write lock every door waits for.
        # The counts are the door's as read, with this fan inside now.
        admitted = _answer(door, Result.ADMITTED, _("Admit %(name)s.", name=found.name), found,
                           checked_in=(at, device, _label(user)))
        admitted["arrived"], admitted["expected"] = door.arrived + 1, door.expected
        check_in = {"meetup_id": door.id, "registration_id": found.id, "checked_in_at": at, "recorded_at": now,
                    "user_id": user.id, "device": device, "method": method.value}
        inserted = _admit(check_in, nonce, admitted)
        if inserted is not None:
            return inserted
        # Another request checked this registration in since we looked: its check-in stands
        # (unless it was undone in between, when this request tries again).
        found = _find(found.id, door)
        arrived, expected = door_counts(door.id)
        door = door._replace(arrived=arrived, expected=expected)
        if found.checked_in_at is None:
            return _check_in(door, found, user=user, device=device, nonce=nonce, method=method, now=now,
                             scanned_at=scanned_at)
    conflict = None
    if method is CheckInMethod.SYNC and found.device != device:
        conflict = _record_conflict(door, found, user, device, scanned_at or now, now)
    message = _("%(name)s was already checked in at %(time)s (%(who)s). Do not admit twice.",
                name=found.name, time=to_local(found.checked_in_at, door.timezone).strftime("%H:%M"),
                who=" · ".join(part for part in (found.device, found.checked_in_by) if part))
    return _finish(door, user, nonce, _answer(door, Result.ALREADY_CHECKED_IN, message, found,
                                              checked_in=(found.checked_in_at, found.device, found.checked_in_by),
                                              conflict=conflict))


def _not_admitted_message(registration: Found) -> str:
    if registration.status == RegistrationStatus.WAITLISTED.value:
        return _("%(name)s is on the waiting list and has no seat: do not admit.", name=registration.name)
    if registration.status == RegistrationStatus.OFFERED.value:
        return _("%(name)s was offered a seat but has not accepted it: do not admit.", name=registration.name)
    return _("%(name)s cancelled this registration: do not admit.", name=registration.name)


def _record_conflict(door: Door, found: Found, user: User, device: str, scanned_at: datetime, now: datetime) -> dict:
    conflict = CheckInConflict(
        meetup_id=door.id, registration_id=found.id, first_device=found.device, first_user_id=found.user_id,
        first_at=found.checked_in_at, second_device=device, second_user_id=user.id, second_at=scanned_at,
        recorded_at=now)
    db.session.add(conflict)
    db.session.flush()
    _record(door.id, found.id, CheckInAction.CONFLICT, user, device, now)
    return _conflict_json(conflict, found.name, found.checked_in_by, _label(user), door.timezone)


# --- undo and conflicts --------------------------------------------------------------------

def undo_check_in(meetup_id: int, registration_id: int, *, user: User, device: str = "",
                  now: datetime | None = None) -> tuple[int, int]:
    """The check-in is removed (the registration may be checked in again); the audit trail keeps
    who undid it, when and on which device. 409 `not_checked_in` when there is nothing to undo."""
    door, _replay, _found = _door(meetup_id, user)
    begin_write()
    removed = db.session.execute(delete(_checkins).where(
        _checkins.c.meetup_id == door.id, _checkins.c.registration_id == registration_id)).rowcount
    if not removed:
        db.session.rollback()
        raise DomainError("not_checked_in", _("This registration is not checked in: there is nothing to undo."),
                          status=409)
    counts = _record(door.id, registration_id, CheckInAction.UNDONE, user, device, now or utcnow())
    db.session.commit()
    return counts


def dismiss_conflict(meetup_id: int, conflict_id: int, *, user: User, device: str = "",
                     now: datetime | None = None) -> CheckInConflict:
    """A staff member has looked into it; dismissing it again changes nothing."""
    door, _replay, _found = _door(meetup_id, user)
    now = now or utcnow()
    begin_write()
    dismissed = db.session.execute(
        update(CheckInConflict.__table__)
        .where(CheckInConflict.id == conflict_id, CheckInConflict.meetup_id == door.id,
               CheckInConflict.dismissed_at.is_(None))
        .values(dismissed_at=now, dismissed_by_id=user.id)).rowcount
    conflict = db.session.scalar(select(CheckInConflict).where(
        CheckInConflict.id == conflict_id, CheckInConflict.meetup_id == door.id)
        .execution_options(populate_existing=True))
    if conflict is None:
        db.session.rollback()
        raise DomainError("not_found", _("There is no such conflict."), status=404)
    if dismissed:
        _record(door.id, conflict.registration_id, CheckInAction.CONFLICT_DISMISSED, user, device, now)
    db.session.commit()
    return conflict


# --- what the door screen shows ------------------------------------------------------------

def door_counts(meetup_id: int) -> tuple[int, int]:
    """(arrived, expected): confirmed registrations checked in, and all confirmed registrations."""
    return first(_COUNTS, {"meetup_id": meetup_id})


def door_status(meetup_id: int) -> dict:
    """The live screen: counts, who is still missing (by name), the last check-ins, open conflicts."""
    meetup = door_meetup(meetup_id)
    zone = meetup.city.timezone
    confirmed = db.session.execute(
        select(Registration.id, Registration.name, CheckIn.id)
        .outerjoin(CheckIn, CheckIn.registration_id == Registration.id)
        .where(Registration.meetup_id == meetup.id, Registration.status == CONFIRMED)).all()
    missing = sorted(((number, name) for number, name, check_in in confirmed if check_in is None),
                     key=lambda row: (row[1].casefold(), row[0]))
    recent = db.session.execute(
        select(CheckIn.registration_id, Registration.name, CheckIn.checked_in_at, CheckIn.device, CheckIn.method,
               _STAFF_LABEL)
        .join(Registration, Registration.id == CheckIn.registration_id).join(User, User.id == CheckIn.user_id)
        .where(CheckIn.meetup_id == meetup.id)
        .order_by(CheckIn.checked_in_at.desc(), CheckIn.id.desc()).limit(RECENT)).all()
    return {
        "meetup": meetup_json(meetup),
        "arrived": sum(1 for row in confirmed if row[2] is not None),
        "expected": len(confirmed),
        "missing": [{"registration_id": number, "name": name} for number, name in missing],
        "recent": [{"registration_id": row.registration_id, "name": row.name,
                    "checked_in_at": isoformat(row.checked_in_at, zone), "device": row.device, "user": row.staff,
                    "method": row.method} for row in recent],
        "conflicts": open_conflicts(meetup),
    }


def open_conflicts(meetup: Meetup) -> list[dict]:
    first_user, second_user = aliased(User), aliased(User)
    rows = db.session.execute(
        select(CheckInConflict, Registration.name, first_user, second_user)
        .join(Registration, Registration.id == CheckInConflict.registration_id)
        .join(first_user, first_user.id == CheckInConflict.first_user_id)
        .join(second_user, second_user.id == CheckInConflict.second_user_id)
        .where(CheckInConflict.meetup_id == meetup.id, CheckInConflict.dismissed_at.is_(None))
        .order_by(CheckInConflict.recorded_at, CheckInConflict.id))
    return [_conflict_json(conflict, name, _label(first), _label(second), meetup.city.timezone)
            for conflict, name, first, second in rows]


def search_registrations(meetup_id: int, query: str) -> list[dict]:
    """By name or email (any part, any case), or by a ticket code typed in full (exactly);
    confirmed first, then by name; at most SEARCH_LIMIT."""
    meetup = door_meetup(meetup_id)
    query = (query or "").strip()
    if not query:
        return []
    ref = verify(query)
    matches = [func.lower(Registration.name).contains(query.lower(), autoescape=True),
               func.lower(Registration.email).contains(query.lower(), autoescape=True)]
    if ref is not None:
        matches.append(Registration.ticket_ref == ref)
    statuses = [RegistrationStatus.CONFIRMED, RegistrationStatus.OFFERED, RegistrationStatus.WAITLISTED]
    rank = case({status.value: number for number, status in enumerate(statuses)}, value=Registration.status,
                else_=len(statuses))
    rows = db.session.execute(
        select(Registration, CheckIn.checked_in_at)
        .outerjoin(CheckIn, CheckIn.registration_id == Registration.id)
        .where(Registration.meetup_id == meetup.id, or_(*matches))
        .order_by(rank, func.lower(Registration.name), Registration.id).limit(SEARCH_LIMIT))
    return [{"registration_id": registration.id, "name": registration.name, "email": registration.email,
             "status": registration.status, "checked_in_at": isoformat(checked_in_at, meetup.city.timezone)}
            for registration, checked_in_at in rows]


def roster(meetup_id: int, now: datetime | None = None) -> dict:
    """Every confirmed registration for an offline device: names and the SHA-256 of each ticket
    code, never the codes themselves, so a lost phone holds nothing that gets anyone in."""
    meetup = door_meetup(meetup_id)
    zone = meetup.city.timezone
    rows = db.session.execute(
        select(Registration.id, Registration.name, Registration.ticket_ref, CheckIn.checked_in_at)
        .outerjoin(CheckIn, CheckIn.registration_id == Registration.id)
        .where(Registration.meetup_id == meetup.id, Registration.status == CONFIRMED)
        .order_by(Registration.id))
    entries = []
    for number, name, ref, checked_in_at in rows:
        current, *previous = [code_sha256(code) for code in ticket_codes(ref)]
        entries.append({"registration_id": number, "name": name, "code_sha256": current,
                        "code_sha256_previous": previous, "checked_in_at": isoformat(checked_in_at, zone)})
    return {"meetup": meetup_json(meetup), "generated_at": isoformat(now or utcnow(), zone), "entries": entries}


def code_sha256(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


# --- inside a check-in ---------------------------------------------------------------------

def _admit(check_in: dict, nonce: str | None, answer: dict) -> dict | None:
    """The check-in, its audit event and the answer kept under the nonce, committed: the answer
    (or, when a request with the same nonce got there first, the answer it got). None, with
    nothing written, when the registration was checked in since it was read.

    Three INSERTs, not one: a data-modifying CTE doing all three cost PostgreSQL more CPU than
    the two round trips it saved (bench/checkin.py: 1.25 against 0.84 ms of database CPU a scan,
    0.37 against 0.48 of the reference app)."""
    if first(_NEW[CheckIn][begin_write()], check_in) is None:
        return None
    db.session.execute(_NEW_EVENT, {
        "meetup_id": check_in["meetup_id"], "registration_id": check_in["registration_id"],
        "action": CheckInAction.CHECKED_IN.value, "method": check_in["method"], "at": check_in["recorded_at"],
        "user_id": check_in["user_id"], "device": check_in["device"]})
    return _finish_stored(check_in["meetup_id"], check_in["user_id"], nonce, answer)


def _find(registration_id: int, door: Door) -> Found | None:
    """The registration, its check-in and who made it, read again."""
    row = first(_BY_ID, {"key": registration_id, "meetup_id": door.id})
    return Found._make(row) if row is not None else None


def _finish(door: Door, user: User, nonce: str | None, answer: dict) -> dict:
    """The door's counts as read, the answer kept under its nonce, one commit (`_finish_stored`)."""
    answer["arrived"], answer["expected"] = door.arrived, door.expected
    return _finish_stored(door.id, user.id, nonce, answer)


def _finish_stored(meetup_id: int, user_id: int, nonce: str | None, answer: dict) -> dict:
    """The answer kept under its nonce, one commit; or, when a request with the same nonce got
    there first, everything this one wrote rolled back and the first answer."""
    if nonce:
        kept = _insert_ignoring_duplicate(CheckInNonce, meetup_id=meetup_id, user_id=user_id, nonce=nonce,
                                          answer=json.dumps(answer), created_at=utcnow())
        if not kept:
            db.session.rollback()
            return _stored_answer(meetup_id, user_id, nonce)
    db.session.commit()
    return answer


def _stored_answer(meetup_id: int, user_id: int, nonce: str) -> dict:
    return json.loads(db.session.scalar(_STORED_ANSWER, {"meetup_id": meetup_id, "user_id": user_id, "nonce": nonce}))


def _insert_ignoring_duplicate(model, **values) -> bool:
    """INSERT … ON CONFLICT DO NOTHING on the table's unique key: False when it was taken. On
    PostgreSQL it waits for a concurrent insert of the same key to commit; on SQLite the insert
    takes the database's write lock, held to the commit."""
    return first(_NEW[model][begin_write()], values) is not None


def _record(meetup_id: int, registration_id: int, action: CheckInAction, user: User, device: str, now: datetime,
            method: CheckInMethod | None = None) -> tuple[int, int]:
    """The event in the audit trail; (arrived, expected) with the change it records."""
    return first(_RECORD, {
        "meetup_id": meetup_id, "registration_id": registration_id, "action": action.value,
        "method": method.value if method else None, "at": now, "user_id": user.id, "device": device,
        "door": meetup_id})


def _answer(door: Door, result: str, message: str, attendee=None, *,
            checked_in: tuple[datetime, str, str | None] | None = None, ticket_meetup: dict | None = None,
            reason: str | None = None, conflict: dict | None = None) -> dict:
    """The answer to a check-in request, as the door screen gets it (and a retry gets it again).
    `attendee` has the registration's `id` and `name`; `checked_in` is (when, device, staff)."""
    return {
        "result": result,
        "attendee": {"registration_id": attendee.id, "name": attendee.name} if attendee is not None else None,
        "checked_in_at": isoformat(checked_in[0], door.timezone) if checked_in else None,
        "checked_in_by": {"device": checked_in[1], "user": checked_in[2]} if checked_in else None,
        "ticket_meetup": ticket_meetup,
        "reason": reason,
        "message": message,
        "conflict": conflict,
    }


def _conflict_json(conflict: CheckInConflict, name: str, first_user: str | None, second_user: str | None,
                   zone: str) -> dict:
    return {
        "id": conflict.id,
        "registration_id": conflict.registration_id,
        "name": name,
        "first": {"device": conflict.first_device, "user": first_user, "at": isoformat(conflict.first_at, zone)},
        "second": {"device": conflict.second_device, "user": second_user, "at": isoformat(conflict.second_at, zone)},
    }


def _label(user: User | None) -> str | None:
    """How the door names a staff member."""
    return (user.name or user.email) if user is not None else None
