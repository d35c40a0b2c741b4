"""The fan's pages: the upcoming list (nearest first when the city is known), the meetup page and
registering through its form."""
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from meetups.extensions import db
from meetups.registration.models import Registration
from meetups.shared.timeutil import utcnow

from .conftest import csrf_token, page_text, post_form, register_fans


def _order(page: str, *titles: str) -> list[str]:
    return sorted(titles, key=page.index)


def _registrations(meetup=None) -> int:
    query = select(func.count()).select_from(Registration)
    if meetup is not None:
        query = query.where(Registration.meetup_id == meetup.id)
    return db.session.scalar(query)


@pytest.fixture
def three_cities(chengdu, make_city, make_meetup):
    chongqing = make_city("Chongqing", lat=29.56, lon=106.55, name_zh="重庆")
    beijing = make_city("Beijing", lat=39.90, lon=116.40, name_zh="北京")
    make_meetup(city=beijing, title="Beijing meetup", days_from_now=3)
    make_meetup(city=chongqing, title="Chongqing meetup", days_from_now=10)
    make_meetup(city=chengdu, title="Chengdu meetup", days_from_now=20)
    return chengdu


def test_without_a_city_the_soonest_meetup_comes_first(client, three_cities):
    page = page_text(client.get("/meetups"))
    assert _order(page, "Chengdu meetup", "Beijing meetup", "Chongqing meetup") == [
        "Beijing meetup", "Chongqing meetup", "Chengdu meetup"]
    assert "km away" not in page


@pytest.mark.parametrize("typed", ["成都", "Chengdu", " chengdu "])
def test_a_known_city_puts_the_nearest_meetup_first_with_its_distance(client, three_cities, typed):
    response = client.get("/meetups", query_string={"city": typed})
    page = page_text(response)
    assert _order(page, "Beijing meetup", "Chongqing meetup", "Chengdu meetup") == [
        "Chengdu meetup", "Chongqing meetup", "Beijing meetup"]
    assert "in your city" in page
    kilometres = [int(km.replace(",", "")) for km in re.findall(r"([\d,]+) km away", page)]
    assert 250 < kilometres[0] < 290  # Chengdu to Chongqing
    assert 1_400 < kilometres[1] < 1_600  # Chengdu to Beijing
    assert "city=" in response.headers["Set-Cookie"]


def test_the_chosen_city_is_remembered_on_the_list_and_the_home_page(client, three_cities):
    client.get("/meetups?city=成都")
    for url in ("/meetups", "/"):
        page = page_text(client.get(url))
        assert _order(page, "Beijing meetup", "Chengdu meetup")[0] == "Chengdu meetup", url
        assert "Nearest to Chengdu first." in page
    # Emptying the field forgets the city.
    page = page_text(client.get("/meetups?city="))
    assert _order(page, "Beijing meetup", "Chengdu meetup")[0] == "Beijing meetup"
    assert _order(page_text(client.get("/")), "Beijing meetup", "Chengdu meetup")[0] == "Beijing meetup"


def test_an_unknown_city_is_said_so_and_the_list_stays_soonest_first(client, three_cities):
    page = page_text(client.get("/meetups?city=Atlantis"))
    assert "We do not know a city called Atlantis" in page
    assert _order(page, "Beijing meetup", "Chengdu meetup")[0] == "Beijing meetup"


def test_cards_show_seats_left_the_waiting_list_and_closed_meetups(client, make_meetup):
    roomy = make_meetup(title="Roomy meetup", capacity=30, days_from_now=5)
    full = make_meetup(title="Full meetup", capacity=30, days_from_now=6)
    make_meetup(title="Closed meetup", capacity=30, days_from_now=7, status="closed")
    make_meetup(title="Draft meetup", days_from_now=8, status="draft")
    register_fans(roomy, 4, "roomy")
    register_fans(full, 32, "full")  # 30 seats and 2 in line

    for url in ("/meetups", "/"):
        page = page_text(client.get(url))
        roomy_card = page[page.index("Roomy meetup"):page.index("Full meetup")]
        full_card = page[page.index("Full meetup"):page.index("Closed meetup")]
        closed_card = page[page.index("Closed meetup"):]
        assert "26 seats left" in roomy_card
        assert "waiting list" not in roomy_card.replace("Join the waiting list", "")
        assert "Full — join the waiting list" in full_card
        assert "2 fans on the waiting list" in full_card
        assert "Registration closed" in closed_card
        assert "Draft meetup" not in page

    page = page_text(client.get(f"/meetups/{full.id}"))
    assert "Full — join the waiting list" in page and "2 fans on the waiting list" in page
    assert "Join the waiting list" in page  # the submit button says what will happen


def test_meetup_page_shows_what_to_expect_and_the_form(client, make_city, make_meetup):
    city = make_city("Chengdu", lat=30.66, lon=104.07, name_zh="成都")
    meetup = make_meetup(city=city, title="Chengdu fan meetup", capacity=40,
                         venue_name="Tianfu Software Park", venue_address="1 Tianfu Avenue")
    html = client.get(f"/meetups/{meetup.id}").get_data(as_text=True)
    page = page_text(client.get(f"/meetups/{meetup.id}"))
    for text in ("Chengdu fan meetup", "Tianfu Software Park", "1 Tianfu Avenue", "40 seats left",
                 "face to face with the engineers", "Nothing is sold",
                 "What would you like to ask the engineers?", "Invite code (optional)", "Phone (optional)"):
        assert text in page, text
    assert '<datalist id="city-names">' in html and 'list="city-names"' in html
    assert 'name="csrf_token"' in html
    assert "openstreetmap.org" not in html  # no pin yet: the city name says enough


