"""The city ranking (README, "Choosing the next city: the ranking") on a small constructed
gazetteer and fan set whose answers are worked out by hand; the CLI and the API agree; fans per
city are kept up to date; the expensive geometry is stored and invalidated."""
import io
import json
from datetime import datetime, time, timedelta

import pytest
from geographiclib.geodesic import Geodesic
from sqlalchemy import func, select

from meetups.accounts.services import issue_token
from meetups.checkin.models import CheckIn
from meetups.cities.geo import geodesic_km
from meetups.errors import DomainError
from meetups.events.models import Meetup
from meetups.extensions import db
from meetups.fans.models import CityFanCount, Fan
from meetups.fans.services import import_fans
from meetups.planning import ranking as ranking_module
from meetups.planning.models import HostAssignmentSet
from meetups.planning.ranking import (
    RankingParameters,
    forget_cached_geometry,
    parameters_from,
    rank_cities,
    store_host_geometry,
)
from meetups.registration.models import Registration
from meetups.registration.seats import recount
from meetups.shared.timeutil import utcnow


def _at(origin, azimuth: float, km: float) -> tuple[float, float]:
    """The point `km` from the city along `azimuth` on the WGS-84 ellipsoid."""
    found = Geodesic.WGS84.Direct(origin.latitude, origin.longitude, azimuth, km * 1000)
    return found["lat2"], found["lon2"]


def _fans(city, number: int, prefix: str | None = None) -> None:
    prefix = prefix or f"c{city.geonameid}"
    db.session.add_all(Fan(handle=f"{prefix}-{n}", email=f"{prefix}-{n}@example.com", city_geonameid=city.geonameid)
                       for n in range(number))
    db.session.commit()


def _meetup(city, weeks_from_today: float, status: str = "published") -> Meetup:
    day = utcnow().date() + timedelta(weeks=weeks_from_today)
    meetup = Meetup(city=city, title="Earlier meetup", capacity=40, status=status,
                    starts_at=datetime.combine(day, time(11, 0)))
    db.session.add(meetup)
    db.session.commit()
    return meetup


@pytest.fixture
def world(app, make_city):
    """Alphaville (5 M) with a suburb 20 km away; Betatown (1.5 M) 166 km north; towns exactly at the
    radius, exactly halfway between the two, and far beyond both."""
    forget_cached_geometry()
    alpha = make_city("Alphaville", 30.0, 104.0, 5_000_000, name_zh="阿尔法", province="West")
    beta = make_city("Betatown", 31.5, 104.0, 1_500_000, name_zh="贝塔", province="West")
    suburb = make_city("Suburbia", *_at(alpha, 90, 20), 2_000_000)  # a more populous candidate is 20 km away
    rim = make_city("Rimtown", *_at(alpha, 270, 100), 500_000)  # exactly at the 100 km radius
    half = geodesic_km(alpha.latitude, alpha.longitude, beta.latitude, beta.longitude) / 2
    middle = make_city("Midway", *_at(alpha, 0, half), 200_000)  # as far from Alphaville as from Betatown
    far = make_city("Farland", 25.0, 104.0, 300_000, name_zh="远方")  # 550 km from Alphaville
    _fans(alpha, 400)
    _fans(suburb, 50)
    _fans(rim, 30)
    _fans(middle, 10)
    _fans(beta, 200)
    _fans(far, 70)
    db.session.add_all(Fan(handle=f"nowhere-{n}", email=f"nowhere-{n}@example.com") for n in range(5))
    db.session.commit()
    return {"alpha": alpha, "beta": beta, "suburb": suburb, "rim": rim, "middle": middle, "far": far}


def _rows(ranking) -> dict[str, object]:
    return {row.name: row for row in ranking.rows}


def test_fans_go_to_the_nearest_candidate_within_the_radius(world):
    ranking = rank_cities(RankingParameters(min_fans=150))
    rows = _rows(ranking)
    # Suburbia is part of Alphaville (within 30 km of a more populous candidate): not a candidate.
    assert list(rows) == ["Betatown", "Alphaville"]
    # 400 own + 50 suburb + 30 exactly at the radius + 10 halfway (the more populous wins the tie).
    assert rows["Alphaville"].fans == 490
    assert rows["Alphaville"].population == 5_000_000  # the suburb's population is not added
    assert rows["Alphaville"].density_per_100k == pytest.approx(9.8)
    assert rows["Betatown"].fans == 200
    assert rows["Betatown"].density_per_100k == pytest.approx(200 / 15)
    assert ranking.unserved_fans == 70
    assert [(c.name, c.fans, c.nearest_candidate) for c in ranking.unserved_cities] == [("Farland", 70, "Alphaville")]
    assert ranking.unserved_cities[0].nearest_km == pytest.approx(554, abs=2)
    assert ranking.fans_without_city == 5
    # Every fan counts once: assigned + unserved + without a city = all fans.
    assert sum(row.fans for row in ranking.rows) + ranking.unserved_fans + ranking.fans_without_city == 765


