"""The next meetups: one every two weeks from a start date, each in a different eligible city taken
in ranking order; a planner swaps cities, then accepts, which creates the drafts in one go."""
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..cities.models import City
from ..cities.names import local_name
from ..errors import DomainError
from ..events.models import Meetup, MeetupStatus
from ..events.services import MeetupDetails, create_meetup
from ..extensions import db
from ..shared.db import lock_rows
from ..shared.timeutil import to_local, utcnow
from .ranking import Ranking, RankingParameters, RankingRow, rank_cities

INTERVAL = timedelta(weeks=2)
MAX_SLOTS = 12
MAX_WEEKS_AHEAD = 104
DEFAULT_SLOTS = 4
# Each draft is an evening in its city (local time); the planner edits it before publishing.
STARTS_AT = time(19, 0)
ENDS_AT = time(21, 30)
CAPACITY = 40
SPARE_SHOWN = 50  # the cities offered in each slot's swap list


@dataclass
class ProposedMeetup:
    number: int  # 1 for the first slot
    day: date
    city: RankingRow
    swapped: bool = False  # the planner chose this city instead of the ranking's
    # This city first, then the eligible cities not in the proposal (what the slot may swap to).
    choices: list[RankingRow] = field(default_factory=list)
    existing: Meetup | None = None  # already scheduled there that day: accepting keeps it


@dataclass
class AcceptedSchedule:
    meetups: list[Meetup]  # one per slot, in order
    created: list[Meetup]  # the new drafts (a repeated accept finds the others already there)


def slot_day(start: date, number: int) -> date:
    return start + INTERVAL * (number - 1)


def default_start(today: date | None = None) -> date:
    """Two weeks after the last meetup still to come (the next free slot in the rhythm), or two
    weeks from today when none is planned."""
    today = today or utcnow().date()
    upcoming = db.session.execute(
        select(Meetup.starts_at, City.timezone).join(City, City.geonameid == Meetup.city_geonameid)
        .where(Meetup.status != MeetupStatus.CANCELLED.value, Meetup.starts_at >= datetime.combine(today, time()))
    ).all()
    days = [to_local(starts_at, zone).date() for starts_at, zone in upcoming]
    latest = max((day for day in days if day >= today), default=None)
    return latest + INTERVAL if latest else today + INTERVAL


def propose_schedule(ranking: Ranking | RankingParameters | None, start: date, count: int,
                     swaps: dict[int, int] | None = None) -> list[ProposedMeetup]:
    """`count` meetups from `start`, every two weeks, in the first eligible cities of the ranking.
    `swaps` (slot number → geonameid) puts another eligible candidate in a slot; it must not be in
    any other slot. A city that already has a meetup on the slot's day is accepted too (that is a
    repeated accept). Fewer eligible cities than `count`: fewer slots. Raises DomainError `invalid`
    naming `start`, `count` or `city_<n>`."""
    if not isinstance(ranking, Ranking):
        ranking = rank_cities(ranking)
    _check_dates(start, count, ranking.today)
    swaps = {number: city for number, city in (swaps or {}).items() if 1 <= number <= count}
    candidates = {row.geonameid: row for row in ranking.rows}
    eligible = [row for row in ranking.rows if row.eligible]
    chosen = dict(enumerate(eligible[:count], start=1))
    numbers = sorted(set(chosen) | set(swaps))
    existing = _scheduled([(row.geonameid, slot_day(start, number)) for number, row in chosen.items()]
                          + [(city, slot_day(start, number)) for number, city in swaps.items()])
    fields, swapped = {}, set()
    for number, geonameid in sorted(swaps.items()):
        if number in chosen and chosen[number].geonameid == geonameid:
            continue
        row = candidates.get(geonameid)
        if row is None:
            fields[f"city_{number}"] = _("This city is not a candidate host with these parameters.")
        elif not row.eligible and (geonameid, slot_day(start, number)) not in existing:
            fields[f"city_{number}"] = _("%(city)s is not eligible: %(reason)s.", city=_name(row),
                                         reason=row.reason_text)
        else:
            chosen[number] = row
            swapped.add(number)
    slot_of: dict[int, int] = {}
    for number in numbers:
        if number not in chosen or f"city_{number}" in fields:
            continue
        other = slot_of.get(chosen[number].geonameid)
        if other is None:
            slot_of[chosen[number].geonameid] = number
            continue
        # The message goes to the slot the planner changed, not to the ranking's own choice.
        blame, keep = (other, number) if other in swapped and number not in swapped else (number, other)
        fields[f"city_{blame}"] = _("%(city)s is already in slot %(slot)d.", city=_name(chosen[number]), slot=keep)
        slot_of[chosen[number].geonameid] = keep
    if fields:
        raise DomainError("invalid", " ".join(fields.values()), fields)

    in_proposal = {chosen[number].geonameid for number in numbers}
    spare = [row for row in eligible if row.geonameid not in in_proposal][:SPARE_SHOWN]
    return [
        ProposedMeetup(
            number=number, day=slot_day(start, number), city=chosen[number], swapped=number in swapped,
            choices=[chosen[number], *spare],
            existing=existing.get((chosen[number].geonameid, slot_day(start, number))),
        )
        for number in numbers
    ]


