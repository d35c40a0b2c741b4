"""The planner's meetup pages: who may open them, creating and editing meetups (the service's
rules shown next to the fields), publishing, closing, cancelling, attendees, CSV and invite codes."""
import csv
import io
from datetime import datetime
from email import message_from_bytes
from pathlib import Path

import pytest
from sqlalchemy import func, select

from meetups.events.models import Meetup
from meetups.extensions import db
from meetups.registration.models import InviteCode, Registration
from meetups.registration.seats import meetup_seats
from meetups.registration.services import cancel_registration, create_invite_codes, format_code, register, sweep_all

from .conftest import csrf_token, meetup_count, post_form, register_fans


def _form(**overrides) -> dict:
    data = {"city": "Chengdu", "title": "Camera night", "venue_name": "Fan hall", "venue_address": "1 Tianfu Ave",
            "starts_at": "2030-05-20T19:00", "ends_at": "2030-05-20T21:30", "capacity": "40",
            "registration_opens_at": "", "registration_closes_at": "", "codes_release_at": "", "offer_hours": "",
            "action": "draft"}
    return {**data, **overrides}


def _planner_urls(meetup_id: int):
    gets = ["/planner/meetups", "/planner/meetups/new", f"/planner/meetups/{meetup_id}",
            f"/planner/meetups/{meetup_id}/edit", f"/planner/meetups/{meetup_id}/cancel",
            f"/planner/meetups/{meetup_id}/attendees.csv", f"/planner/meetups/{meetup_id}/codes",
            f"/planner/meetups/{meetup_id}/codes.csv", f"/planner/meetups/{meetup_id}/post",
            f"/planner/meetups/{meetup_id}/post-qr.png"]
    posts = ["/planner/meetups/new", f"/planner/meetups/{meetup_id}/edit", f"/planner/meetups/{meetup_id}/publish",
             f"/planner/meetups/{meetup_id}/close", f"/planner/meetups/{meetup_id}/cancel",
             f"/planner/meetups/{meetup_id}/codes"]
    return gets, posts


# --- who may ---------------------------------------------------------------------------------

def test_anonymous_visitors_are_sent_to_login(client, make_meetup):
    meetup = make_meetup()
    gets, posts = _planner_urls(meetup.id)
    for url in gets:
        answer = client.get(url)
        assert answer.status_code == 302 and "/login" in answer.headers["Location"], url
    token = csrf_token(client, "/login")
    for url in posts:
        answer = client.post(url, data={"csrf_token": token, **_form()})
        assert answer.status_code == 302 and "/login" in answer.headers["Location"], url
    assert db.session.get(Meetup, meetup.id).status == "published"


@pytest.mark.parametrize("role", ["staff", "engineer"])
def test_door_staff_and_engineers_are_refused(client, auth, make_user, make_meetup, role):
    meetup = make_meetup()
    make_user(role, email=f"{role}@example.com")
    auth.login(f"{role}@example.com")
    gets, posts = _planner_urls(meetup.id)
    for url in gets:
        assert client.get(url).status_code == 403, url
    token = csrf_token(client, "/staff")
    for url in posts:
        assert client.post(url, data={"csrf_token": token, **_form(capacity="30")}).status_code == 403, url
    assert db.session.get(Meetup, meetup.id).status == "published"
    assert meetup_count() == 1


def test_admin_may_plan_too(client, auth, make_user, make_meetup):
    meetup = make_meetup()
    make_user("admin", email="boss@example.com")
    auth.login("boss@example.com")
    for url in _planner_urls(meetup.id)[0]:
        assert client.get(url).status_code == 200, url


def test_staff_home_links_planners_to_their_pages(planner):
    assert "/planner/meetups" in planner.get("/staff").get_data(as_text=True)


# --- creating and editing --------------------------------------------------------------------

@pytest.mark.parametrize("capacity", ["29", "51"])
def test_capacity_outside_30_to_50_is_shown_next_to_the_field(planner, chengdu, capacity):
    answer = post_form(planner, "/planner/meetups/new", _form(capacity=capacity))
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    assert "Capacity must be between 30 and 50 seats." in page
    assert 'id="capacity-errors"' in page
    assert meetup_count() == 0


def test_unknown_city_is_shown_next_to_the_field(planner, chengdu):
    answer = post_form(planner, "/planner/meetups/new", _form(city="Atlantis"))
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    assert "No gazetteer city is called" in page and 'id="city-errors"' in page
    assert 'value="Atlantis"' in page  # what the planner typed is kept
    assert meetup_count() == 0


def test_missing_start_is_a_field_error_not_a_crash(planner, chengdu):
    answer = post_form(planner, "/planner/meetups/new", _form(starts_at="", capacity="forty"))
    assert answer.status_code == 422
    assert meetup_count() == 0