def test_a_fan_just_beyond_the_radius_is_unserved(world):
    rows = _rows(rank_cities(RankingParameters(radius_km=99.99, min_fans=0)))
    assert rows["Alphaville"].fans == 460  # Rimtown's 30 fans are 100 km away


def test_order_by_density_or_by_fans_with_eligible_first(world):
    by_density = rank_cities(RankingParameters(min_fans=150))
    assert [(row.rank, row.name) for row in by_density.rows] == [(1, "Betatown"), (2, "Alphaville")]
    by_fans = rank_cities(RankingParameters(min_fans=150, by="fans"))
    assert [row.name for row in by_fans.rows] == ["Alphaville", "Betatown"]
    # Betatown is densest, but with 300 minimum fans it is not eligible and goes below Alphaville.
    strict = rank_cities(RankingParameters(min_fans=300))
    assert [(row.name, row.eligible, row.reason) for row in strict.rows] == [
        ("Alphaville", True, None), ("Betatown", False, "too_few_fans")]
    assert "200" in strict.rows[1].reason_text and "300" in strict.rows[1].reason_text


def test_ties_go_to_more_fans_then_to_the_english_name(app, make_city):
    forget_cached_geometry()
    # Same density (10 per 100 k); Zeta and Yota have more fans than Eta; Yota before Zeta by name.
    zeta = make_city("Zeta", 40.0, 100.0, 2_000_000)
    yota = make_city("Yota", 45.0, 100.0, 2_000_000)
    eta = make_city("Eta", 35.0, 100.0, 1_000_000)
    _fans(zeta, 200)
    _fans(yota, 200)
    _fans(eta, 100)
    ranking = rank_cities(RankingParameters(min_fans=0))
    assert [row.name for row in ranking.rows] == ["Yota", "Zeta", "Eta"]


def test_a_meetup_within_the_cooldown_before_or_after_today_makes_a_city_wait(world):
    alpha, beta = world["alpha"], world["beta"]
    _meetup(alpha, -7)  # seven weeks ago
    _meetup(beta, 9)  # in nine weeks: outside the cooldown
    rows = _rows(rank_cities(RankingParameters(min_fans=150)))
    assert rows["Alphaville"].eligible is False and rows["Alphaville"].reason == "cooldown"
    assert rows["Alphaville"].last_meetup_on == utcnow().date() - timedelta(weeks=7)
    assert rows["Alphaville"].past_meetups == 1
    assert rows["Betatown"].eligible is True and rows["Betatown"].next_meetup_on == utcnow().date() + timedelta(weeks=9)
    assert rows["Betatown"].last_meetup_on is None
    # Six weeks of cooldown: seven weeks ago no longer counts.
    assert _rows(rank_cities(RankingParameters(min_fans=150, cooldown_weeks=6)))["Alphaville"].eligible is True
    # Eight weeks ahead is within eight weeks (the bound counts).
    _meetup(beta, 8)
    assert _rows(rank_cities(RankingParameters(min_fans=150)))["Betatown"].reason == "cooldown"


def test_a_cancelled_meetup_does_not_count_and_a_suburbs_meetup_counts_for_its_host(world):
    _meetup(world["alpha"], 2, status="cancelled")
    assert _rows(rank_cities(RankingParameters(min_fans=150)))["Alphaville"].eligible is True
    _meetup(world["suburb"], -3)
    row = _rows(rank_cities(RankingParameters(min_fans=150)))["Alphaville"]
    assert (row.eligible, row.reason, row.past_meetups) == (False, "cooldown", 1)


