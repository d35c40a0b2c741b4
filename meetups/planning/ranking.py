"""Which city next: fans per candidate host city, as the README defines it ("Choosing the next city: the ranking").

The expensive part is geometry: which candidate host serves each gazetteer city. It depends only
on the gazetteer and three parameters (radius, minimum population, merge distance), so it is
computed once per parameter set (with the gazetteer's nearest-city index: the sphere prefilters,
the ellipsoid decides) and kept in memory. `store_host_geometry` (the `cities hosts` command, run
after `cities load`; the demo runs it too) stores it in `host_assignments`, so that every server
process and a restart read it back instead of measuring again; reading a ranking never writes. It
is recomputed when the gazetteer changes (its fingerprint, one aggregate query, is part of the key).

Fans are never counted here: `city_fan_counts` (fans.counts) holds fans per home city, kept up to
date by the import and by every change to a fan. A warm ranking therefore reads O(cities) rows.
"""
import hashlib
import threading
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta

from flask_babel import gettext as _
from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import IntegrityError

from ..checkin.models import CheckIn
from ..cities.geo import NearestCityIndex
from ..cities.models import City
from ..city_requests.services import confirmed_requests_by_city
from ..events.models import Meetup, MeetupStatus
from ..extensions import db
from ..fans.counts import fans_by_city, fans_without_city
from ..registration.models import Registration, RegistrationStatus
from ..shared.timeutil import utcnow
from ..shared.validation import Fields
from .models import HostAssignment, HostAssignmentSet

MAX_SETS_KEPT = 50
UNSERVED_SHOWN = 10


@dataclass(frozen=True)
class RankingParameters:
    radius_km: float = 100.0
    min_population: int = 1_000_000
    merge_km: float = 30.0
    min_fans: int = 150
    cooldown_weeks: int = 8
    by: str = "density"
    top: int = 20  # 0: every candidate

    LIMITS = {"radius_km": (1, 3000), "min_population": (0, 100_000_000), "merge_km": (0, 500),
              "min_fans": (0, 100_000_000), "cooldown_weeks": (0, 104), "top": (0, 100_000)}

    @property
    def geometry_key(self) -> str:
        """What the host assignment depends on (besides the gazetteer)."""
        return f"radius={self.radius_km:g};min_population={self.min_population};merge={self.merge_km:g}"

    def as_dict(self) -> dict:
        return {"radius_km": self.radius_km, "min_population": self.min_population, "merge_km": self.merge_km,
                "min_fans": self.min_fans, "cooldown_weeks": self.cooldown_weeks, "by": self.by, "top": self.top}


def parameters_from(values: dict) -> RankingParameters:
    """Parameters from text (query string, form, the command line's options), checked; unknown
    keys are ignored, missing or empty ones take the defaults. Raises DomainError `invalid` naming
    each bad field."""
    defaults = RankingParameters()
    fields, chosen = Fields(), {}
    for name, (least, most) in RankingParameters.LIMITS.items():
        number = fields.number(name, values.get(name), float if name in ("radius_km", "merge_km") else int,
                               least, most, required=False,
                               message=_("Give a number from %(least)s to %(most)s.", least=f"{least:,}",
                                         most=f"{most:,}"))
        if number is not None:
            chosen[name] = number
    by = fields.choice("by", values.get("by") or defaults.by, ("density", "fans"),
                       message=_("Order by density or by fans."))
    fields.done()
    return RankingParameters(**chosen, by=by)


@dataclass
class RankingRow:
    geonameid: int
    name: str
    name_zh: str | None
    province: str | None
    province_zh: str | None
    latitude: float
    longitude: float
    population: int
    fans: int = 0
    density_per_100k: float = 0.0
    eligible: bool = False
    reason: str | None = None  # too_few_fans, cooldown
    reason_text: str | None = None
    last_meetup_on: date | None = None
    next_meetup_on: date | None = None
    rank: int = 0
    # Signals beside the ranking (they do not change its order).
    requests: int = 0  # fans who asked for a meetup here (confirmed requests)
    past_meetups: int = 0
    waitlist_overflow: int = 0  # fans left on the waiting lists of meetups held here
    show_up_rate: float | None = None  # checked in / confirmed at past meetups (once check-in exists)
    districts: list[str] = field(default_factory=list)  # merged into this city

    def as_json(self) -> dict:
        data = asdict(self)
        data["density_per_100k"] = round(self.density_per_100k, 3)
        for key in ("last_meetup_on", "next_meetup_on"):
            data[key] = data[key].isoformat() if data[key] else None
        return data


