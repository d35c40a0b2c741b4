"""Creating meetups from the command line, as docs/cli.md describes `meetups create`."""
import json
import re
from datetime import datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from meetups.events.models import Meetup
from meetups.extensions import db


def test_meetups_create_prints_json_and_stores_utc(gazetteer, runner):
    result = runner.invoke(args=["meetups", "create", "--city", "成都", "--starts-at", "2030-05-20T19:00",
                                 "--capacity", "40", "--title", "Camera night", "--venue", "Fan hall",
                                 "--publish", "--json"])
    assert result.exit_code == 0, result.output
    meetup_id = json.loads(result.output)["id"]
    meetup = db.session.get(Meetup, meetup_id)
    assert (meetup.title, meetup.venue_name, meetup.capacity, meetup.status) == (
        "Camera night", "Fan hall", 40, "published")
    assert meetup.city.name == "Chengdu"
    assert meetup.starts_at == datetime(2030, 5, 20, 11, 0)  # 19:00 in Chengdu is 11:00 UTC
    assert meetup.local_starts_at.hour == 19


def test_meetups_create_keeps_an_explicit_offset(gazetteer, runner):
    result = runner.invoke(args=["meetups", "create", "--city", "Wuhan", "--starts-at", "2030-05-20T12:00+00:00",
                                 "--capacity", "30", "--json"])
    meetup = db.session.get(Meetup, json.loads(result.output)["id"])
    assert meetup.starts_at == datetime(2030, 5, 20, 12, 0)
    assert meetup.status == "draft"
    assert meetup.title == "Wuhan fan meetup"


@pytest.mark.parametrize("capacity", ["29", "51", "0", "-40"])
def test_meetups_create_refuses_capacity_outside_30_to_50(gazetteer, runner, capacity):
    result = runner.invoke(args=["meetups", "create", "--city", "Wuhan", "--starts-at", "2030-05-20T19:00",
                                 "--capacity", capacity])
    assert result.exit_code != 0
    assert "Capacity must be between 30 and 50 seats." in result.output
    assert db.session.scalar(select(func.count()).select_from(Meetup)) == 0


@pytest.mark.parametrize("args, message", [
    (["--city", "Atlantis", "--starts-at", "2030-05-20T19:00", "--capacity", "40"],
     "No gazetteer city is called 'Atlantis'"),
    (["--city", "Wuhan", "--starts-at", "next friday", "--capacity", "40"], "is not an ISO 8601 date"),
    (["--city", "Wuhan", "--starts-at", "2030-05-20T19:00", "--ends-at", "2030-05-20T18:00", "--capacity", "40"],
     "The meetup must end after it starts."),
])
def test_meetups_create_refuses_bad_input(gazetteer, runner, args, message):
    result = runner.invoke(args=["meetups", "create", *args])
    assert result.exit_code != 0
    assert message in result.output
    assert db.session.scalar(select(func.count()).select_from(Meetup)) == 0


def test_database_refuses_capacity_outside_30_to_50(app, make_meetup):
    with pytest.raises(IntegrityError):
        make_meetup(capacity=51)
    db.session.rollback()


@pytest.mark.parametrize("pin", [{"venue_latitude": 30.5}, {"venue_longitude": 104.0},
                                 {"venue_latitude": 91.0, "venue_longitude": 104.0},
                                 {"venue_latitude": 30.5, "venue_longitude": -181.0}])
def test_database_refuses_half_a_venue_pin_or_one_off_the_globe(app, make_meetup, pin):
    with pytest.raises(IntegrityError):
        make_meetup(**pin)
    db.session.rollback()


def test_meetups_create_pins_the_venue(gazetteer, runner):
    result = runner.invoke(args=["meetups", "create", "--city", "Chengdu", "--starts-at", "2030-05-20T19:00",
                                 "--capacity", "40", "--venue-location", "30.5728,104.0668", "--json"])
    assert result.exit_code == 0, result.output
    meetup = db.session.get(Meetup, json.loads(result.output)["id"])
    assert (meetup.venue_latitude, meetup.venue_longitude) == (30.5728, 104.0668)
    far = runner.invoke(args=["meetups", "create", "--city", "Chengdu", "--starts-at", "2030-05-20T19:00",
                              "--capacity", "40", "--venue-location", "31.2304,121.4737"])  # Shanghai
    assert far.exit_code != 0 and "km from Chengdu" in far.output
    assert db.session.scalar(select(func.count()).select_from(Meetup)) == 1


def test_meetup_lifecycle_and_invite_codes_from_the_command_line(app, runner, make_meetup):
    meetup = make_meetup(capacity=30, status="draft")
    for command, status in (("publish", "published"), ("close", "closed"), ("publish", "published"),
                            ("cancel", "cancelled")):
        if command == "cancel":
            codes = runner.invoke(args=["meetups", "codes", str(meetup.id), "--count", "2", "--label", "VIP"])
            assert codes.exit_code == 0, codes.output
            assert len(re.findall(r"^[A-Z2-9]{5}-[A-Z2-9]{5}$", codes.output, re.M)) == 2
        result = runner.invoke(args=["meetups", command, str(meetup.id)])
        assert result.exit_code == 0, result.output
        assert f"meetup {meetup.id}: {status}" in result.output
        db.session.expire_all()
        assert db.session.get(Meetup, meetup.id).status == status
    refused = runner.invoke(args=["meetups", "codes", str(meetup.id), "--count", "1"])
    assert refused.exit_code == 1 and "cancelled" in refused.output
    missing = runner.invoke(args=["meetups", "publish", "9999"])
    assert missing.exit_code == 1 and "no such meetup" in missing.output