def test_signals_beside_the_ranking_do_not_change_its_order(world, make_user):
    held = _meetup(world["beta"], -20)
    for number, status in enumerate(["confirmed"] * 3 + ["waitlisted"] * 4):
        db.session.add(Registration(meetup=held, name=f"F{number}", email=f"f{number}@example.com", status=status,
                                    queued_at=utcnow(), manage_salt="s", ticket_ref=f"ref{number}"))
    recount(held, utcnow())
    db.session.commit()
    from meetups.city_requests.models import CityRequest

    for number in range(3):
        db.session.add(CityRequest(city_geonameid=world["rim"].geonameid, email=f"ask{number}@example.com",
                                   confirmed_at=utcnow(), confirm_salt="s"))
    db.session.add(CityRequest(city_geonameid=world["rim"].geonameid, email="unconfirmed@example.com",
                               confirm_salt="s"))
    db.session.commit()
    rows = _rows(rank_cities(RankingParameters(min_fans=150)))
    assert rows["Betatown"].waitlist_overflow == 4
    assert rows["Betatown"].show_up_rate is None  # nobody was checked in at the door: unknown, not 0 %
    door = make_user("staff", "door@example.com")
    confirmed = db.session.scalars(select(Registration).where(Registration.status == "confirmed")).all()
    db.session.add_all(CheckIn(meetup_id=held.id, registration_id=registration.id, checked_in_at=utcnow(),
                               user_id=door.id, device="Door A", method="scan") for registration in confirmed[:2])
    db.session.commit()
    rows = _rows(rank_cities(RankingParameters(min_fans=150)))
    assert rows["Betatown"].show_up_rate == pytest.approx(0.667)
    assert rows["Alphaville"].requests == 3  # asked for Rimtown, which Alphaville serves
    assert [row.name for row in rank_cities(RankingParameters(min_fans=150)).rows] == ["Betatown", "Alphaville"]


def test_chinese_names_come_along(world):
    row = _rows(rank_cities(RankingParameters(min_fans=0)))["Alphaville"]
    assert (row.name_zh, row.province) == ("阿尔法", "West")
    document = rank_cities(RankingParameters(min_fans=0)).as_json()
    assert document["unserved_cities"][0]["name_zh"] == "远方"


def test_fan_counts_follow_every_change_to_the_fans(app, make_city):
    alpha, beta = make_city("Alphaville", 30, 104), make_city("Betatown", 31.5, 104)

    def counts():
        return dict(db.session.execute(select(CityFanCount.city_geonameid, CityFanCount.fans)).all())

    _fans(alpha, 3)
    assert counts() == {alpha.geonameid: 3}
    fan = db.session.scalar(select(Fan).where(Fan.email == f"c{alpha.geonameid}-0@example.com"))
    fan.city_geonameid = beta.geonameid
    db.session.commit()
    assert counts() == {alpha.geonameid: 2, beta.geonameid: 1}
    db.session.delete(fan)
    db.session.commit()
    assert counts() == {alpha.geonameid: 2, beta.geonameid: 0}
    # The import recounts in its own transaction: new fans, a fan moving, one rejected row.
    csv = (f"handle,email,city\nnew,new@example.com,Betatown\nmoved,c{alpha.geonameid}-1@example.com,Betatown\n"
           "bad,not-an-email,Betatown\n")
    report = import_fans(io.BytesIO(csv.encode()))
    assert (report.imported, report.updated, report.rejected) == (1, 1, 1)
    assert counts() == {alpha.geonameid: 1, beta.geonameid: 2}
    true_counts = dict(db.session.execute(select(Fan.city_geonameid, func.count()).group_by(Fan.city_geonameid)
                                          .where(Fan.city_geonameid.is_not(None))).all())
    assert {city: fans for city, fans in counts().items() if fans} == true_counts


def test_a_strict_import_that_fails_leaves_the_counts_alone(app, make_city):
    make_city("Alphaville", 30, 104)
    import_fans(io.BytesIO(b"handle,email,city\nbad,not-an-email,Alphaville\nok,ok@example.com,Alphaville\n"),
                strict=True)
    assert db.session.scalar(select(func.count()).select_from(CityFanCount)) == 0


def test_the_host_assignment_is_stored_and_read_back_after_a_restart(world, monkeypatch):
    first = rank_cities(RankingParameters(min_fans=0)).as_json()
    assert db.session.scalar(select(func.count()).select_from(HostAssignmentSet)) == 0  # reading writes nothing
    assert store_host_geometry(RankingParameters(min_fans=0))  # `cities hosts`
    assert not store_host_geometry(RankingParameters(min_fans=0))  # current: nothing to do
    assert db.session.scalar(select(func.count()).select_from(HostAssignmentSet)) == 1
    forget_cached_geometry()  # as after a restart: memory is empty, the stored set remains

    def refuse(_parameters):
        raise AssertionError("measured again although the stored assignment is current")

    monkeypatch.setattr(ranking_module, "compute_geometry", refuse)
    assert rank_cities(RankingParameters(min_fans=0)).as_json() == first


