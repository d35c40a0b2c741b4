"""The fans' JSON API (docs/api.md): meetups, registering, the waiting list, cancelling."""
import email
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from meetups.extensions import db
from meetups.registration.models import Registration
from meetups.registration.services import create_invite_codes, format_code
from meetups.shared.mail import outbox_path
from meetups.shared.ticket_codes import verify
from meetups.shared.timeutil import utcnow

MEETUP_FIELDS = {"id", "title", "city", "city_zh", "starts_at", "ends_at", "capacity", "seats_left",
                 "waitlist_length", "status", "venue_name", "venue_address", "url", "registration_open"}


def _register(client, meetup_id, number=1, **extra):
    body = {"name": f"Fan {number}", "email": f"fan{number}@example.com", **extra}
    return client.post(f"/api/meetups/{meetup_id}/registrations", json=body)


def _fill(client, meetup_id, count, start=1):
    """`count` fans register one after another; their answers."""
    answers = [_register(client, meetup_id, number) for number in range(start, start + count)]
    assert all(answer.status_code == 201 for answer in answers)
    return [answer.get_json() for answer in answers]


def _error(answer, status, code):
    assert answer.status_code == status, answer.get_data(as_text=True)
    assert answer.is_json
    error = answer.get_json()["error"]
    assert error["code"] == code
    assert error["message"]
    return error


def _confirmed(meetup_id) -> int:
    return db.session.scalar(select(func.count()).select_from(Registration).where(
        Registration.meetup_id == meetup_id, Registration.status == "confirmed"))


# --- reading -------------------------------------------------------------------------------

def test_list_shows_upcoming_published_and_closed_meetups_with_their_numbers(client, make_city, make_meetup):
    chengdu = make_city("Chengdu", lat=30.66, lon=104.07, name_zh="成都")
    soon = make_meetup(city=chengdu, days_from_now=3, capacity=30, title="Camera night",
                       venue_name="Fan hall", venue_address="1 Tianfu Road")
    later = make_meetup(city=chengdu, days_from_now=10, status="closed", title="Closed one")
    make_meetup(city=chengdu, status="draft", title="Draft")
    make_meetup(city=chengdu, days_from_now=-3, title="Past")
    _fill(client, soon.id, 31)

    answer = client.get("/api/meetups")
    assert answer.status_code == 200
    listed = answer.get_json()["meetups"]
    assert [entry["title"] for entry in listed] == ["Camera night", "Closed one"]
    first = listed[0]
    assert MEETUP_FIELDS <= set(first)
    assert first["id"] == soon.id
    assert (first["city"], first["city_zh"]) == ("Chengdu", "成都")
    assert (first["capacity"], first["seats_left"], first["waitlist_length"]) == (30, 0, 1)
    assert (first["venue_name"], first["venue_address"]) == ("Fan hall", "1 Tianfu Road")
    assert first["status"] == "published" and first["registration_open"] is True
    assert first["url"] == f"http://localhost/meetups/{soon.id}"
    # City time with its offset: the same moment as stored in UTC.
    assert first["starts_at"].endswith("+08:00")
    starts = datetime.fromisoformat(first["starts_at"])
    assert starts.utcoffset() == timedelta(hours=8)
    assert starts.astimezone(UTC).replace(tzinfo=None) == soon.starts_at
    second = listed[1]
    assert second["id"] == later.id
    assert (second["status"], second["registration_open"], second["seats_left"]) == ("closed", False, 40)


def test_list_puts_the_nearest_meetup_first_for_a_city(client, make_city, make_meetup):
    chengdu = make_city("Chengdu", lat=30.66, lon=104.07, name_zh="成都")
    beijing = make_city("Beijing", lat=39.90, lon=116.40, name_zh="北京")
    shanghai = make_city("Shanghai", lat=31.23, lon=121.47, name_zh="上海")
    make_city("Tianjin", lat=39.13, lon=117.20, name_zh="天津")
    make_meetup(city=chengdu, days_from_now=2, title="Chengdu")
    make_meetup(city=shanghai, days_from_now=3, title="Shanghai")
    make_meetup(city=beijing, days_from_now=4, title="Beijing")

    by_date = client.get("/api/meetups").get_json()
    assert [entry["title"] for entry in by_date["meetups"]] == ["Chengdu", "Shanghai", "Beijing"]
    near_tianjin = client.get("/api/meetups?city=天津").get_json()
    assert [entry["title"] for entry in near_tianjin["meetups"]] == ["Beijing", "Shanghai", "Chengdu"]
    assert near_tianjin["near"] == "Tianjin"
    assert near_tianjin["meetups"][0]["distance_km"] < 150
    for unknown_city in ("Atlantis", "%00", "x" * 300):  # no such city: date order stands
        unknown = client.get(f"/api/meetups?city={unknown_city}").get_json()
        assert [entry["title"] for entry in unknown["meetups"]] == ["Chengdu", "Shanghai", "Beijing"]