@dataclass
class UnservedCity:
    geonameid: int
    name: str
    name_zh: str | None
    province: str | None
    latitude: float
    longitude: float
    fans: int
    nearest_candidate: str | None
    nearest_candidate_geonameid: int | None
    nearest_km: float | None

    def as_json(self) -> dict:
        data = asdict(self)
        data["nearest_km"] = round(self.nearest_km, 1) if self.nearest_km is not None else None
        return data


@dataclass
class Ranking:
    parameters: RankingParameters
    today: date
    rows: list[RankingRow]  # every candidate, in order (the top N: `shown`)
    unserved_fans: int
    unserved_cities: list[UnservedCity]  # where the unserved fans live, most first
    fans_without_city: int
    candidates: int

    @property
    def shown(self) -> list[RankingRow]:
        return self.rows[: self.parameters.top] if self.parameters.top else self.rows

    def as_json(self) -> dict:
        return {
            "parameters": self.parameters.as_dict(),
            "today": self.today.isoformat(),
            "candidates": self.candidates,
            "unserved_fans": self.unserved_fans,
            "unserved_cities": [city.as_json() for city in self.unserved_cities],
            "fans_without_city": self.fans_without_city,
            "rows": [row.as_json() for row in self.shown],
        }


# --- the geometry: which candidate serves which city ----------------------------------------

@dataclass
class Geometry:
    """Candidate hosts in order, and for every gazetteer city its host (or none)."""

    candidates: list[int]
    merged_into: dict[int, int]
    host: dict[int, int | None]
    distance_km: dict[int, float | None]
    _candidates_near: tuple[NearestCityIndex, dict[int, str]] | None = None
    _beyond: dict[int, tuple] = field(default_factory=dict)

    def nearest_candidate(self, geonameid: int, lat: float, lon: float) -> tuple[int | None, str | None, float | None]:
        """For a city no candidate serves: the nearest candidate at any distance, the more populous
        at equal distance (remembered)."""
        if geonameid not in self._beyond:
            if self._candidates_near is None:
                places = {place.geonameid: place for place in db.session.execute(
                    select(City.geonameid, City.name, City.latitude, City.longitude)
                    .where(City.geonameid.in_(self.candidates)))}
                index = NearestCityIndex((geonameid, places[geonameid].latitude, places[geonameid].longitude)
                                         for geonameid in self.candidates if geonameid in places)
                self._candidates_near = (index, {geonameid: place.name for geonameid, place in places.items()})
            index, names = self._candidates_near
            found = index.nearest(lat, lon)
            self._beyond[geonameid] = (found[0], names[found[0]], found[1]) if found else (None, None, None)
        return self._beyond[geonameid]


_memory: dict[tuple[str, str], Geometry] = {}
_memory_lock = threading.Lock()


def host_geometry(parameters: RankingParameters) -> Geometry:
    """From memory, else from the stored set, else computed and kept in memory (not stored: a
    ranking is read by GET requests, which change nothing; `store_host_geometry` stores it)."""
    fingerprint = gazetteer_fingerprint()
    key = (parameters.geometry_key, fingerprint)
    found = _memory.get(key)
    if found is None:
        found = _stored_geometry(parameters.geometry_key, fingerprint) or compute_geometry(parameters)
        _remember(key, found)
    return found