def test_create_a_draft_in_city_time_then_publish_it(planner, chengdu):
    answer = post_form(planner, "/planner/meetups/new", _form(city="成都"), follow_redirects=True)
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200 and "Draft saved" in page
    meetup = db.session.scalar(select(Meetup))
    assert (meetup.status, meetup.city.name, meetup.capacity, meetup.venue_name) == ("draft", "Chengdu", 40, "Fan hall")
    assert meetup.starts_at == datetime(2030, 5, 20, 11, 0)  # 19:00 in Chengdu is 11:00 UTC

    detail = f"/planner/meetups/{meetup.id}"
    answer = post_form(planner, f"{detail}/publish", {}, follow_redirects=True, form_url=detail)
    assert "Meetup published" in answer.get_data(as_text=True)
    db.session.refresh(meetup)
    assert meetup.status == "published"


def test_publish_button_publishes_at_once(planner, chengdu):
    post_form(planner, "/planner/meetups/new", _form(action="publish", offer_hours="24"))
    meetup = db.session.scalar(select(Meetup))
    assert (meetup.status, meetup.offer_hours) == ("published", 24)


def test_list_shows_upcoming_first_then_past_with_seats(planner, make_meetup, chengdu):
    past = make_meetup(city=chengdu, days_from_now=-30, title="Last month")
    later = make_meetup(city=chengdu, days_from_now=40, title="Later")
    soon = make_meetup(city=chengdu, days_from_now=10, title="Soon", capacity=30)
    make_meetup(city=chengdu, days_from_now=20, title="Still a draft", status="draft")
    register_fans(soon, 2, start=1)
    page = planner.get("/planner/meetups").get_data(as_text=True)
    assert page.index("Soon") < page.index("Still a draft") < page.index("Later") < page.index("Last month")
    assert "<strong>2</strong> / 30" in page
    assert "Draft" in page and past.title in page and later.title in page


def test_edit_form_shows_city_time_and_saves(planner, chengdu):
    post_form(planner, "/planner/meetups/new", _form())
    meetup = db.session.scalar(select(Meetup))
    url = f"/planner/meetups/{meetup.id}/edit"
    page = planner.get(url).get_data(as_text=True)
    assert 'value="2030-05-20T19:00"' in page and 'value="成都"' in page
    answer = post_form(planner, url, _form(city="成都", capacity="50", title="Camera night II"), follow_redirects=True)
    assert "Meetup saved." in answer.get_data(as_text=True)
    db.session.refresh(meetup)
    assert (meetup.capacity, meetup.title, meetup.starts_at) == (50, "Camera night II", datetime(2030, 5, 20, 11, 0))


def test_the_venue_pin_is_read_in_either_order_shown_back_and_cleared(planner, chengdu):
    post_form(planner, "/planner/meetups/new", _form(venue_location="30.5728, 104.0668"))
    meetup = db.session.scalar(select(Meetup))
    assert (meetup.venue_latitude, meetup.venue_longitude) == (30.5728, 104.0668)
    detail = planner.get(f"/planner/meetups/{meetup.id}").get_data(as_text=True)
    assert "https://www.openstreetmap.org/?mlat=30.57280&amp;mlon=104.06680#map=17/30.57280/104.06680" in detail
    url = f"/planner/meetups/{meetup.id}/edit"
    assert 'value="30.572800, 104.066800"' in planner.get(url).get_data(as_text=True)

    # Amap and Baidu copy longitude first, and Chinese keyboards type a full-width comma.
    post_form(planner, url, _form(venue_location="104.0650，30.5400"))
    db.session.refresh(meetup)
    assert (meetup.venue_latitude, meetup.venue_longitude) == (30.54, 104.065)

    post_form(planner, url, _form(venue_location=""))
    db.session.refresh(meetup)
    assert (meetup.venue_latitude, meetup.venue_longitude) == (None, None)
    page = planner.get(f"/planner/meetups/{meetup.id}").get_data(as_text=True)
    assert "not pinned: maps show the city centre" in page


@pytest.mark.parametrize("typed, message", [
    ("39.9042, 116.4074", "This point is 1,5"),  # Beijing: about 1 500 km from Chengdu
    ("the big hall", "Give the venue&#39;s latitude and longitude"),
    ("30.5, 104.0, 12", "Give the venue&#39;s latitude and longitude"),
    ("95, 200", "Give the venue&#39;s latitude and longitude"),
])
def test_a_venue_pin_that_is_not_a_point_near_the_city_is_a_field_error(planner, chengdu, typed, message):
    answer = post_form(planner, "/planner/meetups/new", _form(venue_location=typed))
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    assert message in page and 'id="venue_location-errors"' in page
    assert meetup_count() == 0