def test_nearest_first_measures_to_the_venue_pin_when_there_is_one(client, make_city, make_meetup):
    make_city("Homeville", lat=30.0, lon=104.0)
    near_city = make_city("Nearville", lat=30.0, lon=104.5)  # 48 km from home
    far_city = make_city("Farville", lat=30.0, lon=105.0)  # 96 km, but its venue is 19 km from home
    make_meetup(city=near_city, days_from_now=2, title="Near city")
    pinned = make_meetup(city=far_city, days_from_now=3, title="Pinned venue", venue_latitude=30.0,
                         venue_longitude=104.2)

    listed = client.get("/api/meetups?city=Homeville").get_json()["meetups"]
    assert [entry["title"] for entry in listed] == ["Pinned venue", "Near city"]
    assert listed[0]["distance_km"] == pytest.approx(19.3, abs=0.2)
    assert (listed[0]["venue_latitude"], listed[0]["venue_longitude"]) == (30.0, 104.2)
    assert (listed[1]["venue_latitude"], listed[1]["venue_longitude"]) == (None, None)
    assert pinned.id == listed[0]["id"]


def test_detail_has_the_same_fields(client, make_meetup):
    meetup = make_meetup(capacity=35, ends_at=utcnow() + timedelta(days=14, hours=3))
    _fill(client, meetup.id, 2)
    answer = client.get(f"/api/meetups/{meetup.id}")
    assert answer.status_code == 200
    detail = answer.get_json()
    assert MEETUP_FIELDS <= set(detail)
    assert (detail["id"], detail["capacity"], detail["seats_left"], detail["waitlist_length"]) == (meetup.id, 35, 33, 0)
    assert detail["ends_at"] > detail["starts_at"]
    listed = client.get("/api/meetups").get_json()["meetups"][0]
    assert {key: listed[key] for key in MEETUP_FIELDS} == {key: detail[key] for key in MEETUP_FIELDS}


def test_draft_and_missing_meetups_are_not_found(client, make_meetup):
    draft = make_meetup(status="draft")
    _error(client.get(f"/api/meetups/{draft.id}"), 404, "not_found")
    _error(client.get("/api/meetups/999999"), 404, "not_found")
    _error(_register(client, draft.id), 404, "not_found")
    _error(_register(client, 999999), 404, "not_found")
    _error(client.get("/api/meetups/99999999999"), 404, "not_found")  # beyond PostgreSQL's integer
    _error(_register(client, 99999999999), 404, "not_found")


# --- registering ---------------------------------------------------------------------------

def test_register_confirms_with_a_signed_ticket_and_a_manage_link(client, make_meetup):
    meetup = make_meetup(capacity=30)
    answer = _register(client, meetup.id, city="Chengdu", question="When is the next camera coming?",
                       phone="+86 138 0000 0000")
    assert answer.status_code == 201
    body = answer.get_json()
    assert body["status"] == "confirmed"
    assert body["waitlist_position"] is None
    ref = body["ticket_url"].rsplit("/", 1)[1]
    assert body["ticket_url"] == f"http://localhost/tickets/{ref}"
    assert body["ticket_code"].startswith("MT1.")
    assert verify(body["ticket_code"]) == ref
    assert verify(body["ticket_code"][:-1] + ("A" if body["ticket_code"][-1] != "A" else "B")) is None
    assert body["manage_url"] == f"http://localhost/manage/{body['manage_token']}"
    registration = db.session.get(Registration, body["registration_id"])
    assert (registration.email, registration.status, registration.question) == (
        "fan1@example.com", "confirmed", "When is the next camera coming?")
    # The confirmation email carries the same ticket link.
    mails = [email.message_from_bytes(path.read_bytes()) for path in outbox_path().glob("*.eml")]
    assert [mail["To"] for mail in mails] == ["fan1@example.com"]
    assert body["ticket_url"] in mails[0].get_payload(decode=True).decode()