def store_host_geometry(parameters: RankingParameters | None = None) -> bool:
    """Store the host assignment for these parameters (the defaults when None) unless the stored
    one is current, so that every process and a restart read it back instead of measuring; True
    when it was stored now. In a transaction of its own (the `cities hosts` command, the demo)."""
    parameters = parameters or RankingParameters()
    fingerprint = gazetteer_fingerprint()
    if db.session.scalar(select(HostAssignmentSet.id).where(
            HostAssignmentSet.parameters_key == parameters.geometry_key,
            HostAssignmentSet.gazetteer_fingerprint == fingerprint)) is not None:
        db.session.rollback()
        return False
    geometry = _memory.get((parameters.geometry_key, fingerprint)) or compute_geometry(parameters)
    _store_geometry(parameters.geometry_key, fingerprint, geometry)
    _remember((parameters.geometry_key, fingerprint), geometry)
    return True


def _remember(key: tuple[str, str], geometry: Geometry) -> None:
    with _memory_lock:
        if len(_memory) >= MAX_SETS_KEPT:
            _memory.clear()
        _memory[key] = geometry


def gazetteer_fingerprint() -> str:
    """Changes whenever a city is added, removed, moved or its population changes (one aggregate)."""
    row = db.session.execute(select(
        func.count(), func.coalesce(func.sum(City.geonameid), 0), func.coalesce(func.sum(City.population), 0),
        func.coalesce(func.sum(City.latitude * City.geonameid), 0),
        func.coalesce(func.sum(City.longitude * City.geonameid), 0),
    )).one()
    text = f"{row[0]}:{row[1]}:{row[2]}:{float(row[3]):.6f}:{float(row[4]):.6f}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def compute_geometry(parameters: RankingParameters) -> Geometry:
    cities = db.session.execute(
        select(City.geonameid, City.latitude, City.longitude, City.population)
    ).all()
    by_population = sorted(cities, key=lambda city: (-city.population, city.geonameid))
    candidates: list[int] = []
    merged_into: dict[int, int] = {}
    # The candidates, added as they are taken: a district joins the first (most populous) within
    # merge_km, and at equal distance a city goes to the more populous candidate.
    hosts = NearestCityIndex()
    for city in by_population:
        if city.population < parameters.min_population:
            break
        parent = hosts.first_within(city.latitude, city.longitude, parameters.merge_km)
        if parent is not None:
            merged_into[city.geonameid] = parent
        else:
            candidates.append(city.geonameid)
            hosts.add(city.geonameid, city.latitude, city.longitude)

    host: dict[int, int | None] = {}
    distance: dict[int, float | None] = {}
    for city in cities:
        found = hosts.nearest(city.latitude, city.longitude, parameters.radius_km)
        host[city.geonameid], distance[city.geonameid] = found if found is not None else (None, None)
    return Geometry(candidates, merged_into, host, distance)


def _stored_geometry(key: str, fingerprint: str) -> Geometry | None:
    stored = db.session.scalar(select(HostAssignmentSet).where(HostAssignmentSet.parameters_key == key))
    if stored is None or stored.gazetteer_fingerprint != fingerprint:
        return None
    rows = db.session.execute(
        select(HostAssignment.city_geonameid, HostAssignment.is_candidate, HostAssignment.merged_into,
               HostAssignment.host_geonameid, HostAssignment.distance_km)
        .where(HostAssignment.set_id == stored.id)
    ).all()
    candidates = [row.city_geonameid for row in rows if row.is_candidate]
    populations = dict(db.session.execute(
        select(City.geonameid, City.population).where(City.geonameid.in_(candidates))).all())
    candidates.sort(key=lambda geonameid: (-populations.get(geonameid, 0), geonameid))
    return Geometry(
        candidates,
        {row.city_geonameid: row.merged_into for row in rows if row.merged_into is not None},
        {row.city_geonameid: row.host_geonameid for row in rows},
        {row.city_geonameid: row.distance_km for row in rows},
    )


