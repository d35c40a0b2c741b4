"""The two-week schedule (cities.schedule): N meetups 14 days apart, each in a different eligible
city in ranking order; swaps and their refusals; accepting creates drafts through the meetup
service, exactly in the chosen city, all or nothing, and a second accept creates nothing more."""
import threading
from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import select

from meetups.errors import DomainError
from meetups.events import services as meetup_services
from meetups.events.models import Meetup
from meetups.extensions import db
from meetups.fans.models import Fan
from meetups.planning import schedule as schedule_module
from meetups.planning.ranking import parameters_from, rank_cities
from meetups.planning.schedule import accept_schedule, default_start, propose_schedule
from meetups.shared.timeutil import utcnow

from .city_world import ORDER, PARAMETERS
from .conftest import meetup_count

PARAMS = parameters_from(PARAMETERS)


@pytest.fixture
def today(app):
    return utcnow().date()


def _ids(world, *keys):
    return [world[key].geonameid for key in keys]


def _meetups() -> list[Meetup]:
    return list(db.session.scalars(select(Meetup).order_by(Meetup.starts_at)))


def _refusal(call) -> DomainError:
    with pytest.raises(DomainError) as caught:
        call()
    assert caught.value.code == "invalid"
    return caught.value


# --- proposing -------------------------------------------------------------------------------

def test_one_meetup_every_two_weeks_in_the_first_eligible_cities(city_world, today):
    start = today + timedelta(days=14)
    slots = propose_schedule(rank_cities(PARAMS), start, 3)
    assert [slot.number for slot in slots] == [1, 2, 3]
    assert [slot.day for slot in slots] == [start, start + timedelta(days=14), start + timedelta(days=28)]
    assert [slot.city.name for slot in slots] == ORDER[:3]
    assert all(slot.city.eligible and not slot.swapped and slot.existing is None for slot in slots)


def test_never_an_ineligible_city_and_never_one_city_twice(city_world, today):
    slots = propose_schedule(PARAMS, today, 12)  # parameters work as well as a ranking
    names = [slot.city.name for slot in slots]
    assert names == ["Kunming", "Chengdu", "Lanzhou", "Wuhan"]  # Harbin has 2 fans; there are only four
    assert len(set(names)) == len(names)


def test_each_slot_offers_the_eligible_cities_left_out(city_world, today):
    slots = propose_schedule(rank_cities(PARAMS), today, 2)
    assert [row.name for row in slots[0].choices] == ["Kunming", "Lanzhou", "Wuhan"]
    assert [row.name for row in slots[1].choices] == ["Chengdu", "Lanzhou", "Wuhan"]


def test_a_swap_puts_another_eligible_city_in_that_slot(city_world, today):
    slots = propose_schedule(rank_cities(PARAMS), today, 3, swaps={2: city_world["wuhan"].geonameid})
    assert [slot.city.name for slot in slots] == ["Kunming", "Wuhan", "Lanzhou"]
    assert [slot.swapped for slot in slots] == [False, True, False]
    assert "Chengdu" in [row.name for row in slots[1].choices]  # swapped out: free to come back


def test_a_swap_to_the_same_city_changes_nothing(city_world, today):
    slots = propose_schedule(rank_cities(PARAMS), today, 2, swaps={1: city_world["kunming"].geonameid})
    assert [slot.city.name for slot in slots] == ["Kunming", "Chengdu"] and not slots[0].swapped


def test_a_swap_to_a_city_already_in_the_proposal_is_refused(city_world, today):
    ranking = rank_cities(PARAMS)
    error = _refusal(lambda: propose_schedule(ranking, today, 3, swaps={3: city_world["kunming"].geonameid}))
    assert error.fields == {"city_3": "Kunming is already in slot 1."}


def test_a_swap_to_an_ineligible_city_says_why(city_world, today):
    ranking = rank_cities(PARAMS)
    error = _refusal(lambda: propose_schedule(ranking, today, 2, swaps={2: city_world["harbin"].geonameid}))
    assert list(error.fields) == ["city_2"]
    assert "Harbin is not eligible" in error.fields["city_2"] and "fewer than 15" in error.fields["city_2"]


def test_a_swap_to_a_city_that_is_no_candidate_is_refused(city_world, today):
    ranking = rank_cities(PARAMS)  # Mianyang has 50 000 people: below the minimum population
    error = _refusal(lambda: propose_schedule(ranking, today, 2, swaps={1: city_world["mianyang"].geonameid}))
    assert error.fields == {"city_1": "This city is not a candidate host with these parameters."}


@pytest.mark.parametrize("count", [0, 13, None])
def test_from_one_to_twelve_meetups(city_world, today, count):
    error = _refusal(lambda: propose_schedule(PARAMS, today, count))
    assert list(error.fields) == ["count"]


def test_the_first_meetup_is_not_in_the_past(city_world, today):
    error = _refusal(lambda: propose_schedule(PARAMS, today - timedelta(days=1), 2))
    assert error.fields == {"start": "The first meetup cannot be in the past."}
    assert list(_refusal(lambda: propose_schedule(PARAMS, None, 2)).fields) == ["start"]


def test_the_default_start_is_the_next_free_slot(city_world, make_meetup, today):
    assert default_start(today) == today + timedelta(days=14)
    make_meetup(city=city_world["wuhan"], days_from_now=30)
    make_meetup(city=city_world["wuhan"], days_from_now=60, status="cancelled")  # does not hold a slot
    make_meetup(city=city_world["wuhan"], days_from_now=-3)
    last = utcnow() + timedelta(days=30)
    assert default_start(today) == (last + timedelta(hours=8)).date() + timedelta(days=14)  # Wuhan's calendar


