"""Capacity, promotions and check-ins hold under a rush: many clients at once against a live
gunicorn with four worker processes, on a SQLite file and (with MEETUPS_TEST_POSTGRES_URL) on
PostgreSQL."""
import email
import threading
from collections import Counter
from email.header import decode_header, make_header

import pytest

from harness.servers import connect, gunicorn, live_instance, request

from .conftest import POSTGRES_URL

WORKERS = 4


@pytest.fixture(scope="module", params=[
    "sqlite",
    pytest.param("postgresql", marks=pytest.mark.skipif(
        not POSTGRES_URL, reason="PostgreSQL tests run where MEETUPS_TEST_POSTGRES_URL is set")),
])
def live(request, tmp_path_factory):
    """A prepared instance served by gunicorn; `live.url` is its address."""
    with live_instance(request.param, tmp_path_factory.mktemp(f"live-{request.param}"), POSTGRES_URL) as instance:
        instance.prepare()
        with gunicorn(instance, workers=WORKERS) as url:
            instance.url = url
            yield instance


def _all_at_once(calls):
    """Run each call in a thread of its own, connected first and released together by a barrier;
    their (status, body) answers in order."""
    barrier = threading.Barrier(len(calls))
    answers = [None] * len(calls)

    def run(number, call):
        connection = None
        try:
            method, url, path, body, *token = call
            connection = connect(url)
            connection.connect()
            barrier.wait(timeout=60)
            answers[number] = request(method, url, path, body, connection=connection, token=token[0] if token else None)
        except Exception as error:  # noqa: BLE001 — every failure is reported by the test
            answers[number] = ("failed", repr(error))
        finally:
            if connection is not None:
                connection.close()

    threads = [threading.Thread(target=run, args=item) for item in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return answers


def _register_call(live, meetup_id, email_address, name="Fan"):
    return "POST", live.url, f"/api/meetups/{meetup_id}/registrations", {"name": name, "email": email_address}


def _register_one_by_one(live, meetup_id, emails):
    answers = [request(*_register_call(live, meetup_id, address)) for address in emails]
    assert [status for status, _body in answers] == [201] * len(emails), answers
    return [body for _status, body in answers]


def _count(live, meetup_id, status):
    return live.scalar("SELECT count(*) FROM registrations WHERE meetup_id = :meetup AND status = :status",
                       meetup=meetup_id, status=status)


def test_the_last_seats_go_to_exactly_as_many_fans_as_are_left(live):
    meetup_id = live.create_meetup(capacity=30)
    _register_one_by_one(live, meetup_id, [f"early{number}@example.com" for number in range(27)])

    answers = _all_at_once([_register_call(live, meetup_id, f"rush{number}@example.com") for number in range(80)])

    assert Counter(status for status, _body in answers) == {201: 80}, [a for a in answers if a[0] != 201][:5]
    statuses = Counter(body["status"] for _status, body in answers)
    assert statuses == {"confirmed": 3, "waitlisted": 77}
    positions = sorted(body["waitlist_position"] for _status, body in answers if body["status"] == "waitlisted")
    assert positions == list(range(1, 78))
    assert all(body["ticket_code"] for _status, body in answers if body["status"] == "confirmed")
    assert _count(live, meetup_id, "confirmed") == 30
    assert _count(live, meetup_id, "waitlisted") == 77
    status, detail = request("GET", live.url, f"/api/meetups/{meetup_id}")
    assert (status, detail["seats_left"], detail["waitlist_length"]) == (200, 0, 77)
    assert live.seat_counters_off() == []


def test_one_email_registers_once_however_often_it_is_sent(live):
    meetup_id = live.create_meetup(capacity=30)

    answers = _all_at_once([_register_call(live, meetup_id, "twin@example.com", f"Twin {number}")
                            for number in range(20)])

    assert Counter(status for status, _body in answers) == {201: 1, 409: 19}, answers
    assert {body["error"]["code"] for status, body in answers if status == 409} == {"already_registered"}
    total = live.scalar("SELECT count(*) FROM registrations WHERE meetup_id = :meetup", meetup=meetup_id)
    assert total == 1
    assert live.seat_counters_off() == []


def test_simultaneous_cancellations_promote_each_fan_in_line_once(live):
    title = "Cancellation rush"
    meetup_id = live.create_meetup(capacity=30, title=title)
    seated = _register_one_by_one(live, meetup_id, [f"seated{number}@example.com" for number in range(30)])
    line_emails = [f"inline{number}@example.com" for number in range(20)]
    in_line = _register_one_by_one(live, meetup_id, line_emails)
    assert {body["status"] for body in seated} == {"confirmed"}
    assert [body["waitlist_position"] for body in in_line] == list(range(1, 21))
    email_of = {body["registration_id"]: address for body, address in zip(in_line, line_emails, strict=True)}

    leaving = seated[:15]
    cancel_calls = [("POST", live.url, "/api/registrations/cancel", {"manage_token": body["manage_token"]})
                    for body in leaving for _twice in range(2)]
    answers = _all_at_once(cancel_calls)

    assert Counter(status for status, _body in answers) == {200: 30}, answers
    assert {body["status"] for _status, body in answers} == {"cancelled"}
    promoted = [number for _status, body in answers for number in body["promoted_registration_ids"]]
    assert len(promoted) == len(set(promoted)) == 15
    assert sorted(number for _s, body in answers if (number := body["promoted_registration_id"])) == sorted(promoted)
    # The first fifteen in line, and no one else.
    assert set(promoted) == {body["registration_id"] for body in in_line[:15]}
    assert _count(live, meetup_id, "confirmed") == 30
    assert _count(live, meetup_id, "waitlisted") == 5
    assert _count(live, meetup_id, "cancelled") == 15
    assert live.seat_counters_off() == []

    promotion_mails = Counter()
    for path in live.outbox.glob("*.eml"):
        mail = email.message_from_bytes(path.read_bytes())
        subject = str(make_header(decode_header(mail["Subject"])))
        if subject.startswith("A seat opened up") and title in subject:
            promotion_mails[mail["To"]] += 1
    assert promotion_mails == Counter({email_of[number]: 1 for number in promoted})


def test_the_seat_counters_hold_through_every_kind_of_change_at_once(live):
    """New fans, fans leaving, fans coming back after cancelling and repeated emails, all at the
    same moment: the meetup's kept counts still say what a recount of its rows says."""
    meetup_id = live.create_meetup(capacity=30)
    seated = _register_one_by_one(live, meetup_id, [f"held{number}@example.com" for number in range(30)])
    _register_one_by_one(live, meetup_id, [f"queued{number}@example.com" for number in range(5)])
    gone = seated[20:]
    for body in gone:
        assert request("POST", live.url, "/api/registrations/cancel", {"manage_token": body["manage_token"]})[0] == 200
    calls = [("POST", live.url, "/api/registrations/cancel", {"manage_token": body["manage_token"]})
             for body in seated[:10]]
    calls += [_register_call(live, meetup_id, f"new{number}@example.com") for number in range(15)]
    calls += [_register_call(live, meetup_id, f"held{number}@example.com") for number in range(20, 30)]  # back
    calls += [_register_call(live, meetup_id, f"held{number}@example.com") for number in range(10, 15)]  # twice

    answers = _all_at_once(calls)

    assert Counter(status for status, _body in answers) == {200: 10, 201: 25, 409: 5}, answers
    assert live.seat_counters_off() == []
    assert _count(live, meetup_id, "confirmed") == 30
    # Before: 25 seated (5 of the line moved up), none in line; 10 left, 25 came: 40 for 30 seats.
    assert _count(live, meetup_id, "waitlisted") == 10


def _check_in_call(live, meetup_id, token, code, nonce=None, device="door"):
    body = {"code": code, "device": device, **({"nonce": nonce} if nonce else {})}
    return "POST", live.url, f"/api/meetups/{meetup_id}/checkins", body, token


def test_one_ticket_scanned_on_many_devices_at_once_admits_once(live):
    meetup_id = live.create_meetup(capacity=30, title="Door rush")
    token = live.staff_token("door-rush@example.com")
    ticket = _register_one_by_one(live, meetup_id, ["twin-ticket@example.com"])[0]

    answers = _all_at_once([_check_in_call(live, meetup_id, token, ticket["ticket_code"], device=f"phone-{number}")
                            for number in range(24)])

    assert Counter(status for status, _body in answers) == {200: 24}, answers
    assert Counter(body["result"] for _status, body in answers) == {"admitted": 1, "already_checked_in": 23}
    admitted = next(body for _status, body in answers if body["result"] == "admitted")
    assert {body["checked_in_at"] for _status, body in answers} == {admitted["checked_in_at"]}
    assert {body["checked_in_by"]["device"] for _status, body in answers} == {admitted["checked_in_by"]["device"]}
    assert live.scalar("SELECT count(*) FROM checkins WHERE registration_id = :r", r=ticket["registration_id"]) == 1
    assert live.scalar("SELECT count(*) FROM checkin_events WHERE registration_id = :r",
                       r=ticket["registration_id"]) == 1


def test_one_request_retried_at_once_is_answered_once(live):
    meetup_id = live.create_meetup(capacity=30, title="Door retries")
    token = live.staff_token("door-retry@example.com")
    ticket = _register_one_by_one(live, meetup_id, ["retry-ticket@example.com"])[0]

    answers = _all_at_once([_check_in_call(live, meetup_id, token, ticket["ticket_code"], nonce="same-scan")
                            for _number in range(16)])

    assert Counter(status for status, _body in answers) == {200: 16}, answers
    assert len({repr(sorted(body.items())) for _status, body in answers}) == 1  # the very same answer
    assert answers[0][1]["result"] == "admitted"
    assert live.scalar("SELECT count(*) FROM checkin_nonces WHERE nonce = 'same-scan'") == 1
    assert live.scalar("SELECT count(*) FROM checkins WHERE registration_id = :r", r=ticket["registration_id"]) == 1
