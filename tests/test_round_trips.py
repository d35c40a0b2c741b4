"""What the hot paths ask of the database, counted where it is asked: on SQLite every statement
the library runs (its trace callback, BEGIN and COMMIT included), on PostgreSQL every round
trip on the wire (libpq's protocol trace: each ReadyForQuery ends one). A registration in a rush
and a scan that admits must not grow a statement unnoticed."""
import contextlib
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import event

from meetups.accounts.services import issue_token
from meetups.extensions import db

pytestmark = pytest.mark.usefixtures("ticket_key_from_instance")


@contextlib.contextmanager
def traced(app):
    """Yields a list that fills with what the database is asked while the block runs: SQL texts
    (SQLite) or the round trips' first messages (PostgreSQL)."""
    asked: list[str] = []
    log = Path(tempfile.mkstemp(suffix=".trace")[1])
    trace_file = log.open("w")

    def checkout(dbapi_connection, _record, _proxy):
        if app.backend == "sqlite":
            dbapi_connection.set_trace_callback(asked.append)
        else:
            from psycopg import pq

            dbapi_connection.pgconn.trace(trace_file.fileno())
            dbapi_connection.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)

    def checkin(dbapi_connection, _record):
        if app.backend == "sqlite":
            dbapi_connection.set_trace_callback(None)
        else:
            dbapi_connection.pgconn.untrace()

    engine = db.engine
    db.session.remove()  # the next request checks its connection out of the pool afresh
    event.listen(engine, "checkout", checkout)
    event.listen(engine, "checkin", checkin)
    try:
        yield asked
    finally:
        event.remove(engine, "checkout", checkout)
        event.remove(engine, "checkin", checkin)
        trace_file.close()
        if app.backend == "postgresql":
            asked += _round_trips(log.read_text())
        log.unlink()


def _round_trips(trace: str) -> list[str]:
    """The first message the client sent in each round trip (one per ReadyForQuery)."""
    trips, opening = [], None
    for line in trace.splitlines():
        if line.count("\t") < 2:
            continue  # the rest of a message that spans lines
        sender, _length, message, *rest = line.split("\t")
        if sender == "F" and opening is None:
            opening = f"{message} {' '.join(rest)}".strip()
        elif sender == "B" and message == "ReadyForQuery":
            trips.append(opening or "")
            opening = None
    return trips


def _kinds(asked: list[str]) -> list[str]:
    """Each statement or round trip by its first words (BEGIN, SELECT, UPDATE, WITH …)."""
    kinds = []
    for text in asked:
        words = text.replace('"', " ").split()
        words = words[1:] if words and words[0] in ("Query", "Parse") else words
        kinds.append(words[0].upper() if words else "?")
    return kinds


@pytest.fixture(autouse=True)
def mail_left_to_cron(app):
    """As in a rush in production: the email is queued in the transaction, sent by another process."""
    app.config["MAIL_DELIVERY"] = "cron"


def test_a_registration_in_a_rush_is_the_lock_the_insert_and_the_commit(app, client, make_meetup):
    meetup = make_meetup(capacity=30)
    client.post(f"/api/meetups/{meetup.id}/registrations", json={"name": "Warm", "email": "warm@example.com"})
    with traced(app) as asked:
        answer = client.post(f"/api/meetups/{meetup.id}/registrations", json={"name": "Li", "email": "li@example.com"})
    assert answer.status_code == 201 and answer.get_json()["status"] == "confirmed"
    if app.backend == "postgresql":
        # BEGIN; the UPDATE that locks the meetup and counts the seat; the registration and its
        # email in one INSERT; COMMIT.
        assert _kinds(asked) == ["BEGIN", "UPDATE", "WITH", "COMMIT"], asked
    else:
        assert _kinds(asked) == ["BEGIN", "UPDATE", "INSERT", "INSERT", "COMMIT"], asked


def test_a_scan_that_admits_reads_the_door_once_and_writes_once(app, client, make_meetup, staff):
    meetup = make_meetup(capacity=30)
    codes = []
    for number in range(2):
        answer = client.post(f"/api/meetups/{meetup.id}/registrations",
                             json={"name": f"Fan {number}", "email": f"fan{number}@example.com"})
        codes.append(answer.get_json()["ticket_code"])
    bearer = {"Authorization": f"Bearer {issue_token(staff.email)}"}
    meetup_id = meetup.id
    path = f"/api/meetups/{meetup_id}/checkins"
    client.post(path, json={"code": codes[0], "nonce": "warm", "device": "door"}, headers=bearer)
    with traced(app) as asked:
        answer = client.post(path, json={"code": codes[1], "nonce": "n-1", "device": "door"}, headers=bearer)
    body = answer.get_json()
    assert (body["result"], body["arrived"], body["expected"]) == ("admitted", 2, 2)
    if app.backend == "postgresql":
        # BEGIN, the staff token, the door with its counts and the ticket's registration, the
        # check-in, its event and its answer, COMMIT (one CTE for the three cost PostgreSQL more).
        assert _kinds(asked) == ["BEGIN", "SELECT", "SELECT", "INSERT", "INSERT", "INSERT", "COMMIT"], asked
    else:
        assert _kinds(asked) == ["SELECT", "SELECT", "BEGIN", "INSERT", "INSERT", "INSERT", "COMMIT"], asked