def test_capacity_cannot_go_below_the_confirmed_fans(planner, make_meetup, chengdu):
    meetup = make_meetup(city=chengdu, capacity=40)
    register_fans(meetup, 35, start=1)
    url = f"/planner/meetups/{meetup.id}/edit"
    starts = meetup.local_starts_at.strftime("%Y-%m-%dT%H:%M")
    answer = post_form(planner, url, _form(capacity="30", starts_at=starts, ends_at=""))
    assert answer.status_code == 422
    assert "35 seats are taken" in answer.get_data(as_text=True)
    db.session.refresh(meetup)
    assert meetup.capacity == 40


# --- publishing, closing, cancelling ---------------------------------------------------------

def test_close_then_reopen_registration(planner, make_meetup):
    meetup = make_meetup()
    detail = f"/planner/meetups/{meetup.id}"
    page = post_form(planner, f"{detail}/close", {}, follow_redirects=True, form_url=detail).get_data(as_text=True)
    assert "Registration closed." in page and "Reopen registration" in page
    db.session.refresh(meetup)
    assert meetup.status == "closed"
    page = post_form(planner, f"{detail}/publish", {}, follow_redirects=True, form_url=detail).get_data(as_text=True)
    assert "Registration is open again." in page
    db.session.refresh(meetup)
    assert meetup.status == "published"


def test_an_action_without_csrf_changes_nothing(planner, make_meetup):
    meetup = make_meetup()
    assert planner.post(f"/planner/meetups/{meetup.id}/close").status_code in (302, 400)
    db.session.refresh(meetup)
    assert meetup.status == "published"


def test_closing_a_draft_is_refused_with_a_message(planner, make_meetup):
    meetup = make_meetup(status="draft")
    detail = f"/planner/meetups/{meetup.id}"
    page = post_form(planner, f"{detail}/close", {}, follow_redirects=True, form_url=detail).get_data(as_text=True)
    assert "Only a published meetup" in page
    db.session.refresh(meetup)
    assert meetup.status == "draft"


def test_cancel_asks_first_then_emails_everyone_registered(app, planner, make_meetup):
    meetup = make_meetup(capacity=30)
    register_fans(meetup, 32, start=1)  # 30 seats and 2 on the waiting list
    outbox = Path(app.instance_path) / "outbox"
    for old in outbox.glob("*.eml"):
        old.unlink()
    url = f"/planner/meetups/{meetup.id}/cancel"
    assert "32 people will be emailed" in planner.get(url).get_data(as_text=True)
    db.session.refresh(meetup)
    assert meetup.status == "published"  # looking at the question cancels nothing

    page = post_form(planner, url, {}, follow_redirects=True).get_data(as_text=True)
    assert "Meetup cancelled." in page
    db.session.refresh(meetup)
    assert meetup.status == "cancelled"
    recipients = sorted(message_from_bytes(path.read_bytes())["To"] for path in outbox.glob("*.eml"))
    assert recipients == sorted(f"fan{number}@example.com" for number in range(1, 33))


# --- attendees -------------------------------------------------------------------------------

def test_attendee_list_in_order(planner, make_meetup):
    meetup = make_meetup(capacity=30)
    outcomes = register_fans(meetup, 30, start=1)
    for number, name in enumerate(["Wang Wu", "Zhao Liu", "Sun Qi"], 1):
        register(meetup.id, name=name, email=f"line{number}@example.com", question="When is dark mode coming?")
    cancel_registration(outcomes[4].manage_token)  # "fan 5" gives up: Wang Wu moves up
    page = planner.get(f"/planner/meetups/{meetup.id}").get_data(as_text=True)
    confirmed, _rest = page.split("Waiting list, in order", 1)
    assert "Wang Wu" in confirmed and "Confirmed (30)" in confirmed
    waiting, cancelled = _rest.split("Cancelled (1)", 1)
    assert waiting.index("Zhao Liu") < waiting.index("Sun Qi")
    assert "fan 5" in cancelled and "cancelled by the fan" in cancelled
    assert "When is dark mode coming?" in page


def test_offers_show_their_deadline_and_lapse_at_the_sweep(planner, make_meetup):
    meetup = make_meetup(capacity=30, offer_hours=24)
    outcomes = register_fans(meetup, 32, start=1)
    cancel_registration(outcomes[0].manage_token)
    page = planner.get(f"/planner/meetups/{meetup.id}").get_data(as_text=True)
    offered = page.split("Offered a seat (1)", 1)[1].split("Waiting list, in order", 1)[0]
    assert "fan 31" in offered
    assert "as a 24-hour offer" in page

    first_offer = db.session.scalar(select(Registration).where(Registration.email == "fan31@example.com"))
    first_offer.offer_expires_at = datetime(2020, 1, 1)
    db.session.commit()
    page = planner.get(f"/planner/meetups/{meetup.id}").get_data(as_text=True)
    offered = page.split("Offered a seat (1)", 1)[1].split("Waiting list, in order", 1)[0]
    assert "fan 31" in offered and "lapsed: passes on at the next sweep" in offered  # the page changed nothing
    sweep_all()  # cron
    page = planner.get(f"/planner/meetups/{meetup.id}").get_data(as_text=True)
    cancelled = page.split("Cancelled (2)", 1)[1]
    assert "fan 31" in cancelled and "offer lapsed" in cancelled
    assert "fan 32" in page.split("Offered a seat (1)", 1)[1].split("Cancelled (2)", 1)[0]


