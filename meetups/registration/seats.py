"""A meetup's seats: the counts it keeps on its own row (events.models.SEAT_COUNTERS), how they
are read, how a registration takes a seat with one statement, and the recount that every other
change to seats ends with. Reading seats is reading the meetup: no count of registrations."""
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Boolean, DateTime, and_, bindparam, case, func, not_, or_, select, update
from sqlalchemy.orm.attributes import set_committed_value

from ..events.models import SEAT_COUNTERS, Meetup, MeetupStatus
from ..extensions import db
from ..shared.db import first
from ..shared.timeutil import utcnow
from .models import InviteCode, Registration, RegistrationStatus


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

    @property
    def sweep_due(self) -> bool:
        """A lapsed offer to pass on, or a free seat while fans wait in line."""
        return self.lapsed_offers > 0 or (self.waitlisted > 0 and self.seats_left > 0)


_meetups, _registrations, _codes = Meetup.__table__.c, Registration.__table__.c, InviteCode.__table__.c
_now = bindparam("now", type_=DateTime())
_held_until = func.coalesce(_meetups.codes_release_at, _meetups.starts_at)
_LAPSED = (select(Registration.meetup_id, func.count()).where(
    Registration.meetup_id.in_(bindparam("meetup_ids", expanding=True)),
    Registration.status == RegistrationStatus.OFFERED.value, Registration.offer_expires_at <= _now)
    .group_by(Registration.meetup_id))


def counts_of(row, now: datetime, lapsed_offers: int = 0) -> SeatCounts:
    """The SeatCounts of a meetup (or of a row with its columns), at `now`."""
    held = row.unused_codes_count if now < (row.codes_release_at or row.starts_at) else 0
    return SeatCounts(row.capacity, row.confirmed_count, row.offered_count, row.waitlisted_count, held, lapsed_offers)


def seat_counts(meetups: list[Meetup], now: datetime | None = None) -> dict[int, SeatCounts]:
    """Seat counts of many meetups, from their rows; only offers (rare: a meetup with an offer
    window, after a cancellation) need a query, for those past their deadline."""
    now = now or utcnow()
    offering = [meetup.id for meetup in meetups if meetup.offered_count]
    lapsed = dict(db.session.execute(_LAPSED, {"meetup_ids": offering, "now": now}).all()) if offering else {}
    return {meetup.id: counts_of(meetup, now, lapsed.get(meetup.id, 0)) for meetup in meetups}


def meetup_seats(meetup: Meetup, now: datetime | None = None) -> SeatCounts:
    return seat_counts([meetup], now)[meetup.id]


# --- keeping the counts --------------------------------------------------------------------

def _counted(table, *conditions):
    return select(func.count()).select_from(table).where(*conditions).scalar_subquery()


def _registrations_with(status: RegistrationStatus):
    return _counted(Registration.__table__, _registrations.meetup_id == _meetups.id,
                    _registrations.status == status.value)


_COUNTED = {
    "confirmed_count": _registrations_with(RegistrationStatus.CONFIRMED),
    "offered_count": _registrations_with(RegistrationStatus.OFFERED),
    "waitlisted_count": _registrations_with(RegistrationStatus.WAITLISTED),
    "unused_codes_count": _counted(InviteCode.__table__, _codes.meetup_id == _meetups.id, _codes.used_at.is_(None)),
}
assert tuple(_COUNTED) == SEAT_COUNTERS
# The counts from the rows they count: what every change to seats but a new registration ends
# with, what the migration filled the columns with, and what the tests hold the columns against.
RECOUNT = (update(Meetup.__table__).where(_meetups.id == bindparam("meetup_id")).values(_COUNTED)
           .returning(*(_meetups[name] for name in SEAT_COUNTERS)))
COUNTED = select(_meetups.id, *(expression.label(name) for name, expression in _COUNTED.items()))


def recount(meetup: Meetup, now: datetime) -> SeatCounts:
    """After a change to the meetup's registrations or codes (pending ones are flushed first): its
    counters set from the rows, in the same transaction, and the counts they give at `now`."""
    db.session.flush()
    row = first(RECOUNT, {"meetup_id": meetup.id})
    for name, value in zip(SEAT_COUNTERS, row, strict=True):
        set_committed_value(meetup, name, value)
    return meetup_seats(meetup, now)


# --- taking a seat, in the statement that takes the lock -------------------------------------

_free = (_meetups.capacity - _meetups.confirmed_count - _meetups.offered_count
         - case((_now < _held_until, _meetups.unused_codes_count), else_=0))
_open = and_(_meetups.status == MeetupStatus.PUBLISHED.value,
             or_(_meetups.registration_opens_at.is_(None), _now >= _meetups.registration_opens_at),
             _now < func.coalesce(_meetups.registration_closes_at, _meetups.starts_at))
# Nothing but a seat or a place at the end of the line to decide: no invite code, no offer that
# may have lapsed, no free seat that the line must get first (then the sweep comes first).
_plain = and_(bindparam("plain", type_=Boolean()), _open, _meetups.offered_count == 0,
              not_(and_(_meetups.waitlisted_count > 0, _free > 0)))
SETTINGS = (_meetups.status, _meetups.capacity, _meetups.starts_at, _meetups.registration_opens_at,
            _meetups.registration_closes_at, _meetups.codes_release_at, *(_meetups[name] for name in SEAT_COUNTERS))
# An UPDATE, so that it is the lock (PostgreSQL: the row's; SQLite holds the database's already)
# and it returns the counts as they stand once the lock is granted.
TAKE_SEAT = (update(Meetup.__table__).where(_meetups.id == bindparam("meetup_id"))
             .values(confirmed_count=_meetups.confirmed_count + case((and_(_plain, _free > 0), 1), else_=0),
                     waitlisted_count=_meetups.waitlisted_count + case((and_(_plain, _free <= 0), 1), else_=0))
             .returning(*SETTINGS))


def taken(row, now: datetime, plain: bool) -> str | None:
    """What TAKE_SEAT (with `plain`) counted, read from the row it returned (its values after the
    update): "confirmed", "waitlisted", or None when it counted nothing (registration closed, an
    invite code, an offer out, or a sweep due: the caller decides and recounts).

    A seat was taken only where no one was waiting, so an empty line tells that; a place in line
    was taken only when no seat was free, so no free seat after it tells that; a line with free
    seats is a sweep due, and then nothing was counted."""
    if not plain or Meetup.registration_state(row, now) != "open" or row.offered_count:
        return None
    if row.waitlisted_count == 0:
        return RegistrationStatus.CONFIRMED.value
    return RegistrationStatus.WAITLISTED.value if counts_of(row, now).seats_left == 0 else None
