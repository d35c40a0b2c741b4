"""A planner ranks cities on the dashboard, widens the radius (the table and the map change) and
accepts a proposed schedule with one city swapped: the drafts appear among the meetups."""
import re

import pytest
from playwright.sync_api import expect

from ..city_world import QUERY

LAPTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


# The browser sees the same pages on either database, so it runs once, on SQLite.
@pytest.mark.parametrize("app", ["sqlite"], indirect=True)
def test_a_planner_ranks_cities_and_accepts_a_schedule(live_server, page, city_world, make_user):
    make_user("planner", email="plan@example.com", password="correct horse", name="Hong")
    page.set_viewport_size(LAPTOP)
    page.goto(live_server + "/login")
    page.get_by_label("Email").fill("plan@example.com")
    page.get_by_label("Password").fill("correct horse")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Pick the next city").click()
    expect(page.get_by_role("heading", name="Pick the next city")).to_be_visible()

    page.goto(live_server + "/planner/cities?" + QUERY)
    cities = page.locator("table.cd-ranking tbody td.cd-city strong")
    expect(cities).to_have_text(["Kunming", "Chengdu", "Lanzhou", "Wuhan", "Harbin"])
    chengdu = page.locator(f'circle[data-geonameid="{city_world["chengdu"].geonameid}"]')
    lanzhou = page.locator(f'circle[data-geonameid="{city_world["lanzhou"].geonameid}"]')
    expect(chengdu.locator("title")).to_contain_text("Chengdu #2 · 30 fans")
    assert _area_ratio(chengdu, lanzhou) == pytest.approx(30 / 24, rel=0.02)  # circle area ∝ fans
    expect(page.get_by_text("10 fans live farther than 100 km from every candidate city.")).to_be_visible()

    page.get_by_label("Radius (km)").fill("150")
    page.get_by_role("button", name="Rank cities").click()
    expect(cities).to_have_text(["Chengdu", "Kunming", "Lanzhou", "Wuhan", "Harbin"])
    expect(chengdu.locator("title")).to_contain_text("Chengdu #1 · 40 fans")
    assert _area_ratio(chengdu, lanzhou) == pytest.approx(40 / 24, rel=0.02)  # Chengdu's circle grew
    expect(page.get_by_text("0 fans live farther than 150 km from every candidate city.")).to_be_visible()

    page.get_by_label("Meetups", exact=True).fill("3")
    page.get_by_role("button", name="Propose").click()
    slots = page.locator("ol.cd-slots select")
    expect(slots).to_have_count(3)
    expect(slots.nth(0).locator("option:checked")).to_contain_text("Chengdu")
    expect(slots.nth(1).locator("option:checked")).to_contain_text("Kunming")
    slots.nth(1).select_option(str(city_world["wuhan"].geonameid))
    page.get_by_role("button", name="Accept: create 3 drafts").click()

    expect(page).to_have_url(re.compile(r"/planner/meetups$"))
    expect(page.get_by_text("3 draft meetups created.")).to_be_visible()
    for title in ("Chengdu fan meetup", "Wuhan fan meetup", "Lanzhou fan meetup"):
        expect(page.get_by_text(title)).to_be_visible()
    expect(page.get_by_text("Kunming fan meetup")).to_have_count(0)

    # On a phone: nothing wider than the screen, and the buttons are large enough to tap.
    page.set_viewport_size(PHONE)
    page.goto(live_server + "/planner/cities?" + QUERY + "&radius_km=150")
    expect(cities.first).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert page.get_by_role("button", name="Rank cities").bounding_box()["height"] >= 44
    assert page.locator("ol.cd-slots select").first.bounding_box()["height"] >= 44


def _area_ratio(one, other) -> float:
    return (float(one.get_attribute("r")) / float(other.get_attribute("r"))) ** 2
