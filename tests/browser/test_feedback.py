"""An engineer records two notes at a meetup — the second linked to the first's item through a
suggestion offered while typing, and a draft that survives a reload — then a fan votes on a phone."""
import re

import pytest
from playwright.sync_api import expect

from meetups.checkin.services import check_in_registration
from meetups.registration.services import register

from ..conftest import body, mails_to

LAPTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def _sign_in(page, live_server, email):
    page.goto(live_server + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("correct horse")
    page.get_by_role("button", name="Sign in").click()


# The browser sees the same pages on either database, so it runs once, on SQLite.
@pytest.mark.parametrize("app", ["sqlite"], indirect=True)
def test_an_engineer_records_two_notes_and_a_fan_votes(app, live_server, page, make_city, make_meetup, make_user):
    city = make_city("Chengdu", lat=30.66, lon=104.07, name_zh="成都")
    meetup = make_meetup(city=city, title="Chengdu fan meetup", days_from_now=0.05)
    door = make_user("staff", email="door@example.com")
    make_user("engineer", email="eng@example.com", name="Wang")
    fan = register(meetup.id, name="Li Lei", email="li@example.com", question="电池续航能改进吗？").registration
    check_in_registration(meetup.id, fan.id, user=door)

    page.set_viewport_size(LAPTOP)
    _sign_in(page, live_server, "eng@example.com")
    page.get_by_role("link", name="Console").first.click()
    page.get_by_role("link", name=re.compile("Chengdu fan meetup")).click()
    expect(page.get_by_text("电池续航能改进吗？")).to_be_visible()

    # The first note: the fan's own question, with who asked filled in; a new item.
    page.get_by_role("button", name="Use this question").click()
    expect(page.get_by_label("Question", exact=True)).to_have_value("电池续航能改进吗？")
    expect(page.get_by_label("Asked by (optional)")).to_have_value(str(fan.id))
    page.get_by_label("Answer", exact=True).fill("新的省电模式在测试中")
    page.get_by_label("Category").select_option("battery")
    page.get_by_label("Answer", exact=True).press("Control+Enter")
    expect(page.get_by_text("Note saved as a new item")).to_be_visible()
    expect(page.get_by_label("Question", exact=True)).to_have_value("")  # the saved draft is gone

    # The second note: a draft typed, the page reloaded, the draft back; the suggestion links it.
    page.get_by_label("Question", exact=True).fill("续航太短了")
    page.get_by_label("Answer", exact=True).fill("同上")
    page.reload()
    expect(page.get_by_label("Question", exact=True)).to_have_value("续航太短了")
    expect(page.get_by_text("Your unsaved draft was restored.")).to_be_visible()
    suggestion = page.locator("#suggestions li").filter(has_text="电池续航能改进吗？")
    expect(suggestion).to_be_visible()
    suggestion.get_by_role("button", name="Link to this").click()
    expect(page.locator("#linked")).to_contain_text("电池续航能改进吗？")
    page.get_by_role("button", name=re.compile("Save note")).click()
    expect(page.get_by_text("Note saved and linked to")).to_be_visible()
    expect(page.get_by_role("heading", name="Notes of this meetup (2)")).to_be_visible()

    # A fan, on a phone, finds the item at the top of the pool and votes.
    context = page.context.browser.new_context(viewport=PHONE)
    phone = context.new_page()
    phone.goto(live_server + "/feedback")
    top = phone.locator(".fb-item").first
    expect(top).to_contain_text("电池续航能改进吗？")
    expect(top).to_contain_text("2 mentions")
    top.get_by_role("link").click()
    phone.get_by_label(re.compile("Your email")).fill("voter@example.com")
    vote = phone.get_by_role("button", name="I want this too")
    assert vote.bounding_box()["height"] >= 44
    vote.click()
    expect(phone.get_by_role("heading", name="Check your email")).to_be_visible()
    link = re.search(r"https?://\S+/feedback/voters/\S+", body(mails_to(app, "voter@example.com")[-1])).group(0)
    phone.goto(link)
    phone.get_by_role("button", name="Yes, these are my votes").click()
    expect(phone.get_by_text("1 vote now counts")).to_be_visible()
    expect(phone.locator(".fb-item").first).to_contain_text("1 vote")
    expect(phone.locator(".fb-item").first.locator(".fb-score strong")).to_have_text("3")
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    context.close()
