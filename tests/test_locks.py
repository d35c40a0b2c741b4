"""The meetup lock on SQLite: writers queue on a lock the kernel hands over at once, and it is free
again however the transaction ends (meetups/meetups/locks.py)."""
import fcntl
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from harness.servers import PROJECT_ROOT
from meetups.errors import DomainError
from meetups.events.locks import lock_meetup
from meetups.extensions import db
from meetups.registration.models import Registration
from meetups.registration.services import create_invite_codes, register


@pytest.fixture
def sqlite_app(app):
    if app.backend != "sqlite":
        pytest.skip("PostgreSQL queues writers on the row lock itself")
    return app


def _lock_file() -> Path:
    return Path(f"{db.engine.url.database}.lock")


def _free_for_another_process() -> bool:
    """Could another server process take the lock now? (A file opened anew competes with ours.)"""
    descriptor = os.open(_lock_file(), os.O_RDWR)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(descriptor)  # and with it the lock, had we taken it
    return True


def test_the_lock_is_held_until_the_transaction_ends(sqlite_app, make_meetup):
    meetup = make_meetup()
    lock_meetup(meetup.id)
    assert not _free_for_another_process()
    lock_meetup(meetup.id)  # the same transaction again: no deadlock with itself
    db.session.commit()
    assert _free_for_another_process()

    lock_meetup(meetup.id)
    db.session.rollback()
    assert _free_for_another_process()

    lock_meetup(meetup.id)
    db.session.remove()  # what the end of a request does after an unexpected error
    assert _free_for_another_process()


@pytest.mark.parametrize("attempt, refused", [
    ({"email": "first@example.com"}, "already_registered"),  # committed, then refused
    ({"email": "second@example.com", "invite_code": "NOSUCHCODE"}, "invalid"),
    ({"email": "second@example.com", "meetup_status": "closed"}, "registration_closed"),  # rolled back
])
def test_a_refused_registration_leaves_the_lock_free(sqlite_app, make_meetup, attempt, refused):
    meetup = make_meetup()
    register(meetup.id, name="First", email="first@example.com")
    meetup.status = attempt.pop("meetup_status", "published")
    db.session.commit()

    with pytest.raises(DomainError) as error:
        register(meetup.id, name="Second", **attempt)

    assert error.value.code == refused
    assert _free_for_another_process()
    meetup.status = "published"
    db.session.commit()
    assert register(meetup.id, name="Third", email="third@example.com").registration.is_confirmed


def test_a_registration_that_breaks_midway_leaves_the_lock_free(sqlite_app, make_meetup, monkeypatch):
    meetup = make_meetup()

    def broken(*_args, **_kwargs):
        raise RuntimeError("the disk is full")

    monkeypatch.setattr("meetups.registration.mailing.record", broken)  # after the seat is taken, before the commit
    with pytest.raises(RuntimeError):
        register(meetup.id, name="Unlucky", email="unlucky@example.com")
    db.session.remove()  # what Flask does when the request ends with the error
    monkeypatch.undo()

    assert _free_for_another_process()
    assert register(meetup.id, name="Next", email="next@example.com").registration.is_confirmed


def test_a_missing_meetup_leaves_the_lock_free(sqlite_app):
    with pytest.raises(DomainError):
        create_invite_codes(123456, 2)
    assert _free_for_another_process()


_WAITER = """
import sys
from meetups import create_app
from meetups.registration.services import register
app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": sys.argv[1], "INSTANCE_PATH": sys.argv[2],
                  "SECRET_KEY": "test-secret-key", "RATELIMIT": "off"})
with app.app_context():
    print(register(int(sys.argv[3]), name="Patient", email="patient@example.com").registration.status)
"""


def test_a_registration_in_another_process_waits_for_the_lock_and_then_goes_through(sqlite_app, make_meetup):
    meetup = make_meetup()
    lock_meetup(meetup.id)  # a registration in this process is deciding
    command = [sys.executable, "-c", _WAITER, str(db.engine.url), sqlite_app.instance_path, str(meetup.id)]
    waiter = subprocess.Popen(command, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_until_queued(waiter, _lock_file())
        assert not db.session.scalars(select(Registration).where(Registration.meetup_id == meetup.id)).all()
        db.session.commit()  # our decision is done: the waiter goes on
        output, errors = waiter.communicate(timeout=120)
    finally:
        if waiter.poll() is None:
            waiter.kill()
    assert waiter.returncode == 0, errors
    assert output.strip() == "confirmed"
    patient = select(Registration.status).where(Registration.email == "patient@example.com")
    assert db.session.scalar(patient) == "confirmed"


def _wait_until_queued(process: subprocess.Popen, lock_file: Path, within: float = 120) -> None:
    """Until the kernel lists the process as blocked on the lock file: it wakes it on release
    (SQLite's busy handler would instead poll, sleeping up to 100 ms between tries)."""
    inode = lock_file.stat().st_ino
    waiting = re.compile(rf"->\s+FLOCK\s+ADVISORY\s+WRITE\s+{process.pid}\s+[0-9a-f]+:[0-9a-f]+:{inode}\s")
    deadline = time.monotonic() + within
    while not waiting.search(Path("/proc/locks").read_text()):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the other process never queued for the lock"
        time.sleep(0.05)