def test_emails_follow_the_fans_language(client, make_meetup):
    meetup = make_meetup()
    answer = client.post(f"/api/meetups/{meetup.id}/registrations", json={"name": "米粉", "email": "mi@example.com"},
                         headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})
    assert answer.status_code == 201
    assert db.session.get(Registration, answer.get_json()["registration_id"]).locale == "zh"


def test_a_full_meetup_puts_fans_on_the_waiting_list_in_order(client, make_meetup):
    meetup = make_meetup(capacity=30)
    _fill(client, meetup.id, 30)
    first, second = _register(client, meetup.id, 31), _register(client, meetup.id, 32)
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.get_json()["status"] == second.get_json()["status"] == "waitlisted"
    assert (first.get_json()["waitlist_position"], second.get_json()["waitlist_position"]) == (1, 2)
    assert first.get_json()["ticket_url"] is None and first.get_json()["ticket_code"] is None
    assert first.get_json()["manage_token"]
    detail = client.get(f"/api/meetups/{meetup.id}").get_json()
    assert (detail["seats_left"], detail["waitlist_length"]) == (0, 2)
    assert _confirmed(meetup.id) == 30


def test_an_invite_code_holds_a_seat_the_public_cannot_take(client, make_meetup):
    meetup = make_meetup(capacity=30)
    code = create_invite_codes(meetup.id, 1)[0].code
    public = _fill(client, meetup.id, 30)
    assert [body["status"] for body in public].count("confirmed") == 29
    holder = _register(client, meetup.id, 99, invite_code=format_code(code).lower())
    assert holder.status_code == 201 and holder.get_json()["status"] == "confirmed"
    error = _error(_register(client, meetup.id, 100, invite_code=code), 422, "invalid")
    assert "invite_code" in error["fields"]


def test_registering_twice_with_one_email_is_refused(client, make_meetup):
    meetup = make_meetup()
    assert _register(client, meetup.id).status_code == 201
    error = _error(_register(client, meetup.id, name="Someone else", email="FAN1@example.com "), 409,
                   "already_registered")
    assert "email" in error["fields"]
    assert db.session.scalar(select(func.count()).select_from(Registration)) == 1


@pytest.mark.parametrize("body, bad_fields", [
    ({"name": "Fan", "email": "not-an-email"}, {"email"}),
    ({"email": "fan@example.com"}, {"name"}),
    ({"name": "   ", "email": ""}, {"name", "email"}),
    ({"name": "Fan", "email": "fan@example.com", "phone": "call me maybe"}, {"phone"}),
    ({"name": "Fan", "email": "fan@example.com", "question": "?" * 5000}, {"question"}),
    ({"name": "x" * 500, "email": "fan@example.com"}, {"name"}),
    ({"name": ["Fan"], "email": {"at": "example.com"}}, {"name", "email"}),
    ({"name": "Fan", "email": "fan@example.com", "city": 42}, {"city"}),
    # PostgreSQL stores no NUL, UTF-8 no lone surrogate (which JSON's \ud800 can carry).
    ({"name": "Fan\x00", "email": "fan\x00@example.com"}, {"name", "email"}),
    ({"name": "Fan", "email": "fan@example.com", "city": "\ud800", "question": "\udfff?"}, {"city", "question"}),
])
def test_bad_fields_are_named_in_a_422(client, make_meetup, body, bad_fields):
    meetup = make_meetup()
    error = _error(client.post(f"/api/meetups/{meetup.id}/registrations", json=body), 422, "invalid")
    assert set(error["fields"]) == bad_fields
    assert db.session.scalar(select(func.count()).select_from(Registration)) == 0


@pytest.mark.parametrize("request_args", [
    {"data": "name=Fan&email=fan@example.com", "content_type": "application/x-www-form-urlencoded"},
    {"data": "{not json", "content_type": "application/json"},
    {"json": ["Fan", "fan@example.com"]},
    {"json": "fan@example.com"},
    {},
])
def test_a_body_that_is_not_a_json_object_is_a_400(client, make_meetup, request_args):
    meetup = make_meetup()
    _error(client.post(f"/api/meetups/{meetup.id}/registrations", **request_args), 400, "bad_request")
    _error(client.post("/api/registrations/cancel", **request_args), 400, "bad_request")


@pytest.mark.parametrize("fields", [
    {"status": "closed"},
    {"registration_closes_at": utcnow() - timedelta(hours=1)},
    {"registration_opens_at": utcnow() + timedelta(days=1)},
    {"status": "cancelled"},
])
def test_closed_or_not_yet_open_registration_is_refused(client, make_meetup, fields):
    meetup = make_meetup(**fields)
    _error(_register(client, meetup.id), 409, "registration_closed")
    detail = client.get(f"/api/meetups/{meetup.id}").get_json()
    assert detail["registration_open"] is False
    assert db.session.scalar(select(func.count()).select_from(Registration)) == 0


