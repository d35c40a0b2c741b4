"""The door screen's pages: the staff's meetup picker and the screen itself, which hands
static/js/door.js its API addresses, CSRF token and strings in the page's language. (The screen in
a real browser with a camera: tests/browser/test_door.py.)"""
import json
import re
from pathlib import Path

import pytest

from meetups.registration.services import register
from meetups.shared.ticket_codes import ticket_code

DOOR_JS = Path(__file__).resolve().parent.parent / "static" / "js" / "door.js"
CONFIG = re.compile(r'<script type="application/json" id="door-config">(.*?)</script>', re.S)


@pytest.fixture
def tonight(chengdu, make_meetup):
    return make_meetup(city=chengdu, title="Chengdu fan meetup", days_from_now=0.05, venue_name="Tianfu Software Park")


@pytest.fixture
def door_staff(staff, auth):
    """Conftest's door staff, signed in."""
    auth.login(staff.email)


def door_config(client, meetup_id: int, **query) -> dict:
    page = client.get(f"/door/{meetup_id}", query_string=query)
    assert page.status_code == 200
    return json.loads(CONFIG.search(page.get_data(as_text=True)).group(1))


def test_staff_reach_the_door_from_their_home_page_and_pick_tonights_meetup(client, door_staff, tonight, make_meetup):
    make_meetup(title="Next month", days_from_now=30)
    home = client.get("/staff").get_data(as_text=True)
    assert 'href="/door"' in home and "Door check-in" in home

    picker = client.get("/door").get_data(as_text=True)
    assert f'href="/door/{tonight.id}"' in picker
    assert "Chengdu fan meetup" in picker and "Tianfu Software Park" in picker
    assert "Next month" not in picker


def test_other_roles_see_no_door(client, auth, make_user, tonight):
    make_user("engineer", email="eng@example.com")
    auth.login("eng@example.com")
    assert 'href="/door"' not in client.get("/staff").get_data(as_text=True)
    assert client.get("/door").status_code == 403
    assert client.get(f"/door/{tonight.id}").status_code == 403


def test_no_door_screen_for_a_draft_or_cancelled_meetup(client, door_staff, make_meetup):
    assert client.get(f"/door/{make_meetup(status='draft').id}").status_code == 404
    cancelled = client.get(f"/door/{make_meetup(status='cancelled').id}")
    assert cancelled.status_code == 409
    assert "This meetup is cancelled." in cancelled.get_data(as_text=True)


def test_the_screen_gives_its_script_real_api_addresses_and_a_working_csrf_token(app, client, door_staff, tonight):
    config = door_config(client, tonight.id)
    routes = app.url_map.bind("localhost")
    for name, url in config["urls"].items():
        url = url.replace("{registration_id}", "1").replace("{conflict_id}", "1")
        method = "GET" if name in ("door", "search", "roster") else "POST"
        endpoint, _arguments = routes.match(url, method=method)
        assert endpoint.startswith("checkin_api."), name

    code = ticket_code(register(tonight.id, name="Li Lei", email="lilei@example.com").registration.ticket_ref)
    answer = client.post(config["urls"]["checkins"], json={"code": code, "nonce": "n-1", "device": "Door A"},
                         headers={"X-CSRFToken": config["csrf_token"]})
    assert answer.status_code == 200
    assert answer.get_json()["result"] == "admitted"


def test_every_string_the_script_shows_comes_from_the_page(client, door_staff, tonight):
    strings = door_config(client, tonight.id)["strings"]
    script = DOOR_JS.read_text()
    used = set(re.findall(r"\bt\('(\w+)'", script))
    used |= {f"reason_{reason}" for reason in ("cancelled", "waitlisted", "offered")}  # T[`reason_${…}`]
    used |= {f"status_{status}" for status in ("confirmed", "waitlisted", "offered", "cancelled")}
    assert used - strings.keys() == set()


def test_the_screen_speaks_chinese(client, door_staff, tonight):
    strings = door_config(client, tonight.id, lang="zh")["strings"]
    assert strings["admitted"] != "Admit"
    assert "{name}" in strings["undo_question"] and "{time}" in strings["already_detail"]
    page = client.get(f"/door/{tonight.id}?lang=zh").get_data(as_text=True)
    assert '<html lang="zh-CN">' in page
