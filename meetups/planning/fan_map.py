"""Where the fans are, for the planner dashboard's map: candidate host cities as circles (area in
proportion to fans, colour by fans per 100 000 people) on China drawn from the gazetteer's own
coordinates. Plain geometry for an inline SVG: no map tiles or scripts, since a venue's network
may be down."""
import math
from dataclasses import dataclass

from sqlalchemy import select

from ..cities.models import City
from ..extensions import db
from .ranking import Ranking, RankingRow

# Mainland China, Hainan and Taiwan, with a margin (degrees).
WEST, EAST, SOUTH, NORTH = 73.0, 135.5, 17.5, 54.0
WIDTH = 800.0
# Longitude degrees shrink with latitude: at China's middle (about 36°N) one is 0.81 of one of latitude.
_X_SCALE = math.cos(math.radians(36))
_UNIT = WIDTH / ((EAST - WEST) * _X_SCALE)
HEIGHT = round((NORTH - SOUTH) * _UNIT)
MAX_RADIUS = 30.0
MIN_RADIUS = 2.0  # a city with few fans stays visible (and a candidate with none is a small ring)
# Light to dark as density rises (ColorBrewer OrRd, legible for colour-blind readers).
DENSITY_COLOURS = ("#fdd49e", "#fdbb84", "#fc8d59", "#e34a33", "#b30000")
LABELLED = 5  # the first eligible cities get their name on the map


@dataclass
class MapCity:
    row: RankingRow
    x: float
    y: float
    r: float
    colour: str
    labelled: bool


@dataclass
class DensityClass:
    colour: str
    low: float
    high: float


@dataclass
class SizeExample:
    fans: int
    r: float


@dataclass
class FanMap:
    width: float
    height: float
    cities: list[MapCity]  # largest first, so that small circles are drawn on top
    gazetteer_path: str  # every gazetteer city as a dot: the outline of the country
    graticule: list[tuple[str, float, float, float, float]]  # (label, x1, y1, x2, y2)
    densities: list[DensityClass]
    sizes: list[SizeExample]


def project(lat: float, lon: float) -> tuple[float, float]:
    """Equirectangular, scaled for China's middle latitude: simple, and fine at this size."""
    return round((lon - WEST) * _X_SCALE * _UNIT, 1), round((NORTH - lat) * _UNIT, 1)


def fan_map(ranking: Ranking) -> FanMap:
    rows = ranking.rows
    most_fans = max((row.fans for row in rows), default=0)
    top_density = max((row.density_per_100k for row in rows), default=0.0)
    step = top_density / len(DENSITY_COLOURS) if top_density else 0.0
    labelled = {row.geonameid for row in [row for row in rows if row.eligible][:LABELLED]}
    cities = []
    for row in rows:
        x, y = project(row.latitude, row.longitude)
        cities.append(MapCity(row, x, y, _radius(row.fans, most_fans), _colour(row.density_per_100k, step),
                              row.geonameid in labelled))
    cities.sort(key=lambda city: (-city.r, city.row.rank))
    densities = [DensityClass(colour, number * step, (number + 1) * step)
                 for number, colour in enumerate(DENSITY_COLOURS)] if step else []
    sizes = [SizeExample(fans, _radius(fans, most_fans)) for fans in _round_examples(most_fans)]
    return FanMap(WIDTH, HEIGHT, cities, _gazetteer_path(), _graticule(), densities, sizes)


def _radius(fans: int, most_fans: int) -> float:
    if fans <= 0 or most_fans <= 0:
        return MIN_RADIUS
    return round(max(MIN_RADIUS, MAX_RADIUS * math.sqrt(fans / most_fans)), 1)


def _colour(density: float, step: float) -> str:
    if not step:
        return DENSITY_COLOURS[0]
    return DENSITY_COLOURS[min(len(DENSITY_COLOURS) - 1, int(density / step))]


def _round_examples(most_fans: int) -> list[int]:
    """Two or three round numbers of fans for the size legend, the largest near the maximum."""
    if most_fans <= 0:
        return []
    magnitude = 10 ** int(math.log10(most_fans))
    largest = max(1, (most_fans // magnitude) * magnitude)
    return sorted({value for value in (largest, largest // 4, largest // 16) if value >= 1})


def _gazetteer_path() -> str:
    """One path of zero-length round-capped strokes: a dot per gazetteer city in the frame, a few
    kilobytes for two thousand cities."""
    points = db.session.execute(select(City.latitude, City.longitude).where(
        City.latitude.between(SOUTH, NORTH), City.longitude.between(WEST, EAST))).all()
    return "".join("M{:g} {:g}h0".format(*project(lat, lon)) for lat, lon in points)


def _graticule() -> list[tuple[str, float, float, float, float]]:
    lines = []
    for lon in range(80, 136, 10):
        x, _y = project(SOUTH, lon)
        lines.append((f"{lon}°E", x, 0.0, x, float(HEIGHT)))
    for lat in range(20, 55, 10):
        _x, y = project(lat, WEST)
        lines.append((f"{lat}°N", 0.0, y, WIDTH, y))
    return lines
