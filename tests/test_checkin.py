"""Check-in at the door: every answer a scan can get, exact codes checked before any lookup, one
check-in per registration, nonces, the manual fallback, undo, search, the offline roster and sync
with conflicts, who may use the door, and the session with its CSRF header."""
import base64
import hashlib
import json
from datetime import UTC, timedelta
from unittest import mock

import pytest
from sqlalchemy import event, func, select

from meetups.accounts.models import User
from meetups.accounts.services import issue_token, user_for_token
from meetups.checkin.models import CheckIn, CheckInConflict, CheckInEvent, CheckInNonce
from meetups.checkin.services import (
    SyncedScan,
    check_in_code,
    check_in_registration,
    door_counts,
    door_meetups,
    door_status,
    roster,
    search_registrations,
    sync_scans,
    undo_check_in,
)
from meetups.errors import DomainError
from meetups.extensions import db
from meetups.registration.models import Registration
from meetups.registration.seats import recount
from meetups.registration.services import cancel_meetup, cancel_registration, register
from meetups.shared.ticket_codes import ticket_code
from meetups.shared.timeutil import to_local, utcnow

from .conftest import csrf_token

pytestmark = pytest.mark.usefixtures("ticket_key_from_instance")


@pytest.fixture
def token(staff):
    return issue_token(staff.email)


def seat(meetup, name="Li Lei", email=None) -> tuple[Registration, str]:
    """A confirmed registration and its ticket code."""
    outcome = register(meetup.id, name=name, email=email or f"{name.lower().replace(' ', '.')}@example.com")
    return outcome.registration, ticket_code(outcome.registration.ticket_ref)


def set_status(registration: Registration, status: str) -> None:
    registration.status = status
    if status == "offered":
        registration.offer_expires_at = utcnow() + timedelta(hours=2)
    recount(registration.meetup, utcnow())  # as the registration services end every change to seats
    db.session.commit()