def accept_schedule(parameters: RankingParameters, start: date, cities: list[int],
                    today: date | None = None) -> AcceptedSchedule:
    """Create the schedule the planner saw (`cities`: slot 1's geonameid first) as drafts through
    the meetup service, in one transaction: every slot or none. A slot whose city already has a
    meetup that day keeps it, so accepting the same schedule twice (a double submit, two planners
    at once) creates nothing more."""
    if not cities:
        raise DomainError("invalid", _("Choose at least one city."), {"count": _("Choose at least one city.")})
    ranking = rank_cities(parameters, today)
    slots = propose_schedule(ranking, start, len(cities), dict(enumerate(cities, start=1)))
    try:
        # Under the lock, what is already scheduled is read afresh: a concurrent accept of the
        # same cities has committed (and is found) or waits for this one.
        _lock_cities([slot.city.geonameid for slot in slots])
        existing = _scheduled([(slot.city.geonameid, slot.day) for slot in slots])
        meetups, created = [], []
        for slot in slots:
            meetup = existing.get((slot.city.geonameid, slot.day))
            if meetup is None:
                meetup = create_meetup(_draft(slot), commit=False)
                created.append(meetup)
            meetups.append(meetup)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return AcceptedSchedule(meetups, created)


def _draft(slot: ProposedMeetup) -> MeetupDetails:
    """Local time in the city; the title is the meetup service's default."""
    return MeetupDetails(
        city=slot.city.name, city_geonameid=slot.city.geonameid, capacity=CAPACITY,
        starts_at=datetime.combine(slot.day, STARTS_AT), ends_at=datetime.combine(slot.day, ENDS_AT),
    )


def _name(row: RankingRow) -> str:
    return local_name(row, str(get_locale() or "en"))


def _check_dates(start: date | None, count: int | None, today: date) -> None:
    fields = {}
    if not isinstance(count, int) or not 1 <= count <= MAX_SLOTS:
        fields["count"] = _("Propose from 1 to %(most)d meetups.", most=MAX_SLOTS)
    if not isinstance(start, date):
        fields["start"] = _("Give the first meetup's date.")
    elif start < today:
        fields["start"] = _("The first meetup cannot be in the past.")
    elif start > today + timedelta(weeks=MAX_WEEKS_AHEAD):
        fields["start"] = _("Start within two years.")
    if fields:
        raise DomainError("invalid", " ".join(fields.values()), fields)


def _scheduled(places: list[tuple[int, date]]) -> dict[tuple[int, date], Meetup]:
    """Meetups (not cancelled) in exactly these cities (geonameid) on these local days."""
    wanted = set(places)
    if not wanted:
        return {}
    days = [day for _city, day in wanted]
    # A day around the range covers every time zone; the local day is compared below.
    meetups = db.session.scalars(
        select(Meetup).options(joinedload(Meetup.city))
        .where(Meetup.city_geonameid.in_({city for city, _day in wanted}),
               Meetup.status != MeetupStatus.CANCELLED.value,
               Meetup.starts_at >= datetime.combine(min(days) - timedelta(days=1), time()),
               Meetup.starts_at < datetime.combine(max(days) + timedelta(days=2), time()))
        .order_by(Meetup.starts_at, Meetup.id)
    )
    found: dict[tuple[int, date], Meetup] = {}
    for meetup in meetups:
        key = (meetup.city_geonameid, meetup.local_starts_at.date())
        if key in wanted:
            found.setdefault(key, meetup)
    return found


def _lock_cities(geonameids: list[int]) -> None:
    """Begin the write transaction by locking the cities' rows (as events.locks does for a meetup)."""
    lock_rows(select(City.geonameid).where(City.geonameid.in_(sorted(set(geonameids))))
              .order_by(City.geonameid).with_for_update())

