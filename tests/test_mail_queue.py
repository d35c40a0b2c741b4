"""The mail queue: registration emails recorded with the change they report, delivered after the
commit once each (inline, by a background thread, or by `flask mail deliver`)."""
import email
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from meetups import create_app
from meetups.errors import DomainError
from meetups.extensions import db
from meetups.registration import mailing
from meetups.registration.mailing import Outgoing
from meetups.registration.models import QueuedMail
from meetups.registration.services import cancel_registration, manage_token, register
from meetups.shared.mail import outbox_path
from meetups.shared.timeutil import utcnow

from .conftest import _config, stopped_after_two_sleeps, subject


def outbox():
    """(To, Subject) of every message in the outbox."""
    found = []
    for path in sorted(outbox_path().glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes())
        found.append((message["To"], subject(message)))
    return found


def queue():
    return db.session.scalars(select(QueuedMail).order_by(QueuedMail.id)).all()


def _queued_without_delivery(registration_ids, kind="registration_waitlisted"):
    """What a server process that died right after its commit leaves behind."""
    mailing.record([Outgoing(kind, number, 1) for number in registration_ids])
    db.session.commit()


def test_a_registration_queues_one_mail_and_inline_delivery_sends_it_at_once(app, make_meetup):
    meetup = make_meetup(capacity=30, title="Chengdu evening")
    outcome = register(meetup.id, name="Li Lei", email="li@example.com")
    assert outbox() == [("li@example.com", "Your seat at Chengdu evening")]
    [row] = queue()
    assert (row.kind, row.registration_id, row.attempts) == ("registration_confirmed", outcome.registration.id, 1)
    assert row.sent_at is not None and row.last_error == ""
    assert mailing.deliver().sent == 0  # nothing twice


def test_a_refused_registration_queues_nothing(app, make_meetup):
    meetup = make_meetup(capacity=30)
    register(meetup.id, name="Li Lei", email="li@example.com")
    with pytest.raises(DomainError) as refused:
        register(meetup.id, name="Li Lei", email="LI@example.com")
    assert refused.value.code == "already_registered"
    assert len(queue()) == 1 and len(outbox()) == 1


def test_mail_left_by_a_dead_process_goes_out_once_from_the_command_line(app, make_meetup, runner):
    meetup = make_meetup(capacity=30)
    first = register(meetup.id, name="Li Lei", email="li@example.com", locale="zh")
    _queued_without_delivery([first.registration.id, first.registration.id], kind="registration_confirmed")

    result = runner.invoke(args=["mail", "deliver"])
    assert result.exit_code == 0, result.output
    assert "sent 2, failed 0, skipped 0; 0 still queued" in result.output
    assert runner.invoke(args=["mail", "deliver"]).output.startswith("sent 0,")
    # In the fan's language, as when delivered inline.
    assert [subject for _to, subject in outbox()] == ["报名成功：Test meetup"] * 3


