"""A planner standing at the venue with a phone pins it with one tap; fans then see the map links
on the meetup page."""
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from meetups.events.models import Meetup
from meetups.extensions import db

PHONE = {"width": 390, "height": 844}
AT_THE_VENUE = {"latitude": 30.572818, "longitude": 104.066801, "accuracy": 12}


# The browser sees the same pages on either database, so it runs once, on SQLite.
@pytest.mark.parametrize("app", ["sqlite"], indirect=True)
def test_a_planner_at_the_venue_pins_it_with_one_tap(live_server, browser, make_city, make_user):
    make_city("Chengdu", name_zh="成都", lat=30.66, lon=104.06)
    make_user("planner", email="plan@example.com", password="correct horse", name="Hong")
    context = browser.new_context(viewport=PHONE, base_url=live_server, geolocation=AT_THE_VENUE,
                                  permissions=["geolocation"])
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("Email").fill("plan@example.com")
    page.get_by_label("Password").fill("correct horse")
    page.get_by_role("button", name="Sign in").click()

    page.goto("/planner/meetups/new")
    page.get_by_label("City", exact=True).fill("Chengdu")
    page.get_by_label("Venue", exact=True).fill("Fan hall")
    page.get_by_label("Starts at (city time)").fill("2030-05-20T19:00")
    page.get_by_label("Seats", exact=True).fill("40")
    page.get_by_role("button", name="Use where I am now").click()
    expect(page.get_by_label("Venue on the map (latitude, longitude)")).to_have_value("30.572818, 104.066801")
    expect(page.locator(".pl-here-status")).to_contain_text("about 12 m")
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_text("not pinned")).to_have_count(0)

    meetup = db.session.scalar(select(Meetup))
    assert (meetup.venue_latitude, meetup.venue_longitude) == (30.572818, 104.066801)
    page.goto(f"/meetups/{meetup.id}")
    osm = page.get_by_role("link", name="OpenStreetMap")
    expect(osm).to_have_attribute("href", "https://www.openstreetmap.org/?mlat=30.57282&mlon=104.06680"
                                          "#map=17/30.57282/104.06680")
    context.close()