# --- accepting -------------------------------------------------------------------------------

def test_accepting_creates_drafts_through_the_meetup_service(city_world, today, monkeypatch):
    calls = []
    real = meetup_services.create_meetup
    monkeypatch.setattr(schedule_module, "create_meetup", lambda *a, **k: calls.append(a) or real(*a, **k))
    start = today + timedelta(days=14)
    accepted = accept_schedule(PARAMS, start, _ids(city_world, "kunming", "wuhan", "lanzhou"))
    assert len(calls) == 3 and accepted.created == accepted.meetups
    meetups = _meetups()
    assert [m.city.name for m in meetups] == ["Kunming", "Wuhan", "Lanzhou"]
    assert [m.title for m in meetups] == ["Kunming fan meetup", "Wuhan fan meetup", "Lanzhou fan meetup"]
    for number, meetup in enumerate(meetups):
        assert meetup.status == "draft" and meetup.capacity == 40
        local = meetup.local_starts_at
        assert local.date() == start + timedelta(days=14 * number)
        assert (local.time(), meetup.local_ends_at.time()) == (time(19, 0), time(21, 30))
    assert meetups[0].starts_at == datetime.combine(start, time(11, 0))  # 19:00 in China is 11:00 UTC


def test_accepting_twice_creates_nothing_more(city_world, today):
    start = today + timedelta(days=14)
    cities = _ids(city_world, "kunming", "chengdu")
    first = accept_schedule(PARAMS, start, cities)
    # Now both cities have a meetup within the cooldown: not eligible, yet the same schedule is
    # accepted again (a double submit) and finds its meetups.
    assert not any(row.eligible for row in rank_cities(PARAMS).rows if row.name in ("Kunming", "Chengdu"))
    again = accept_schedule(PARAMS, start, cities)
    assert again.created == [] and [m.id for m in again.meetups] == [m.id for m in first.meetups]
    assert meetup_count() == 2
    slots = propose_schedule(PARAMS, start, 2, swaps=dict(enumerate(cities, start=1)))
    assert [slot.existing.id for slot in slots] == [m.id for m in first.meetups]


def test_a_meetup_already_there_that_day_is_kept_and_the_rest_created(city_world, today):
    start = today + timedelta(days=14)
    accept_schedule(PARAMS, start, _ids(city_world, "kunming"))
    accepted = accept_schedule(PARAMS, start, _ids(city_world, "kunming", "lanzhou"))
    assert [m.city.name for m in accepted.created] == ["Lanzhou"]
    assert meetup_count() == 2


def test_a_refused_swap_writes_nothing(city_world, today):
    start = today + timedelta(days=14)
    error = _refusal(lambda: accept_schedule(PARAMS, start, _ids(city_world, "kunming", "harbin", "chengdu")))
    assert list(error.fields) == ["city_2"]
    error = _refusal(lambda: accept_schedule(PARAMS, start, _ids(city_world, "kunming", "chengdu", "kunming")))
    assert error.fields == {"city_3": "Kunming is already in slot 1."}
    assert meetup_count() == 0


def test_a_slot_the_meetup_service_refuses_leaves_nothing_half_written(city_world, today, monkeypatch):
    real = schedule_module._draft

    def third_is_bad(slot):
        details = real(slot)
        if slot.number == 3:
            details.capacity = 10
        return details

    monkeypatch.setattr(schedule_module, "_draft", third_is_bad)
    with pytest.raises(DomainError) as caught:
        accept_schedule(PARAMS, today + timedelta(days=14), _ids(city_world, "kunming", "chengdu", "lanzhou"))
    assert "capacity" in caught.value.fields
    assert meetup_count() == 0


@pytest.mark.usefixtures("city_world")
def test_the_exact_city_is_used_when_two_share_a_name(app, make_city, today):
    larger = make_city("Taizhou", 32.49, 119.91, 800_000, name_zh="泰州", province="Jiangsu")
    for number in range(200):  # enough fans to be eligible, fewer per 100 000 than the other
        db.session.add(_fan(larger, number))
    smaller = make_city("Taizhou", 28.66, 121.42, 700_000, name_zh="台州", province="Zhejiang")
    for number in range(200):
        db.session.add(_fan(smaller, number + 1000))
    db.session.commit()
    accepted = accept_schedule(PARAMS, today + timedelta(days=14), [smaller.geonameid])
    assert accepted.meetups[0].city_geonameid == smaller.geonameid
    assert accepted.meetups[0].title == "Taizhou fan meetup"


def _fan(city, number):
    return Fan(handle=f"t{number}", email=f"t{number}@example.com", city_geonameid=city.geonameid)


def test_two_accepts_at_once_create_each_meetup_once(app, city_world, today):
    """A double click sends two requests that run side by side: the cities' lock queues them."""
    start = today + timedelta(days=14)
    cities = _ids(city_world, "kunming", "chengdu", "lanzhou")
    rank_cities(PARAMS)  # the geometry is stored once, beforehand
    barrier = threading.Barrier(2)
    created, failures = [], []

    def accept():
        with app.app_context():
            try:
                barrier.wait(timeout=10)
                created.append(len(accept_schedule(PARAMS, start, cities).created))
            except Exception as error:  # reported below, not lost in the thread
                failures.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=accept) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == [] and sorted(created) == [0, 3]
    assert meetup_count() == 3