def _store_geometry(key: str, fingerprint: str, geometry: Geometry) -> None:
    """In a transaction of its own; a second process storing the same set at once is harmless."""
    candidates = set(geometry.candidates)
    try:
        db.session.execute(delete(HostAssignmentSet).where(
            (HostAssignmentSet.parameters_key == key) | (HostAssignmentSet.gazetteer_fingerprint != fingerprint)))
        stale = db.session.scalars(select(HostAssignmentSet.id).order_by(HostAssignmentSet.created_at.desc())
                                   .offset(MAX_SETS_KEPT - 1)).all()
        if stale:
            db.session.execute(delete(HostAssignmentSet).where(HostAssignmentSet.id.in_(stale)))
        stored = HostAssignmentSet(parameters_key=key, gazetteer_fingerprint=fingerprint)
        db.session.add(stored)
        db.session.flush()
        db.session.execute(insert(HostAssignment), [
            {"set_id": stored.id, "city_geonameid": geonameid, "is_candidate": geonameid in candidates,
             "merged_into": geometry.merged_into.get(geonameid), "host_geonameid": host,
             "distance_km": geometry.distance_km.get(geonameid)}
            for geonameid, host in geometry.host.items()
        ])
        db.session.commit()
    except IntegrityError:
        db.session.rollback()


# --- the ranking ----------------------------------------------------------------------------

def rank_cities(parameters: RankingParameters | None = None, today: date | None = None) -> Ranking:
    """The ranking (README, "Choosing the next city"), with its signals; the one service behind `cities rank`, the
    API and the planner dashboard."""
    parameters = parameters or RankingParameters()
    today = today or utcnow().date()
    geometry = host_geometry(parameters)
    fans_at = fans_by_city()
    served: dict[int, int] = defaultdict(int)
    unserved: dict[int, int] = {}
    for city_id, fans in fans_at.items():
        host = geometry.host.get(city_id)
        if host is not None:
            served[host] += fans
        else:
            unserved[city_id] = fans

    most_unserved = sorted(unserved.items(), key=lambda item: (-item[1], item[0]))[:UNSERVED_SHOWN]
    cities = {city.geonameid: city for city in db.session.execute(
        select(City.geonameid, City.name, City.name_zh, City.province, City.province_zh, City.latitude,
               City.longitude, City.population)
        .where(City.geonameid.in_(geometry.candidates + [geonameid for geonameid, _fans in most_unserved])))}
    rows = []
    for geonameid in geometry.candidates:
        city = cities[geonameid]
        fans = served.get(geonameid, 0)
        rows.append(RankingRow(
            geonameid=geonameid, name=city.name, name_zh=city.name_zh, province=city.province,
            province_zh=city.province_zh, latitude=city.latitude, longitude=city.longitude,
            population=city.population, fans=fans,
            density_per_100k=fans / city.population * 100_000 if city.population else 0.0,
        ))
    by_id = {row.geonameid: row for row in rows}
    if geometry.merged_into:
        for geonameid, name in db.session.execute(select(City.geonameid, City.name).where(
                City.geonameid.in_(geometry.merged_into)).order_by(City.population.desc(), City.geonameid)):
            by_id[geometry.merged_into[geonameid]].districts.append(name)
    _add_meetups(by_id, geometry, today, parameters)
    _add_requests(by_id, geometry)
    for row in rows:
        _judge(row, parameters, today)
    key = (lambda row: row.fans) if parameters.by == "fans" else (lambda row: row.density_per_100k)
    rows.sort(key=lambda row: (not row.eligible, -key(row), -row.fans, row.name))
    for number, row in enumerate(rows, start=1):
        row.rank = number
    return Ranking(
        parameters=parameters, today=today, rows=rows,
        unserved_fans=sum(unserved.values()),
        unserved_cities=_unserved_cities(most_unserved, cities, geometry),
        fans_without_city=fans_without_city(), candidates=len(rows),
    )


def _judge(row: RankingRow, parameters: RankingParameters, today: date) -> None:
    cooldown = timedelta(weeks=parameters.cooldown_weeks)
    near = [day for day in (row.last_meetup_on, row.next_meetup_on) if day and abs(day - today) <= cooldown]
    if row.fans < parameters.min_fans:
        row.reason = "too_few_fans"
        row.reason_text = _("%(fans)d fans, fewer than %(least)d", fans=row.fans, least=parameters.min_fans)
    elif near:
        row.reason = "cooldown"
        row.reason_text = _("a meetup on %(day)s, within %(weeks)d weeks of today",
                            day=near[0].isoformat(), weeks=parameters.cooldown_weeks)
    row.eligible = row.reason is None