def test_attendee_csv_opens_in_excel_and_is_safe(planner, make_meetup):
    meetup = make_meetup(capacity=30)
    register(meetup.id, name="张小米", email="zhang@example.com", city="成都", phone="138 0000 0000",
             question="MIUI 什么时候更新?")
    register(meetup.id, name="=HYPERLINK(\"http://evil.example\",\"click\")", email="evil@example.com",
             question="@SUM(1+1)")
    answer = planner.get(f"/planner/meetups/{meetup.id}/attendees.csv")
    assert answer.status_code == 200
    assert answer.mimetype == "text/csv"
    assert "attachment" in answer.headers["Content-Disposition"]
    raw = answer.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == ["status", "waitlist position", "name", "email", "city", "phone", "question", "invite code",
                       "registered at", "confirmed at", "cancelled at"]
    by_email = {row[3]: row for row in rows[1:]}
    assert by_email["zhang@example.com"][2] == "张小米"
    assert by_email["zhang@example.com"][4] == "成都"
    assert by_email["zhang@example.com"][0] == "confirmed"
    evil = by_email["evil@example.com"]
    assert evil[2].startswith("'=HYPERLINK") and evil[6] == "'@SUM(1+1)"


# --- invite codes ----------------------------------------------------------------------------

def test_invite_codes_hold_seats(planner, make_meetup, make_user):
    meetup = make_meetup(capacity=40)
    url = f"/planner/meetups/{meetup.id}/codes"
    answer = post_form(planner, url, {"count": "5", "label": "Honorary developers"}, follow_redirects=True)
    page = answer.get_data(as_text=True)
    assert "5 invite codes created." in page
    codes = db.session.scalars(select(InviteCode).where(InviteCode.meetup_id == meetup.id)).all()
    assert len(codes) == 5
    assert all(code.label == "Honorary developers" and code.created_by_id is not None for code in codes)
    assert all(format_code(code.code) in page for code in codes)
    db.session.refresh(meetup)
    assert meetup_seats(meetup).seats_left == 35
    assert "holds a seat until" in page

    answer = post_form(planner, url, {"count": "36", "label": ""})
    assert answer.status_code == 422
    assert "Only 35 seats are free" in answer.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(InviteCode)) == 5


def test_a_code_holder_gets_a_seat_when_the_meetup_is_full(planner, make_meetup):
    meetup = make_meetup(capacity=30)
    codes = create_invite_codes(meetup.id, 2, "Dream sponsors")
    register_fans(meetup, 28, start=1)
    latecomer = register(meetup.id, name="No code", email="nocode@example.com")
    assert latecomer.registration.status == "waitlisted"
    holder = register(meetup.id, name="李雷", email="lilei@example.com", invite_code=format_code(codes[0].code).lower())
    assert holder.registration.status == "confirmed"

    page = planner.get(f"/planner/meetups/{meetup.id}/codes").get_data(as_text=True)
    assert "李雷" in page  # who used it
    detail = planner.get(f"/planner/meetups/{meetup.id}").get_data(as_text=True)
    assert "Dream sponsors" in detail  # the invite-code marker on the attendee

    answer = planner.get(f"/planner/meetups/{meetup.id}/codes.csv")
    rows = list(csv.reader(io.StringIO(answer.get_data().decode("utf-8-sig"))))
    assert rows[0][:3] == ["code", "for whom", "used"]
    assert sorted(row[0] for row in rows[1:]) == sorted(format_code(code.code) for code in codes)
    assert {row[0]: row[2] for row in rows[1:]}[format_code(codes[0].code)] == "yes"


def test_codes_for_a_cancelled_meetup_are_refused(planner, make_meetup):
    meetup = make_meetup(status="cancelled")
    answer = post_form(planner, f"/planner/meetups/{meetup.id}/codes", {"count": "2", "label": ""})
    assert answer.status_code == 422
    assert "This meetup is cancelled." in answer.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(InviteCode)) == 0


def test_unknown_meetup_is_404(planner):
    assert planner.get("/planner/meetups/999").status_code == 404
    assert planner.get("/planner/meetups/999/attendees.csv").status_code == 404

