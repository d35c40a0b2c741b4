"""`flask demo`: a living system for a newcomer, loaded once and kept on the next run."""
from sqlalchemy import func, select

from meetups.accounts.models import User
from meetups.cities.models import City
from meetups.demo import DEMO_FANS
from meetups.events.models import Meetup
from meetups.extensions import db
from meetups.fans.models import Fan
from meetups.registration.seats import meetup_seats
from meetups.shared.mail import outbox_path


def _counts():
    return tuple(db.session.scalar(select(func.count()).select_from(model)) for model in (City, Fan, User, Meetup))


def test_demo_loads_a_living_system_and_is_idempotent(app, runner, client):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    for role in ("admin", "planner", "staff", "engineer"):
        assert role in result.output
    cities, fans, users, meetups = _counts()
    assert cities == 2106 and fans == DEMO_FANS and users == 4 and meetups == 5

    # Fans are spread unevenly: the busiest city has many times the median city's fans.
    per_city = sorted(db.session.scalars(select(func.count()).select_from(Fan).group_by(Fan.city_geonameid)),
                      reverse=True)
    assert per_city[0] > 20 * per_city[len(per_city) // 2]
    assert db.session.scalar(select(func.count()).select_from(Fan).where(Fan.city_geonameid.is_(None))) == 0

    # The printed demo accounts can sign in.
    line = next(line for line in result.output.splitlines() if line.strip().startswith("planner"))
    _role, email, password = line.split()
    from .conftest import Auth

    assert "Signed in as" in Auth(client).login(email, password).get_data(as_text=True)
    home = client.get("/").get_data(as_text=True)
    assert "Wuhan fan meetup" in home and "Beijing fan meetup" not in home  # past meetups are not listed

    # Upcoming meetups have registrations (Wuhan is full, with a waiting list) and invite codes.
    wuhan = db.session.scalar(select(Meetup).join(City).where(City.name == "Wuhan"))
    counts = meetup_seats(wuhan)
    assert (counts.confirmed, counts.waitlisted, counts.seats_left) == (40, 3, 0)
    hangzhou = db.session.scalar(select(Meetup).join(City).where(City.name == "Hangzhou"))
    assert meetup_seats(hangzhou).held == 5
    assert len(list(outbox_path().glob("*.eml"))) == 43 + 12

    # The feedback pool holds the past meetups' notes, ranked, with one item shipped from fans.
    pool = client.get("/api/feedback?sort=top").get_json()["items"]
    assert len(pool) == 5 and all(item["votes"] > 0 for item in pool)
    assert [item["score"] for item in pool] == sorted((item["score"] for item in pool), reverse=True)
    battery = next(item for item in pool if item["title"] == "电池续航能再长一点吗？")
    assert battery["mentions"] == 3 and len(battery["meetups"]) == 3 and battery["status"] == "in_development"
    assert "Night photos are blurry indoors" in client.get("/feedback").get_data(as_text=True)

    again = runner.invoke(args=["demo"])
    assert again.exit_code == 0
    assert _counts() == (cities, fans, users, meetups)


def test_demo_is_refused_in_production(app, runner):
    app.config["ENV_NAME"] = "production"
    result = runner.invoke(args=["demo"])
    assert result.exit_code != 0
    assert "refused when MEETUPS_ENV=production" in result.output