def test_a_pinned_venue_gets_map_links_on_the_meetup_page(client, make_city, make_meetup):
    city = make_city("Chengdu", lat=30.66, lon=104.07, name_zh="成都")
    meetup = make_meetup(city=city, venue_name="Tianfu Software Park", venue_latitude=30.54321,
                         venue_longitude=104.06543)
    html = client.get(f"/meetups/{meetup.id}").get_data(as_text=True)
    assert "https://uri.amap.com/marker?position=104.06543,30.54321&amp;name=Tianfu+Software+Park" in html
    assert "https://www.openstreetmap.org/?mlat=30.54321&amp;mlon=104.06543#map=17/30.54321/104.06543" in html


def test_registering_through_the_form_gives_a_seat_and_lands_on_the_manage_page(app, client, make_meetup):
    meetup = make_meetup(title="Form meetup", capacity=30)
    url = f"/meetups/{meetup.id}"
    response = post_form(client, url, {"name": "Li Lei", "email": "Li.Lei@Example.com", "city": "",
                                       "phone": "+86 138 0000 0000", "question": "When is dark mode coming?"})
    assert response.status_code == 302
    assert re.fullmatch(r"/manage/\d+-[\w-]+", response.headers["Location"])

    registration = db.session.scalar(select(Registration))
    assert registration.email == "li.lei@example.com"
    assert registration.status == "confirmed"
    assert registration.question == "When is dark mode coming?"

    page = client.get(response.headers["Location"])
    text = page_text(page)
    assert "You have a seat" in text
    assert "bookmark" in text and "it is also in your email" in text
    assert f'href="/tickets/{registration.ticket_ref}"' in page.get_data(as_text=True)
    assert "29 seats left" in page_text(client.get(url))


def test_a_full_meetup_puts_the_fan_on_the_waiting_list_with_their_position(client, make_meetup):
    meetup = make_meetup(capacity=30)
    register_fans(meetup, 31)  # full, one already in line
    response = post_form(client, f"/meetups/{meetup.id}", {"name": "Han Meimei", "email": "han@example.com"},
                         follow_redirects=True)
    assert "You are number 2 on the waiting list" in page_text(response)
    assert db.session.scalar(select(Registration.status).where(Registration.email == "han@example.com")) == "waitlisted"


def test_the_same_email_twice_is_a_field_error_and_nothing_is_written(client, make_meetup):
    meetup = make_meetup()
    url = f"/meetups/{meetup.id}"
    assert post_form(client, url, {"name": "Li Lei", "email": "lilei@example.com"}).status_code == 302
    response = post_form(client, url, {"name": "Someone else", "email": "LILEI@example.com"})
    assert response.status_code == 409
    page = page_text(response)
    assert "Already registered for this meetup." in page
    assert 'value="Someone else"' in response.get_data(as_text=True)  # the form keeps what was typed
    assert _registrations(meetup) == 1


@pytest.mark.parametrize("data, field_error", [
    ({"name": "Li Lei", "email": "not-an-email"}, "This does not look like an email address."),
    ({"name": "", "email": "lilei@example.com"}, "Please tell us your name."),
    ({"name": "Li Lei", "email": "lilei@example.com", "phone": "call me"}, "Phone numbers have digits"),
    ({"name": "Li Lei", "email": "lilei@example.com", "invite_code": "ABCDE-FGHJK"}, "This invite code is not valid"),
])
def test_bad_input_is_a_field_error_and_nothing_is_written(client, make_meetup, data, field_error):
    meetup = make_meetup()
    response = post_form(client, f"/meetups/{meetup.id}", data)
    assert response.status_code == 422
    assert field_error in page_text(response)
    assert 'aria-invalid="true"' in response.get_data(as_text=True)
    assert _registrations() == 0


@pytest.mark.parametrize("fields, message", [
    ({"status": "closed"}, "Registration for this meetup is closed."),
    ({"registration_opens_at": utcnow() + timedelta(days=2)}, "Registration opens on"),
    ({"registration_closes_at": utcnow() - timedelta(hours=1)}, "Registration for this meetup has ended."),
    ({"status": "cancelled"}, "This meetup has been cancelled."),
])
def test_closed_or_not_yet_open_registration_shows_the_message_instead_of_the_form(client, make_meetup, fields,
                                                                                   message):
    meetup = make_meetup(**fields)
    url = f"/meetups/{meetup.id}"
    response = client.get(url)
    assert response.status_code == 200
    assert message in page_text(response)
    assert 'name="email"' not in response.get_data(as_text=True)
    # A form kept open in another tab is refused too, and nothing is written.
    token = csrf_token(client, "/login")
    response = client.post(url, data={"csrf_token": token, "name": "Li Lei", "email": "lilei@example.com"})
    assert response.status_code == 409
    assert message in page_text(response)
    assert _registrations() == 0


def test_a_post_without_csrf_token_is_refused(client, make_meetup):
    meetup = make_meetup()
    response = client.post(f"/meetups/{meetup.id}", data={"name": "Li Lei", "email": "lilei@example.com"})
    assert response.status_code == 400
    assert "This form has expired" in page_text(response)
    response = client.post(f"/meetups/{meetup.id}", data={"csrf_token": "forged", "name": "Li Lei",
                                                           "email": "lilei@example.com"})
    assert response.status_code == 400
    assert _registrations() == 0


def test_draft_and_missing_meetups_are_not_found(client, make_meetup):
    draft = make_meetup(status="draft")
    assert client.get(f"/meetups/{draft.id}").status_code == 404
    assert client.get("/meetups/999999").status_code == 404
    assert client.post("/meetups/999999", data={}).status_code == 404