def _add_meetups(rows: dict[int, RankingRow], geometry: Geometry, today: date, parameters: RankingParameters) -> None:
    """Meetups count for the candidate that serves their city: last and next date, how many were
    held, and how many fans their waiting lists left out."""
    meetups = db.session.execute(
        select(Meetup.id, Meetup.city_geonameid, Meetup.starts_at)
        .where(Meetup.status != MeetupStatus.CANCELLED.value)
    ).all()
    held: list[int] = []
    for meetup in meetups:
        row = rows.get(geometry.host.get(meetup.city_geonameid))
        if row is None:
            continue
        day = meetup.starts_at.date()
        if day < today:
            row.last_meetup_on = max(row.last_meetup_on or day, day)
            row.past_meetups += 1
            held.append(meetup.id)
        elif row.next_meetup_on is None or day < row.next_meetup_on:
            row.next_meetup_on = day
    if not held:
        return
    city_of = {meetup.id: meetup.city_geonameid for meetup in meetups}
    attendance = meetup_attendance(held)
    came: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for meetup_id, numbers in attendance.items():
        row = rows[geometry.host[city_of[meetup_id]]]
        row.waitlist_overflow += numbers.waitlisted
        if numbers.checked_in:  # a meetup without door check-in says nothing about who came
            came[row.geonameid][0] += numbers.checked_in
            came[row.geonameid][1] += numbers.confirmed
    for geonameid, (checked_in, confirmed) in came.items():
        rows[geonameid].show_up_rate = round(checked_in / confirmed, 3) if confirmed else None


@dataclass
class Attendance:
    confirmed: int = 0
    waitlisted: int = 0
    checked_in: int = 0

    @property
    def show_up_rate(self) -> float | None:
        return self.checked_in / self.confirmed if self.checked_in and self.confirmed else None


def meetup_attendance(meetup_ids: list[int]) -> dict[int, Attendance]:
    """Confirmed, still waiting and checked in at the door, per meetup (two grouped queries)."""
    found = {meetup_id: Attendance() for meetup_id in meetup_ids}
    if not found:
        return found
    for meetup_id, status, number in db.session.execute(
            select(Registration.meetup_id, Registration.status, func.count())
            .where(Registration.meetup_id.in_(found),
                   Registration.status.in_((RegistrationStatus.CONFIRMED.value, RegistrationStatus.WAITLISTED.value)))
            .group_by(Registration.meetup_id, Registration.status)):
        setattr(found[meetup_id], status, number)
    for meetup_id, number in db.session.execute(
            select(CheckIn.meetup_id, func.count()).where(CheckIn.meetup_id.in_(found)).group_by(CheckIn.meetup_id)):
        found[meetup_id].checked_in = number
    return found


def _add_requests(rows: dict[int, RankingRow], geometry: Geometry) -> None:
    for city_id, number in confirmed_requests_by_city().items():
        row = rows.get(geometry.host.get(city_id))
        if row is not None:
            row.requests += number


def _unserved_cities(most: list[tuple[int, int]], cities: dict, geometry: Geometry) -> list[UnservedCity]:
    """The home cities with the most unserved fans, and how far their nearest candidate is."""
    found = []
    for geonameid, fans in most:
        city = cities[geonameid]
        nearest_id, nearest, km = geometry.nearest_candidate(city.geonameid, city.latitude, city.longitude)
        found.append(UnservedCity(geonameid, city.name, city.name_zh, city.province, city.latitude, city.longitude,
                                  fans, nearest, nearest_id, km))
    return found


def forget_cached_geometry() -> None:
    """Drop what this process holds in memory (tests; the stored sets stay)."""
    with _memory_lock:
        _memory.clear()


def city_history(geonameid: int, parameters: RankingParameters | None = None) -> list[Meetup]:
    """Meetups that count for a candidate city (those in the cities it serves), newest first."""
    geometry = host_geometry(parameters or RankingParameters())
    served = [city_id for city_id, host in geometry.host.items() if host == geonameid]
    return list(db.session.scalars(
        select(Meetup).where(Meetup.city_geonameid.in_(served)).order_by(Meetup.starts_at.desc())))
