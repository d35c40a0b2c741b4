"""A GET never writes: reading a page or an API changes nothing, also where a write is due (an
offer has lapsed, the ranking's host assignment is not stored yet, a token's last use is old).
What is due happens in the request that causes it, in `meetups sweep` / `cities hosts`, never
as a side effect of looking."""
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select

from meetups.accounts.models import ApiToken
from meetups.accounts.services import issue_token
from meetups.extensions import db
from meetups.fans.models import Fan
from meetups.planning.models import HostAssignmentSet
from meetups.planning.ranking import forget_cached_geometry
from meetups.registration.models import Registration
from meetups.registration.services import cancel_registration, register, sweep_all
from meetups.shared.timeutil import utcnow

from .conftest import stopped_after_two_sleeps

WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


@contextmanager
def recorded_writes():
    """Every write statement and every commit on the app's database while the block runs."""
    seen: list[str] = []

    def statement(_connection, _cursor, sql, _parameters, _context, _executemany):
        if sql.lstrip().split(None, 1)[0].upper() in WRITES:
            seen.append(sql)

    def commit(_connection):
        seen.append("COMMIT")

    event.listen(db.engine, "before_cursor_execute", statement)
    event.listen(db.engine, "commit", commit)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", statement)
        event.remove(db.engine, "commit", commit)


@pytest.fixture
def due(app, client, auth, make_user, make_city, make_meetup):
    """A meetup whose only offer has lapsed (fan 31 is next in line), cities and fans to rank with
    no stored host assignment, a signed-in planner and a planner's token not used for an hour."""
    forget_cached_geometry()
    chengdu = make_city("Chengdu", 30.66, 104.07, 2_000_000, name_zh="成都")
    make_city("Mianyang", 31.47, 104.68, 50_000)
    db.session.add_all(Fan(handle=f"fan{number}", email=f"fan{number}@example.com", city_geonameid=chengdu.geonameid)
                       for number in range(200))
    db.session.commit()
    meetup = make_meetup(city=chengdu, capacity=30, offer_hours=24)
    outcomes = [register(meetup.id, name=f"fan {number}", email=f"fan{number}@example.com") for number in range(32)]
    cancel_registration(outcomes[0].manage_token)
    offered = db.session.scalar(select(Registration).where(Registration.status == "offered"))
    offered.offer_expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    make_user("planner", email="plan@example.com")
    token = issue_token("plan@example.com")
    auth.login("plan@example.com")
    return {"meetup": meetup, "chengdu": chengdu, "offered": outcomes[30], "waiting": outcomes[31], "token": token,
            "confirmed": outcomes[5].registration.ticket_ref, "offered_ref": offered.ticket_ref}


def test_reading_any_page_or_api_writes_nothing(client, due):
    meetup_id, geonameid = due["meetup"].id, due["chengdu"].geonameid
    pages = ["/", "/meetups", f"/meetups/{meetup_id}", "/api/meetups", f"/api/meetups/{meetup_id}",
             f"/manage/{due['offered'].manage_token}", f"/manage/{due['waiting'].manage_token}",
             f"/tickets/{due['confirmed']}", f"/tickets/{due['offered_ref']}", f"/tickets/{due['confirmed']}.png",
             f"/planner/meetups/{meetup_id}", f"/planner/meetups/{meetup_id}/attendees.csv",
             f"/planner/meetups/{meetup_id}/post", "/planner/cities?min_population=0&min_fans=0",
             f"/planner/cities/{geonameid}?min_population=0", "/feedback", "/api/feedback"]
    bearer = {"Authorization": f"Bearer {due['token']}"}
    with recorded_writes() as writes:
        answers = {url: client.get(url).status_code for url in pages}
        answers["/api/cities/ranking"] = client.get("/api/cities/ranking?min_population=0", headers=bearer).status_code
        answers["/api/whoami"] = client.get("/api/whoami", headers=bearer).status_code
    assert {url: status for url, status in answers.items() if status >= 500} == {}
    assert answers["/api/cities/ranking"] == 200 and answers[f"/meetups/{meetup_id}"] == 200
    assert writes == []
    # Nothing moved: the lapsed offer still waits for the sweep, no host assignment was stored.
    assert db.session.scalar(select(func.count()).select_from(HostAssignmentSet)) == 0
    statuses = dict(db.session.execute(select(Registration.email, Registration.status)).all())
    assert (statuses["fan30@example.com"], statuses["fan31@example.com"]) == ("offered", "waitlisted")


def test_the_sweep_does_what_reading_did_not(client, due):
    """`meetups sweep` (cron) passes the lapsed offer on; then the pages show it."""
    assert sweep_all() == 1
    statuses = dict(db.session.execute(select(Registration.email, Registration.status)).all())
    assert (statuses["fan30@example.com"], statuses["fan31@example.com"]) == ("cancelled", "offered")
    page = client.get(f"/manage/{due['waiting'].manage_token}").get_data(as_text=True)
    assert "Accept the seat" in page


def test_a_write_records_the_tokens_use_and_a_read_does_not(client, due):
    bearer = {"Authorization": f"Bearer {due['token']}"}
    client.get("/api/whoami", headers=bearer)
    assert db.session.scalar(select(ApiToken.last_used_at)) is None
    client.post("/api/feedback/1/status", headers=bearer, json={"status": "planned"})  # a write (404: no such item)
    assert db.session.scalar(select(ApiToken.last_used_at)) is not None


def test_cities_hosts_stores_the_host_assignment_once(runner, due):
    first = runner.invoke(args=["cities", "hosts", "--min-population", "0"])
    assert first.exit_code == 0 and "host assignment stored" in first.output
    again = runner.invoke(args=["cities", "hosts", "--min-population", "0"])
    assert again.exit_code == 0 and "is current" in again.output
    assert db.session.scalar(select(func.count()).select_from(HostAssignmentSet)) == 1


def test_the_sweep_can_run_as_a_service(runner, due, monkeypatch):
    """`meetups sweep --every N` sweeps, sleeps N seconds, sweeps again (stopped here after two)."""
    rounds = stopped_after_two_sleeps(monkeypatch)
    result = runner.invoke(args=["meetups", "sweep", "--every", "30"])
    assert rounds == [30, 30]
    assert result.output.splitlines()[:2] == ["promoted 1 fans", "promoted 0 fans"]