def test_deliverers_running_at_once_send_each_mail_once(app, make_meetup):
    meetup = make_meetup(capacity=30)
    first = register(meetup.id, name="Li Lei", email="li@example.com")
    _queued_without_delivery([first.registration.id] * 120)
    db.session.remove()

    results, barrier = [], threading.Barrier(4)

    def deliverer():
        with app.app_context():
            barrier.wait()
            results.append(mailing.deliver())
            db.session.remove()

    threads = [threading.Thread(target=deliverer) for _number in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sum(result.sent for result in results) == 120
    assert len(outbox()) == 121
    assert {row.attempts for row in queue()} == {1}  # no row was claimed twice


def test_a_failed_send_stays_queued_and_is_tried_again_later(app, make_meetup):
    meetup = make_meetup(capacity=30)
    outcome = register(meetup.id, name="Li Lei", email="li@example.com")
    _queued_without_delivery([outcome.registration.id])
    app.config["SMTP_HOST"], app.config["SMTP_PORT"] = "127.0.0.1", 9  # nothing listens there
    delivery = mailing.deliver()
    assert (delivery.sent, delivery.failed) == (0, 1)
    row = queue()[-1]
    assert row.sent_at is None and row.claimed_at is not None and "Error" in row.last_error
    app.config["SMTP_HOST"] = None
    assert mailing.deliver().sent == 0  # not at once: the server may still be down
    assert mailing.deliver(now=utcnow() + mailing.RETRY_AFTER + timedelta(seconds=1)).sent == 1
    assert queue()[-1].attempts == 2 and len(outbox()) == 2


def test_a_ticket_mail_is_not_sent_once_the_seat_was_given_up(app, make_meetup):
    meetup = make_meetup(capacity=30)
    outcome = register(meetup.id, name="Li Lei", email="li@example.com")
    _queued_without_delivery([outcome.registration.id], kind="registration_confirmed")
    db.session.execute(QueuedMail.__table__.update().values(claimed_at=utcnow()))  # a deliverer is slow
    db.session.commit()
    cancel_registration(manage_token(outcome.registration))  # its mail goes at once
    delivery = mailing.deliver(now=utcnow() + mailing.RETRY_AFTER + timedelta(seconds=1))
    assert (delivery.sent, delivery.skipped) == (0, 1)  # the stale ticket does not follow it
    assert len(outbox()) == 2 and "seat was given up" in queue()[-2].last_error


def test_background_delivery_answers_first_and_mails_soon_after(app, make_meetup, tmp_path):
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    meetup = make_meetup(capacity=30, title="Chengdu evening")
    background = create_app(_config(url, tmp_path / "instance", MAIL_DELIVERY="background"))
    client = background.test_client()
    answer = client.post(f"/api/meetups/{meetup.id}/registrations", json={"name": "Li Lei", "email": "li@example.com"},
                         headers={"Accept-Language": "zh"})
    assert answer.status_code == 201
    deadline = time.monotonic() + 10
    with background.app_context():
        # The deliverer writes the message, then marks its row sent: wait for both.
        while (not outbox() or mailing.pending()) and time.monotonic() < deadline:
            db.session.rollback()  # read the deliverer's commit afresh
            time.sleep(0.05)
        assert outbox() == [("li@example.com", "报名成功：Chengdu evening")]
        assert mailing.pending() == 0
        db.session.remove()
        db.engine.dispose()


def test_production_delivers_in_the_background_and_development_inline(tmp_path, monkeypatch):
    monkeypatch.delenv("MEETUPS_MAIL_DELIVERY", raising=False)
    url = f"sqlite:///{tmp_path / 'm.sqlite3'}"
    assert create_app(_config(url, tmp_path / "a")).config["MAIL_DELIVERY"] == "inline"
    production = create_app(_config(url, tmp_path / "b", ENV_NAME="production"))
    assert production.config["MAIL_DELIVERY"] == "background"
    monkeypatch.setenv("MEETUPS_MAIL_DELIVERY", "sometimes")
    with pytest.raises(Exception, match="'inline', 'background' or 'cron'"):
        create_app(_config(url, tmp_path / "c"))


def test_cron_delivery_leaves_the_mail_to_the_deliver_command(app, make_meetup, runner, tmp_path, monkeypatch):
    """MEETUPS_MAIL_DELIVERY=cron: the server only queues; `mail deliver --every N` sends it
    (stopped here after two rounds)."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    meetup = make_meetup(capacity=30, title="Chengdu evening")
    server = create_app(_config(url, app.instance_path, MAIL_DELIVERY="cron"))
    answer = server.test_client().post(f"/api/meetups/{meetup.id}/registrations",
                                       json={"name": "Li Lei", "email": "li@example.com"})
    assert answer.status_code == 201
    assert outbox() == [] and mailing.pending() == 1
    assert "meetups.mail_deliverers" not in server.extensions  # no background thread will send it
    with server.app_context():
        db.engine.dispose()

    rounds = stopped_after_two_sleeps(monkeypatch)
    result = runner.invoke(args=["mail", "deliver", "--every", "5"])
    assert rounds == [5, 5]
    assert result.output.splitlines()[:2] == ["sent 1, failed 0, skipped 0; 0 still queued",
                                               "sent 0, failed 0, skipped 0; 0 still queued"]
    assert outbox() == [("li@example.com", "Your seat at Chengdu evening")]