# --- cancelling ----------------------------------------------------------------------------

def test_cancelling_a_seat_promotes_the_first_in_line_once(client, make_meetup):
    meetup = make_meetup(capacity=30)
    seated = _fill(client, meetup.id, 30)
    first_in_line, second_in_line = _fill(client, meetup.id, 2, start=31)

    answer = client.post("/api/registrations/cancel", json={"manage_token": seated[4]["manage_token"]})
    assert answer.status_code == 200
    assert answer.get_json()["status"] == "cancelled"
    assert answer.get_json()["promoted_registration_id"] == first_in_line["registration_id"]
    assert db.session.get(Registration, first_in_line["registration_id"]).status == "confirmed"
    assert db.session.get(Registration, seated[4]["registration_id"]).status == "cancelled"
    assert _confirmed(meetup.id) == 30

    again = client.post("/api/registrations/cancel", json={"manage_token": seated[4]["manage_token"]})
    assert again.status_code == 200
    assert again.get_json() == {**again.get_json(), "status": "cancelled", "promoted_registration_id": None}
    assert db.session.get(Registration, second_in_line["registration_id"]).status == "waitlisted"
    detail = client.get(f"/api/meetups/{meetup.id}").get_json()
    assert (detail["seats_left"], detail["waitlist_length"]) == (0, 1)


def test_cancelling_from_the_waiting_list_promotes_no_one(client, make_meetup):
    meetup = make_meetup(capacity=30)
    _fill(client, meetup.id, 30)
    in_line = _fill(client, meetup.id, 1, start=31)[0]
    answer = client.post("/api/registrations/cancel", json={"manage_token": in_line["manage_token"]})
    assert answer.status_code == 200 and answer.get_json()["promoted_registration_id"] is None


@pytest.mark.parametrize("body, status, code", [
    ({"manage_token": "1-forged"}, 404, "not_found"),
    ({"manage_token": "not a token at all"}, 404, "not_found"),
    ({"manage_token": "99999999999999999999999-x"}, 404, "not_found"),
    ({"manage_token": "99999999999-x"}, 404, "not_found"),  # beyond PostgreSQL's integer
    ({"manage_token": "²-x"}, 404, "not_found"),  # a digit to str.isdigit, not to int()
    ({}, 422, "invalid"),
    ({"manage_token": ""}, 422, "invalid"),
    ({"manage_token": 12}, 422, "invalid"),
])
def test_bad_manage_tokens_are_refused(client, make_meetup, body, status, code):
    meetup = make_meetup()
    token = _register(client, meetup.id).get_json()["manage_token"]
    error = _error(client.post("/api/registrations/cancel", json=body), status, code)
    if status == 422:
        assert "manage_token" in error["fields"]
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")
    _error(client.post("/api/registrations/cancel", json={"manage_token": forged}), 404, "not_found")
    assert _confirmed(meetup.id) == 1


# --- protection ----------------------------------------------------------------------------

def test_public_writes_are_rate_limited_per_ip_with_a_json_answer(limited_client, make_meetup):
    meetup = make_meetup()
    client = limited_client
    answers = [_register(client, meetup.id, number) for number in range(1, 5)]
    assert [answer.status_code for answer in answers] == [201, 201, 201, 429]
    error = _error(answers[3], 429, "rate_limited")
    assert error["fields"] == {} and "wait a minute" in error["message"]
    assert 1 <= int(answers[3].headers["Retry-After"]) <= 60  # the seconds left in the minute
    other_address = client.post(f"/api/meetups/{meetup.id}/registrations",
                                json={"name": "Fan", "email": "x@example.com"},
                                environ_base={"REMOTE_ADDR": "10.0.0.7"})
    assert other_address.status_code == 201
    cancels = [client.post("/api/registrations/cancel", json={"manage_token": "1-x"}).status_code for _ in range(4)]
    assert cancels == [404, 404, 404, 429]
    assert client.get("/api/meetups").status_code == 200  # reading is not limited
    assert client.get(f"/api/meetups/{meetup.id}").status_code == 200


def test_every_api_route_is_marked_public(app):
    rules = [rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("registration_api.")]
    assert len(rules) == 4
    assert all(getattr(app.view_functions[rule.endpoint], "access", None) == "public" for rule in rules)