def test_a_changed_gazetteer_or_radius_is_measured_anew(world, make_city, monkeypatch):
    rank_cities(RankingParameters(min_fans=0))
    calls = []
    original = ranking_module.compute_geometry
    monkeypatch.setattr(ranking_module, "compute_geometry", lambda p: calls.append(p) or original(p))
    rank_cities(RankingParameters(min_fans=0, top=5, by="fans"))  # same geometry
    assert calls == []
    rank_cities(RankingParameters(min_fans=0, radius_km=120))
    assert len(calls) == 1
    # A new candidate near Farland: its fans are now served.
    make_city("Newport", *_at(world["far"], 180, 50), 1_200_000)
    ranking = rank_cities(RankingParameters(min_fans=0))
    assert len(calls) == 2
    assert _rows(ranking)["Newport"].fans == 70 and ranking.unserved_fans == 0


def test_parameters_are_checked(app):
    assert parameters_from({"radius_km": "80", "by": "fans", "top": "0"}) == RankingParameters(
        radius_km=80, by="fans", top=0)
    with pytest.raises(DomainError) as refused:
        parameters_from({"radius_km": "-1", "min_fans": "many", "by": "size", "top": "nan"})
    assert set(refused.value.fields) == {"radius_km", "min_fans", "by", "top"}


def test_cli_json_and_api_agree(world, runner, client, make_user):
    make_user("planner", "planner@example.com")
    result = runner.invoke(args=["cities", "rank", "--json", "--radius-km", "120", "--min-fans", "100", "--by", "fans"])
    assert result.exit_code == 0, result.output
    from_cli = json.loads(result.stdout)
    answer = client.get("/api/cities/ranking?radius_km=120&min_fans=100&by=fans",
                        headers={"Authorization": f"Bearer {issue_token('planner@example.com')}"})
    assert answer.status_code == 200
    assert answer.get_json() == from_cli
    assert from_cli["parameters"]["radius_km"] == 120
    assert [row["name"] for row in from_cli["rows"]] == ["Alphaville", "Betatown"]
    first = from_cli["rows"][0]
    for key in ("rank", "geonameid", "name", "name_zh", "province", "population", "fans", "density_per_100k",
                "eligible", "reason", "last_meetup_on", "requests", "waitlist_overflow", "show_up_rate"):
        assert key in first
    assert from_cli["unserved_fans"] == 70


def test_cli_table_and_top(world, runner):
    result = runner.invoke(args=["cities", "rank", "--min-fans", "300", "--top", "1"])
    assert result.exit_code == 0, result.output
    assert "Alphaville" in result.output and "Betatown" not in result.output
    assert "70 fans live beyond every candidate" in result.output
    refused = runner.invoke(args=["cities", "rank", "--radius-km", "0"])
    assert refused.exit_code != 0 and "radius_km" in refused.output


def test_only_planners_may_read_the_ranking(world, client, make_user):
    assert client.get("/api/cities/ranking").status_code == 401
    assert client.get("/api/cities/ranking", headers={"Authorization": "Bearer nonsense"}).status_code == 401
    for role in ("staff", "engineer"):
        make_user(role, f"{role}@example.com")
        bearer = {"Authorization": f"Bearer {issue_token(f'{role}@example.com')}"}
        answer = client.get("/api/cities/ranking", headers=bearer)
        assert answer.status_code == 403 and answer.get_json()["error"]["code"] == "forbidden"
    make_user("admin", "admin@example.com")
    answer = client.get("/api/cities/ranking?radius_km=abc",
                        headers={"Authorization": f"Bearer {issue_token('admin@example.com')}"})
    assert answer.status_code == 422 and "radius_km" in answer.get_json()["error"]["fields"]


def test_the_real_gazetteer_merges_shanghais_districts(gazetteer):
    forget_cached_geometry()
    ranking = rank_cities(RankingParameters(min_fans=0, top=0))
    names = {row.name for row in ranking.rows}
    assert "Shanghai" in names and "Beijing" in names
    assert not {"Pudong", "Puxi", "Minhang"} & names
    assert ranking.candidates == len(ranking.rows) and ranking.candidates > 50
