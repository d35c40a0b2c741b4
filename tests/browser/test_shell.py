"""A newcomer opens the home page on a phone and a staff member signs in."""
import re

import pytest
from playwright.sync_api import expect

PHONE = {"width": 390, "height": 844}


# The browser sees the same pages on either database, so it runs once, on SQLite.
@pytest.mark.parametrize("app", ["sqlite"], indirect=True)
def test_home_page_and_login_on_a_phone(live_server, page, make_user, make_meetup):
    make_user("planner", email="plan@example.com", password="correct horse", name="Hong")
    make_meetup(title="Chengdu fan meetup", days_from_now=7)
    page.set_viewport_size(PHONE)

    page.goto(live_server + "/")
    expect(page.get_by_role("heading", name="Upcoming meetups")).to_be_visible()
    expect(page.get_by_text("Chengdu fan meetup")).to_be_visible()
    # Nothing is wider than the phone's screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    page.get_by_role("link", name="Staff sign-in").click()
    page.get_by_label("Email").fill("plan@example.com")
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Wrong email or password.")).to_be_visible()

    page.get_by_label("Password").fill("correct horse")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/staff$"))
    expect(page.get_by_role("heading", name="Hello, Hong")).to_be_visible()
    box = page.get_by_role("button", name="Sign out").bounding_box()
    assert box["height"] >= 44  # large enough to tap

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("Signed out.")).to_be_visible()
