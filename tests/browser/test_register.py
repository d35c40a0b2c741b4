"""A fan registers for a meetup on a phone and opens the ticket with its QR code."""
import re

import pytest
from playwright.sync_api import expect

PHONE = {"width": 390, "height": 844}


# The browser sees the same pages on either database, so it runs once, on SQLite.
@pytest.mark.parametrize("app", ["sqlite"], indirect=True)
def test_a_fan_registers_on_a_phone_and_sees_the_ticket_qr(live_server, page, make_city, make_meetup):
    city = make_city("Chengdu", lat=30.66, lon=104.07, name_zh="成都")
    make_meetup(city=city, title="Chengdu fan meetup", capacity=30, venue_name="Tianfu Software Park")
    page.set_viewport_size(PHONE)

    page.goto(live_server + "/meetups?city=Chengdu")
    expect(page.locator(".distance")).to_contain_text("in your city")  # the card, nearest first
    expect(page.get_by_text("30 seats left")).to_be_visible()
    page.get_by_role("link", name="Register").click()

    expect(page.get_by_role("heading", name="Chengdu fan meetup")).to_be_visible()
    expect(page.get_by_label("Your city")).to_have_value("Chengdu")  # remembered from the list
    page.get_by_label("Your name").fill("Li Lei")
    page.get_by_label("Email (your ticket is sent here)").fill("lilei@example.com")
    page.get_by_label("What would you like to ask the engineers?").fill("When does dark mode arrive?")
    submit = page.get_by_role("button", name="Take my seat")
    assert submit.bounding_box()["height"] >= 44  # large enough to tap
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    submit.click()

    expect(page).to_have_url(re.compile(r"/manage/\d+-[\w-]+$"))
    expect(page.get_by_role("heading", name="You have a seat")).to_be_visible()
    expect(page.get_by_text("it is also in your email")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    page.get_by_role("link", name="Show my ticket").click()
    expect(page).to_have_url(re.compile(r"/tickets/[\w-]+$"))
    qr = page.locator("img[src$='.png']").first
    expect(qr).to_be_visible()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=qr.element_handle())
    assert qr.evaluate("img => img.naturalWidth") > 0