def rows(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def api(client, token, method, path, body=None, **headers):
    return client.open(path, method=method, json=body, headers={"Authorization": f"Bearer {token}", **headers})


# --- every result ---------------------------------------------------------------------------

def test_a_ticket_admits_once_and_then_says_when_and_by_whom(app, meetup, staff):
    registration, code = seat(meetup)
    seat(meetup, "Han Meimei")

    first = check_in_code(meetup.id, code, user=staff, device="door-1")
    again = check_in_code(meetup.id, code, user=staff, device="door-2")

    assert first["result"] == "admitted"
    assert first["attendee"] == {"registration_id": registration.id, "name": "Li Lei"}
    assert first["checked_in_by"] == {"device": "door-1", "user": "Door one"}
    assert (first["arrived"], first["expected"]) == (1, 2)
    assert first["message"] == "Admit Li Lei."
    assert again["result"] == "already_checked_in"
    assert again["checked_in_at"] == first["checked_in_at"]
    assert again["checked_in_by"] == {"device": "door-1", "user": "Door one"}
    assert "already checked in" in again["message"] and "door-1" in again["message"]
    assert (again["arrived"], again["expected"]) == (1, 2)
    assert rows(CheckIn) == 1
    assert db.session.scalars(select(CheckInEvent.action)).all() == ["checked_in"]


def test_checked_in_at_is_iso_in_the_city_time_zone(app, meetup, staff):
    _registration, code = seat(meetup)
    before = utcnow().replace(microsecond=0)
    answer = check_in_code(meetup.id, code, user=staff)
    assert answer["checked_in_at"].endswith("+08:00")
    assert answer["checked_in_at"] >= to_local(before, "Asia/Shanghai").isoformat()


def _same_bits_other_letter(code: str) -> str:
    """The signature's last base64 letter carries 2 bits and 4 bits of padding: another letter with
    the same 2 bits decodes to the very same signature."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(code[-1])
    twin = code[:-1] + alphabet[last ^ 1]
    signature = code.rsplit(".", 1)[1]
    twin_signature = twin.rsplit(".", 1)[1]
    assert base64.urlsafe_b64decode(signature + "==") == base64.urlsafe_b64decode(twin_signature + "==")
    return twin


@pytest.mark.parametrize("change", [
    pytest.param(lambda code: code[:10] + ("x" if code[10] != "x" else "y") + code[11:], id="one-character"),
    pytest.param(str.lower, id="lowercase"),
    pytest.param(str.upper, id="uppercase"),
    pytest.param(lambda code: f" {code}", id="leading-space"),
    pytest.param(lambda code: f"{code}\n", id="trailing-newline"),
    pytest.param(lambda code: code + "==", id="base64-padding"),
    pytest.param(_same_bits_other_letter, id="same-signature-other-text"),
    pytest.param(lambda code: code.rsplit(".", 1)[0], id="no-signature"),
    pytest.param(lambda code: "MT2" + code[3:], id="other-format"),
    pytest.param(lambda code: "hello", id="junk"),
])
def test_only_the_exact_code_is_a_ticket(app, meetup, staff, change):
    registration, code = seat(meetup)
    answer = check_in_code(meetup.id, change(code), user=staff)
    assert answer["result"] == "invalid"
    assert answer["attendee"] is None and answer["checked_in_at"] is None
    assert answer["message"] == "Not a valid ticket: do not admit."
    assert rows(CheckIn) == 0
    assert check_in_code(meetup.id, code, user=staff)["result"] == "admitted"


def test_a_genuine_code_for_another_meetup_is_the_wrong_meetup(app, make_meetup, make_city, meetup, staff):
    shanghai = make_city("Shanghai", lat=31.22, lon=121.46, name_zh="上海")
    other = make_meetup(city=shanghai, title="Shanghai evening", days_from_now=8)
    registration, code = seat(other)

    answer = check_in_code(meetup.id, code, user=staff)

    assert answer["result"] == "wrong_meetup"
    assert answer["attendee"] == {"registration_id": registration.id, "name": "Li Lei"}
    assert answer["ticket_meetup"]["id"] == other.id
    assert answer["ticket_meetup"]["title"] == "Shanghai evening"
    assert answer["ticket_meetup"]["city"] == "Shanghai"
    assert answer["ticket_meetup"]["starts_at"] == to_local(other.starts_at, "Asia/Shanghai").isoformat()
    assert "Shanghai evening" in answer["message"]
    assert rows(CheckIn) == 0


@pytest.mark.parametrize("status", ["waitlisted", "offered"])
def test_no_seat_no_entry(app, meetup, staff, status):
    registration, code = seat(meetup)
    set_status(registration, status)
    answer = check_in_code(meetup.id, code, user=staff)
    assert (answer["result"], answer["reason"]) == ("not_admitted", status)
    assert answer["attendee"]["name"] == "Li Lei"
    assert rows(CheckIn) == 0


def test_a_cancelled_registrations_old_code_is_refused_as_cancelled(app, meetup, staff):
    from meetups.registration.services import manage_token

    registration, code = seat(meetup)
    cancel_registration(manage_token(registration))

    answer = check_in_code(meetup.id, code, user=staff)

    # Cancelling redraws the ticket reference: the code is genuine but names nobody any more.
    assert (answer["result"], answer["reason"], answer["attendee"]) == ("not_admitted", "cancelled", None)
    assert answer["message"] == "This ticket was cancelled: do not admit."
    manual = check_in_registration(meetup.id, registration.id, user=staff)
    assert (manual["result"], manual["reason"], manual["attendee"]["name"]) == ("not_admitted", "cancelled", "Li Lei")
    assert rows(CheckIn) == 0


def test_a_forged_code_is_refused_before_anything_is_looked_up(app, meetup, staff):
    _registration, code = seat(meetup)
    forged = code[:-2] + ("AA" if not code.endswith("AA") else "BB")
    statements = []

    def remember(_connection, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", remember)
    try:
        assert check_in_code(meetup.id, forged, user=staff, nonce="n-1")["result"] == "invalid"
        assert statements and not [statement for statement in statements if "ticket_ref" in statement]
        statements.clear()
        assert check_in_code(meetup.id, code, user=staff)["result"] == "admitted"
        assert [statement for statement in statements if "ticket_ref" in statement]
    finally:
        event.remove(db.engine, "before_cursor_execute", remember)


def test_a_token_gives_the_account_as_the_session_holds_it(app, staff, token):
    """The door's token lookup builds the account from its row instead of loading it: it must be
    the session's own object, unchanged, whichever way it comes."""
    expected = (staff.id, staff.email, staff.name, staff.role, staff.active, staff.created_at)
    assert user_for_token(token) is staff  # already held by this session
    db.session.expunge_all()
    user = user_for_token(token)
    assert (user.id, user.email, user.name, user.role, user.active, user.created_at) == expected
    assert user in db.session and not db.session.dirty and not db.session.new
    assert db.session.get(User, expected[0]) is user
    db.session.commit()  # nothing to write
    assert user.email == expected[1]


# --- nonces ---------------------------------------------------------------------------------

def test_a_retried_request_gets_the_first_answer_and_changes_nothing(app, meetup, staff, make_user):
    registration, code = seat(meetup)
    first = check_in_code(meetup.id, code, user=staff, device="door-1", nonce="scan-1")
    state = (rows(CheckIn), rows(CheckInEvent), rows(CheckInNonce))

    assert check_in_code(meetup.id, code, user=staff, device="door-1", nonce="scan-1") == first
    assert (rows(CheckIn), rows(CheckInEvent), rows(CheckInNonce)) == state

    # Undone since: the replay still says what it said, and checks nobody in again.
    undo_check_in(meetup.id, registration.id, user=staff, device="door-1")
    assert check_in_code(meetup.id, code, user=staff, nonce="scan-1") == first
    assert door_counts(meetup.id) == (0, 1)
    # Even another code under the same nonce: the nonce names the request.
    assert check_in_code(meetup.id, "junk", user=staff, nonce="scan-1") == first
    # Nonces belong to one account at one meetup.
    other = make_user("staff", email="door2@example.com")
    assert check_in_code(meetup.id, code, user=other, nonce="scan-1")["result"] == "admitted"


def test_a_replayed_answer_is_verbatim_over_the_api(client, meetup, token):
    _registration, code = seat(meetup)
    path = f"/api/meetups/{meetup.id}/checkins"
    first = api(client, token, "POST", path, {"code": code, "nonce": "n-7"}, **{"Accept-Language": "zh"})
    seat(meetup, "Han Meimei")  # the counts change…
    again = api(client, token, "POST", path, {"code": code, "nonce": "n-7"})
    assert first.status_code == again.status_code == 200
    assert again.get_data() == first.get_data()  # …the answer does not, nor its language
    assert first.get_json()["message"] == "请入场：Li Lei。"


# --- manual check-in and undo ---------------------------------------------------------------

def test_manual_check_in_from_a_search_result(app, make_meetup, make_city, meetup, staff):
    registration, _code = seat(meetup)
    answer = check_in_registration(meetup.id, registration.id, user=staff, device="door-1")
    assert (answer["result"], answer["attendee"]["name"]) == ("admitted", "Li Lei")
    assert check_in_registration(meetup.id, registration.id, user=staff)["result"] == "already_checked_in"
    assert db.session.scalar(select(CheckIn.method)) == "manual"

    assert check_in_registration(meetup.id, 999_999, user=staff)["result"] == "invalid"
    other = make_meetup(city=make_city("Wuhan"), title="Elsewhere")
    stranger, _ = seat(other, "Zhang San")
    assert check_in_registration(meetup.id, stranger.id, user=staff)["result"] == "wrong_meetup"


def test_undo_is_recorded_and_the_fan_can_come_in_again(app, meetup, staff):
    registration, code = seat(meetup)
    with pytest.raises(DomainError) as refused:
        undo_check_in(meetup.id, registration.id, user=staff)
    assert (refused.value.code, refused.value.status) == ("not_checked_in", 409)

    check_in_code(meetup.id, code, user=staff, device="door-1")
    assert undo_check_in(meetup.id, registration.id, user=staff, device="door-2") == (0, 1)
    assert rows(CheckIn) == 0
    trail = db.session.execute(select(CheckInEvent.action, CheckInEvent.device, CheckInEvent.user_id)
                               .order_by(CheckInEvent.id)).all()
    assert [tuple(row) for row in trail] == [("checked_in", "door-1", staff.id), ("undone", "door-2", staff.id)]
    assert check_in_code(meetup.id, code, user=staff)["result"] == "admitted"


def test_undo_over_the_api(client, meetup, token):
    registration, code = seat(meetup)
    path = f"/api/meetups/{meetup.id}/checkins/{registration.id}/undo"
    refused = api(client, token, "POST", path, {})
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "not_checked_in"
    api(client, token, "POST", f"/api/meetups/{meetup.id}/checkins", {"code": code})
    answer = api(client, token, "POST", path, {"device": "door-1"})
    assert answer.status_code == 200
    assert answer.get_json() == {"result": "undone", "registration_id": registration.id, "arrived": 0, "expected": 1}
    assert client.post(path, headers={"Authorization": f"Bearer {token}"}).status_code == 409  # no body is fine


# --- the door screen ------------------------------------------------------------------------

def test_door_shows_counts_who_is_missing_and_the_last_check_ins(client, meetup, staff, token):
    people = [seat(meetup, name) for name in ("Zhou Yu", "an Ning", "Bai Li", "Chen Mo")]
    waiting, _code = seat(meetup, "Wait Ing")
    set_status(waiting, "waitlisted")
    for _registration, code in people[:2]:
        check_in_code(meetup.id, code, user=staff, device="door-1")

    door = api(client, token, "GET", f"/api/meetups/{meetup.id}/door").get_json()

    assert door["meetup"]["id"] == meetup.id and door["meetup"]["venue_name"] == "Fan hall"
    assert (door["arrived"], door["expected"]) == (2, 4)
    assert [person["name"] for person in door["missing"]] == ["Bai Li", "Chen Mo"]
    assert [entry["name"] for entry in door["recent"]] == ["an Ning", "Zhou Yu"]
    assert door["recent"][0]["device"] == "door-1" and door["recent"][0]["user"] == "Door one"
    assert door["conflicts"] == []


def test_recent_lists_the_last_ten(app, meetup, staff):
    for number in range(12):
        _registration, code = seat(meetup, f"Fan {number:02}")
        check_in_code(meetup.id, code, user=staff, now=utcnow() + timedelta(seconds=number))
    recent = door_status(meetup.id)["recent"]
    assert [entry["name"] for entry in recent] == [f"Fan {number:02}" for number in range(11, 1, -1)]


def test_search_by_name_email_or_the_exact_code(app, make_meetup, make_city, meetup, staff):
    li, li_code = seat(meetup, "Li Lei", "lilei@example.com")
    seat(meetup, "Lisa Wong", "lisa@example.com")
    waiting, _ = seat(meetup, "Ali Waits", "ali@example.com")
    set_status(waiting, "waitlisted")
    seat(make_meetup(city=make_city("Wuhan")), "Li Elsewhere")
    check_in_code(meetup.id, li_code, user=staff)

    found = search_registrations(meetup.id, "LI")
    assert [hit["name"] for hit in found] == ["Li Lei", "Lisa Wong", "Ali Waits"]  # confirmed first
    assert found[0]["checked_in_at"] is not None and found[1]["checked_in_at"] is None
    assert found[2]["status"] == "waitlisted"
    assert [hit["name"] for hit in search_registrations(meetup.id, "lisa@")] == ["Lisa Wong"]
    assert [hit["registration_id"] for hit in search_registrations(meetup.id, li_code)] == [li.id]
    assert search_registrations(meetup.id, li_code.lower()) == []
    assert search_registrations(meetup.id, "%") == []  # no wildcards
    assert search_registrations(meetup.id, "   ") == []


def test_search_answers_at_most_twenty(client, meetup, token):
    for number in range(25):
        seat(meetup, f"Fan {number:02}")
    answer = api(client, token, "GET", f"/api/meetups/{meetup.id}/checkins/search?q=fan").get_json()
    assert len(answer["results"]) == 20
    assert set(answer["results"][0]) == {"registration_id", "name", "email", "status", "checked_in_at"}


# --- offline: roster and sync ---------------------------------------------------------------

def test_the_roster_holds_hashes_of_the_codes_never_the_codes(client, meetup, staff, token):
    li, li_code = seat(meetup, "Li Lei")
    han, han_code = seat(meetup, "Han Meimei")
    waiting, _ = seat(meetup, "Wait Ing")
    set_status(waiting, "waitlisted")
    check_in_code(meetup.id, li_code, user=staff)

    response = api(client, token, "GET", f"/api/meetups/{meetup.id}/roster")

    assert response.headers["Cache-Control"] == "private, no-store"
    body = response.get_data(as_text=True)
    for secret in (li_code, han_code, li.ticket_ref, han.ticket_ref, li_code.rsplit(".", 1)[1]):
        assert secret not in body
    entries = {entry["registration_id"]: entry for entry in response.get_json()["entries"]}
    assert set(entries) == {li.id, han.id}
    assert entries[han.id]["code_sha256"] == hashlib.sha256(han_code.encode()).hexdigest()
    assert entries[han.id]["name"] == "Han Meimei" and entries[han.id]["checked_in_at"] is None
    assert entries[li.id]["checked_in_at"] is not None
    assert response.get_json()["meetup"]["id"] == meetup.id and response.get_json()["generated_at"]


def test_the_roster_knows_codes_signed_before_a_key_rotation(app, meetup):
    registration, old_code = seat(meetup)
    app.config["TICKET_KEYS_PREVIOUS"] = app.config["TICKET_KEY"]
    app.config["TICKET_KEY"] = "a-new-ticket-key"
    entry = roster(meetup.id)["entries"][0]
    assert entry["code_sha256"] == hashlib.sha256(ticket_code(registration.ticket_ref).encode()).hexdigest()
    assert entry["code_sha256_previous"] == [hashlib.sha256(old_code.encode()).hexdigest()]


def scan(nonce, registration, minutes_ago=5):
    return SyncedScan(nonce, registration.id,
                      (utcnow() - timedelta(minutes=minutes_ago)).replace(tzinfo=UTC))


def test_synced_scans_check_in_with_the_devices_time(app, meetup, staff):
    li, _ = seat(meetup, "Li Lei")
    scanned = scan("a-1", li, minutes_ago=12)
    results, counts = sync_scans(meetup.id, [scanned], user=staff, device="phone-a")
    assert results[0]["nonce"] == "a-1" and results[0]["result"] == "admitted" and results[0]["conflict"] is None
    assert counts == (1, 1)
    stored = db.session.scalar(select(CheckIn))
    assert stored.method == "sync" and stored.device == "phone-a"
    assert abs(stored.checked_in_at - scanned.scanned_at.replace(tzinfo=None)) < timedelta(seconds=1)


def test_a_scan_synced_after_another_device_admitted_the_fan_is_a_conflict(client, meetup, make_user, token):
    li, li_code = seat(meetup, "Li Lei")
    han, _ = seat(meetup, "Han Meimei")
    api(client, token, "POST", f"/api/meetups/{meetup.id}/checkins", {"code": li_code, "device": "phone-a"})
    offline = make_user("staff", email="offline@example.com", name="Offline")
    offline_token = issue_token(offline.email)
    body = {"device": "phone-b", "scans": [
        {"nonce": "b-1", "registration_id": li.id, "scanned_at": "2026-11-23T19:05:00+08:00"},
        {"nonce": "b-2", "registration_id": han.id, "scanned_at": "2026-11-23T19:06:00Z"},
        {"nonce": "b-3", "registration_id": han.id, "scanned_at": "2026-11-23T19:07:00"},  # the same phone again
    ]}

    answer = api(client, offline_token, "POST", f"/api/meetups/{meetup.id}/checkins/sync", body)

    assert answer.status_code == 200
    synced = answer.get_json()
    assert [result["result"] for result in synced["results"]] == ["already_checked_in", "admitted",
                                                                  "already_checked_in"]
    conflict = synced["results"][0]["conflict"]
    assert conflict["registration_id"] == li.id and conflict["name"] == "Li Lei"
    assert conflict["first"]["device"] == "phone-a" and conflict["first"]["user"] == "Door one"
    assert conflict["second"] == {"device": "phone-b", "user": "Offline", "at": "2026-11-23T19:05:00+08:00"}
    assert synced["results"][2]["conflict"] is None  # one phone scanning twice is no conflict
    assert (synced["arrived"], synced["expected"]) == (2, 2)  # never counted twice
    assert rows(CheckIn) == 2

    door = api(client, token, "GET", f"/api/meetups/{meetup.id}/door").get_json()
    assert [listed["id"] for listed in door["conflicts"]] == [conflict["id"]]
    assert door["conflicts"][0]["first"] == conflict["first"]

    # The same sync again (the answer was lost on the way): the same answers, nothing new stored.
    again = api(client, offline_token, "POST", f"/api/meetups/{meetup.id}/checkins/sync", body).get_json()
    assert again["results"] == synced["results"]
    assert rows(CheckInConflict) == 1 and rows(CheckIn) == 2

    dismissed = api(client, token, "POST", f"/api/meetups/{meetup.id}/conflicts/{conflict['id']}/dismiss", {})
    assert dismissed.status_code == 200
    assert api(client, token, "GET", f"/api/meetups/{meetup.id}/door").get_json()["conflicts"] == []
    assert api(client, token, "POST", f"/api/meetups/{meetup.id}/conflicts/{conflict['id']}/dismiss").status_code == 200
    assert api(client, token, "POST", f"/api/meetups/{meetup.id}/conflicts/999/dismiss").status_code == 404
    actions = db.session.scalars(select(CheckInEvent.action).order_by(CheckInEvent.id)).all()
    assert actions == ["checked_in", "conflict", "checked_in", "conflict_dismissed"]


def test_an_online_scan_retried_through_sync_keeps_its_first_answer(app, meetup, staff):
    li, li_code = seat(meetup)
    online = check_in_code(meetup.id, li_code, user=staff, device="phone-a", nonce="s-1")
    results, _counts = sync_scans(meetup.id, [scan("s-1", li)], user=staff, device="phone-a")
    assert results[0]["result"] == "admitted" and results[0]["checked_in_at"] == online["checked_in_at"]
    assert rows(CheckInConflict) == 0


def test_each_synced_scan_is_stored_whole_or_not_at_all(app, meetup, staff):
    li, _ = seat(meetup, "Li Lei")
    han, _ = seat(meetup, "Han Meimei")
    commit, commits = db.session.commit, []

    def die_before_the_second_commit():
        commits.append(1)
        if len(commits) == 2:  # Han's check-in, its event and its answer are written, not committed
            raise RuntimeError("the server died half-way")
        commit()

    scans = [scan("c-1", li), scan("c-2", han)]
    with mock.patch.object(db.session, "commit", side_effect=die_before_the_second_commit), \
            pytest.raises(RuntimeError):
        sync_scans(meetup.id, scans, user=staff, device="phone-c")
    db.session.rollback()
    assert db.session.scalars(select(CheckIn.registration_id)).all() == [li.id]  # Han's half-written scan is gone
    assert db.session.scalars(select(CheckInNonce.nonce)).all() == ["c-1"]

    results, counts = sync_scans(meetup.id, scans, user=staff, device="phone-c")
    assert [result["result"] for result in results] == ["admitted", "admitted"]
    assert counts == (2, 2)


def test_a_scan_from_a_clock_ahead_is_taken_as_now(app, meetup, staff):
    li, _ = seat(meetup)
    before = utcnow()
    future = SyncedScan("f-1", li.id, (before + timedelta(hours=3)).replace(tzinfo=UTC))
    sync_scans(meetup.id, [future], user=staff, device="phone-f")
    assert before <= db.session.scalar(select(CheckIn.checked_in_at)) <= utcnow()


def test_a_scan_time_without_an_offset_is_local_time_in_the_city(app, meetup, staff):
    li, _ = seat(meetup)
    local = to_local(utcnow() - timedelta(minutes=30), "Asia/Shanghai").replace(tzinfo=None, microsecond=0)
    sync_scans(meetup.id, [SyncedScan("l-1", li.id, local)], user=staff, device="phone-l")
    stored = db.session.scalar(select(CheckIn.checked_in_at))
    assert to_local(stored, "Asia/Shanghai").replace(tzinfo=None) == local


@pytest.mark.parametrize("body, field", [
    ({"scans": []}, "device"),
    ({"device": "p", "scans": "no"}, "scans"),
    ({"device": "p", "scans": [{"registration_id": 1, "scanned_at": "2026-11-23T19:05:00Z"}]}, "scans[0].nonce"),
    ({"device": "p", "scans": [{"nonce": "x", "registration_id": "1", "scanned_at": "2026-11-23T19:05:00Z"}]},
     "scans[0].registration_id"),
    ({"device": "p", "scans": [{"nonce": "x", "registration_id": 1, "scanned_at": "yesterday"}]},
     "scans[0].scanned_at"),
    ({"device": "p", "scans": [7]}, "scans[0]"),
])
def test_a_bad_sync_names_the_field_and_stores_nothing(client, meetup, token, body, field):
    seat(meetup)
    answer = api(client, token, "POST", f"/api/meetups/{meetup.id}/checkins/sync", body)
    assert answer.status_code == 422
    assert field in answer.get_json()["error"]["fields"]
    assert rows(CheckIn) == 0


# --- the API's edges ------------------------------------------------------------------------

@pytest.mark.parametrize("body, status, field", [
    ({}, 422, "code"),
    ({"code": 12}, 422, "code"),
    ({"code": "x", "nonce": "n" * 101}, 422, "nonce"),
    ({"code": "x", "device": ["phone"]}, 422, "device"),
    (None, 400, None),
])
def test_bad_check_in_requests(client, meetup, token, body, status, field):
    answer = api(client, token, "POST", f"/api/meetups/{meetup.id}/checkins", body)
    assert answer.status_code == status
    error = answer.get_json()["error"]
    if field:
        assert error["code"] == "invalid" and field in error["fields"]


@pytest.mark.parametrize("body", [{}, {"registration_id": "5"}, {"registration_id": True}, {"registration_id": 0}])
def test_manual_check_in_needs_a_registration_number(client, meetup, token, body):
    answer = api(client, token, "POST", f"/api/meetups/{meetup.id}/checkins/manual", body)
    assert answer.status_code == 422
    assert "registration_id" in answer.get_json()["error"]["fields"]


def test_no_door_for_a_missing_draft_or_cancelled_meetup(client, make_meetup, meetup, token):
    draft = make_meetup(status="draft")
    for meetup_id in (draft.id, 999_999):
        answer = api(client, token, "GET", f"/api/meetups/{meetup_id}/door")
        assert (answer.status_code, answer.get_json()["error"]["code"]) == (404, "not_found")
    _registration, code = seat(meetup)
    cancel_meetup(meetup.id)
    answer = api(client, token, "POST", f"/api/meetups/{meetup.id}/checkins", {"code": code})
    assert (answer.status_code, answer.get_json()["error"]["code"]) == (409, "meetup_cancelled")


def test_messages_follow_the_request_language(client, meetup, token):
    _registration, code = seat(meetup)
    path = f"/api/meetups/{meetup.id}/checkins"
    assert api(client, token, "POST", path, {"code": "junk"}, **{"Accept-Language": "zh-CN"}).get_json()[
        "message"] == "无效的票：请勿放行。"
    api(client, token, "POST", path, {"code": code})
    again = api(client, token, "POST", f"{path}?lang=zh", {"code": code}).get_json()
    assert again["result"] == "already_checked_in" and "已经签到" in again["message"]


# --- who may use the door -------------------------------------------------------------------

DOOR_CALLS = [
    ("POST", "/checkins", {"code": "x"}),
    ("POST", "/checkins/manual", {"registration_id": 1}),
    ("POST", "/checkins/1/undo", {}),
    ("POST", "/checkins/sync", {"device": "p", "scans": []}),
    ("POST", "/conflicts/1/dismiss", {}),
    ("GET", "/door", None),
    ("GET", "/checkins/search?q=li", None),
    ("GET", "/roster", None),
]


@pytest.mark.parametrize("method, path, body", DOOR_CALLS)
def test_the_door_is_for_staff_and_admins(client, meetup, make_user, method, path, body):
    url = f"/api/meetups/{meetup.id}{path}"
    anonymous = client.open(url, method=method, json=body)
    assert (anonymous.status_code, anonymous.get_json()["error"]["code"]) == (401, "unauthorized")
    for role in ("planner", "engineer"):
        make_user(role, email=f"{role}@example.com")
        answer = api(client, issue_token(f"{role}@example.com"), method, url, body)
        assert (answer.status_code, answer.get_json()["error"]["code"]) == (403, "forbidden"), role
    for role in ("staff", "admin"):
        make_user(role, email=f"{role}@example.com")
        answer = api(client, issue_token(f"{role}@example.com"), method, url, body)
        assert answer.status_code in (200, 404, 409), role  # allowed in (nothing to undo or dismiss here)
        assert answer.get_json().get("error", {}).get("code") not in ("unauthorized", "forbidden")


def test_the_door_page_calls_the_api_with_its_session_and_csrf_header(client, auth, meetup, staff):
    _registration, code = seat(meetup)
    auth.login("door@example.com")
    path = f"/api/meetups/{meetup.id}/checkins"

    refused = client.post(path, json={"code": code})
    assert refused.status_code == 400
    assert rows(CheckIn) == 0
    assert client.get(f"/api/meetups/{meetup.id}/door").status_code == 200  # reading needs no token

    answer = client.post(path, json={"code": code}, headers={"X-CSRFToken": csrf_token(client, "/")})
    assert answer.status_code == 200 and answer.get_json()["result"] == "admitted"


# --- the staff's meetup picker --------------------------------------------------------------

def test_door_meetups_are_those_of_today_in_progress_and_the_next_days(app, make_meetup, chengdu):
    now = utcnow()
    make_meetup(city=chengdu, title="In progress", days_from_now=0, ends_at=now + timedelta(hours=1))
    make_meetup(city=chengdu, title="Tomorrow", days_from_now=1)
    make_meetup(city=chengdu, title="Next week", days_from_now=6)
    for title, days, extra in (("Long over", -3, {}), ("Far ahead", 30, {}), ("Draft", 1, {"status": "draft"}),
                               ("Cancelled", 1, {"status": "cancelled"})):
        make_meetup(city=chengdu, title=title, days_from_now=days, **extra)
    # Moved to start two hours ago: in progress (no end time: it is taken to last a few hours).
    started = make_meetup(city=chengdu, title="Started", days_from_now=0)
    started.starts_at = now - timedelta(hours=2)
    db.session.commit()

    assert [meetup.title for meetup in door_meetups(now)] == ["Started", "In progress", "Tomorrow", "Next week"]


def test_stored_answers_are_json(app, meetup, staff):
    _registration, code = seat(meetup)
    answer = check_in_code(meetup.id, code, user=staff, nonce="j-1")
    assert json.loads(db.session.scalar(select(CheckInNonce.answer))) == answer
