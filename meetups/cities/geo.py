"""Distances on the Earth, and the one index that finds the nearest city to a point."""
import math
from collections import defaultdict
from collections.abc import Iterable

from geographiclib.geodesic import Geodesic
from sqlalchemy import select

from ..extensions import db
from .models import City

# A point exactly at a distance is within it: distances are compared to the millimetre, so that
# the last bits of floating point do not decide.
DISTANCE_TOLERANCE_KM = 1e-6
EARTH_RADIUS_KM = 6371.0088  # the mean radius: the sphere the index prefilters on
# The sphere and the WGS-84 ellipsoid differ by well under 1 % (0.56 % at most; two distances from
# one point, by under 0.7 % from each other), so a city more than 1 % (and half a kilometre, for
# floating point and tiny distances) farther on the sphere cannot be the nearer on the ellipsoid.
_SPHERE_MARGIN = 1.01
_SPHERE_SLACK_KM = 0.5


def geodesic_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Distance on the WGS-84 ellipsoid (what geopy's `geodesic` computes, without its overhead)."""
    if lat1 == lat2 and lon1 == lon2:
        return 0.0
    return Geodesic.WGS84.Inverse(lat1, lon1, lat2, lon2, Geodesic.DISTANCE)["s12"] / 1000


class NearestCityIndex:
    """Cities in cells of whole degrees, searched ring by ring outward from a point's cell, as far
    as a city might still be the nearest (across the antimeridian and over the poles too).
    Candidates are compared on the sphere (by the straight line through it: cheap); those the
    sphere cannot rule out are measured on the WGS-84 ellipsoid, which decides; every distance
    reported is geodesic.

    The order in which cities are added settles ties: at equal distance (to the millimetre) the
    earlier city wins. Cities may be added between queries.
    """

    def __init__(self, cities: Iterable[tuple[int, float, float]] = ()) -> None:
        # cell → (order, geonameid, lat, lon, x, y, z) of its cities, x y z in space (km)
        self._cells: dict[tuple[int, int], list[tuple]] = defaultdict(list)
        self._added = 0
        for geonameid, lat, lon in cities:
            self.add(geonameid, lat, lon)

    @classmethod
    def from_database(cls) -> "NearestCityIndex":
        """The whole gazetteer; at equal distance the lower geonameid wins."""
        return cls(db.session.execute(select(City.geonameid, City.latitude, City.longitude).order_by(City.geonameid)))

    def add(self, geonameid: int, lat: float, lon: float) -> None:
        """Add a city after every city already added (it loses ties to them)."""
        self._cells[_cell(lat, lon)].append((self._added, geonameid, lat, lon, *_point(lat, lon)))
        self._added += 1

    def nearest(self, lat: float, lon: float, max_km: float | None = None) -> tuple[int, float] | None:
        """(geonameid, geodesic km) of the nearest city within max_km (any distance when None),
        or None."""
        return _measure(lat, lon, self._close_calls(lat, lon, max_km), max_km)

    def nearest_id(self, lat: float, lon: float, max_km: float | None = None) -> int | None:
        """The city `nearest` finds, measuring on the ellipsoid only when the sphere leaves the
        answer in doubt (a near tie, or a distance close to max_km)."""
        close = self._close_calls(lat, lon, max_km)
        if len(close) == 1 and (max_km is None or close[0][0] * _SPHERE_MARGIN < max_km):
            return close[0][1][1]
        found = _measure(lat, lon, close, max_km)
        return found[0] if found else None

    def first_within(self, lat: float, lon: float, km: float) -> int | None:
        """The geonameid of the earliest city added within km, or None."""
        near = self._on_sphere(lat, lon, _reach(km), shrink=False)
        for _sphere, (_order, geonameid, c_lat, c_lon, *_xyz) in sorted(near, key=lambda entry: entry[1][0]):
            if geodesic_km(lat, lon, c_lat, c_lon) <= km + DISTANCE_TOLERANCE_KM:
                return geonameid
        return None

    def _close_calls(self, lat: float, lon: float, max_km: float | None) -> list[tuple[float, tuple]]:
        return self._on_sphere(lat, lon, math.inf if max_km is None else _reach(max_km), shrink=True)

    def _on_sphere(self, lat: float, lon: float, reach_km: float, shrink: bool) -> list[tuple[float, tuple]]:
        """(sphere km, city) of the cities within reach_km on the sphere; with `shrink`, only those
        the sphere cannot rule out as the nearest."""
        cells = self._cells
        if not cells:
            return []
        x, y, z = _point(lat, lon)
        home_lat, home_lon = _cell(lat, lon)
        lat_part, lon_part = lat - math.floor(lat), lon - math.floor(lon)
        cos_lat = math.cos(math.radians(lat))
        limit_km, limit = reach_km, _squared_chord(reach_km)
        lat_reach, lon_reach = _degrees_within(limit_km, cos_lat)
        best = math.inf
        found = []
        for ring in range(0, 181):
            # The cells of the ring that come within reach: rows and columns near enough.
            rows = [step for step in range(max(-ring, -90 - home_lat), min(ring, 90 - home_lat) + 1)
                    if _gap(step, lat_part) <= lat_reach]
            columns = [step for step in range(-ring, ring + 1) if _gap(step, lon_part) <= lon_reach]
            edges = [step for step in columns if abs(step) == ring]
            if not edges and rows[0] != -ring and rows[-1] != ring:
                break  # nothing in this ring is within reach, nor in any beyond it
            # Once a ring has more cells than the index holds, the cells left are fewer: take them all.
            rest = 8 * ring > len(cells) or ring == 180
            if rest:
                ring_cells = [cities for (c_lat, c_lon), cities in cells.items()
                              if max(abs(c_lat - home_lat), abs(_wrap(c_lon - home_lon))) >= ring]
            else:
                ring_cells = [cells.get((home_lat + row, _wrap(home_lon + column)), ())
                              for row in rows for column in (columns if abs(row) == ring else edges)]
            for cities in ring_cells:
                for city in cities:
                    d_x, d_y, d_z = city[4] - x, city[5] - y, city[6] - z
                    squared = d_x * d_x + d_y * d_y + d_z * d_z
                    if squared <= limit:
                        found.append((squared, city))
                        if shrink and squared < best:
                            best = squared
                            limit_km = min(limit_km, _reach(_sphere_km(squared)))
                            limit = _squared_chord(limit_km)
                            lat_reach, lon_reach = _degrees_within(limit_km, cos_lat)
            if rest:
                break
        return [(_sphere_km(squared), city) for squared, city in found if squared <= limit]


def _measure(lat: float, lon: float, close: list[tuple[float, tuple]],
             max_km: float | None) -> tuple[int, float] | None:
    """The ellipsoid decides among the close calls: the nearest within max_km, the earlier city
    when two are as near."""
    limit = math.inf if max_km is None else max_km + DISTANCE_TOLERANCE_KM
    measured = []
    for _sphere, (order, geonameid, c_lat, c_lon, *_xyz) in close:
        km = geodesic_km(lat, lon, c_lat, c_lon)
        if km <= limit:
            measured.append((km, order, geonameid))
    if not measured:
        return None
    best = min(km for km, _order, _geonameid in measured)
    km, _order, geonameid = min((entry for entry in measured if entry[0] <= best + DISTANCE_TOLERANCE_KM),
                                key=lambda entry: entry[1])
    return geonameid, km


def _cell(lat: float, lon: float) -> tuple[int, int]:
    return math.floor(lat), _wrap(math.floor(lon))


def _wrap(cell_lon: int) -> int:
    return (cell_lon + 180) % 360 - 180


def _point(lat: float, lon: float) -> tuple[float, float, float]:
    """Where the point is in space, in km from the centre of the sphere."""
    r_lat, r_lon = math.radians(lat), math.radians(lon)
    across = EARTH_RADIUS_KM * math.cos(r_lat)
    return across * math.cos(r_lon), across * math.sin(r_lon), EARTH_RADIUS_KM * math.sin(r_lat)


def _reach(km: float) -> float:
    """How far on the sphere a point within km on the ellipsoid may be."""
    return km * _SPHERE_MARGIN + _SPHERE_SLACK_KM


def _squared_chord(sphere_km: float) -> float:
    """The square of the straight line between two points this far apart on the sphere
    (infinite from the antipode on: then every point is within reach)."""
    if sphere_km >= math.pi * EARTH_RADIUS_KM:
        return math.inf
    return (2 * EARTH_RADIUS_KM * math.sin(sphere_km / (2 * EARTH_RADIUS_KM))) ** 2


def _sphere_km(squared_chord: float) -> float:
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(squared_chord) / (2 * EARTH_RADIUS_KM)))


def _gap(step: int, part: float) -> float:
    """Degrees from a point `part` of the way across its cell to the cell `step` cells on."""
    if step > 0:
        return step - part
    return -step - 1 + part if step < 0 else 0.0


def _degrees_within(sphere_km: float, cos_lat: float) -> tuple[float, float]:
    """How many degrees of latitude, and of longitude, a point at latitude acos(cos_lat) may be
    from a place within sphere_km (all of them when its meridian distance allows it: the poles)."""
    angle = sphere_km / EARTH_RADIUS_KM
    if angle >= math.pi / 2:
        return 180.0, 180.0
    # The nearest point of a meridian `d` degrees of longitude away is asin(cos_lat · sin d) away.
    reach = math.sin(angle)
    return math.degrees(angle), math.degrees(math.asin(reach / cos_lat)) if reach < cos_lat else 180.0
