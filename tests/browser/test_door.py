"""The door screen in real Chromium, its camera a fake device filming QR tickets
(tests/fake_camera.py): a fan is let in, the same ticket again is already checked in, forged and
other meetups' tickets are refused, scans made offline (or while the server cannot be reached) are
kept and synced, a fan let in twice is shown to check; and, on a phone, the manual search."""
import os
import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from meetups.checkin.models import CheckIn
from meetups.checkin.services import check_in_code
from meetups.extensions import db
from meetups.registration.services import register
from meetups.shared.ticket_codes import ticket_code

from ..conftest import CHROMIUM
from ..fake_camera import show

PHONE = {"width": 390, "height": 844}
GREEN, AMBER, RED = "rgb(26, 127, 55)", "rgb(255, 179, 0)", "rgb(198, 40, 40)"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM),
                       reason=f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium)"),
    # The browser sees the same pages on either database, so it runs once, on SQLite.
    pytest.mark.parametrize("app", ["sqlite"], indirect=True),
]


@pytest.fixture(scope="module")
def camera(tmp_path_factory):
    """The file Chromium films; `show(camera, text)` puts a new QR in front of it."""
    path = tmp_path_factory.mktemp("camera") / "camera.y4m"
    show(path, None)
    return path


@pytest.fixture(scope="module")
def camera_browser(playwright, browser_type_launch_args, camera):
    """Chromium with a fake camera: its flags are launch arguments, so it has a browser of its own."""
    args = [*browser_type_launch_args.get("args", []), "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={camera}", "--use-fake-ui-for-media-stream"]
    browser = playwright.chromium.launch(**{**browser_type_launch_args, "args": args})
    yield browser
    browser.close()


@pytest.fixture
def door(camera_browser, live_server, evening):
    """A phone-sized page, signed in as door staff."""
    context = camera_browser.new_context(viewport=PHONE, base_url=live_server, permissions=["camera"])
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("Email").fill("door@example.com")
    page.get_by_label("Password").fill("correct horse")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/staff$"))
    yield page
    context.close()


class Evening:
    """Tonight's meetup with two fans holding tickets, and a meetup elsewhere next week."""

    def __init__(self, make_user, make_city, make_meetup):
        make_user("staff", email="door@example.com", name="Wang Fang")
        chengdu = make_city("Chengdu", name_zh="成都")
        self.meetup = make_meetup(city=chengdu, title="Chengdu fan meetup", days_from_now=0.05,
                                  venue_name="Tianfu Software Park")
        self.other = make_meetup(city=make_city("Wuhan", lat=30.6, lon=114.3, name_zh="武汉"),
                                 title="Wuhan fan meetup", days_from_now=7)
        self.fans = {name: register(self.meetup.id, name=name,
                                    email=f"{name.split()[0].lower()}@example.com").registration
                     for name in ("Li Lei", "Han Meimei")}
        self.stranger = register(self.other.id, name="Zhang Wei", email="zhang@example.com").registration

    def code(self, name: str) -> str:
        registration = self.stranger if name == "Zhang Wei" else self.fans[name]
        return ticket_code(registration.ticket_ref)

    def check_ins(self) -> dict[str, str]:
        """Who the server has let in (name → how), as a fresh transaction sees it."""
        db.session.rollback()
        rows = db.session.execute(select(CheckIn.registration_id, CheckIn.method)).all()
        names = {registration.id: name for name, registration in self.fans.items()}
        return {names.get(number, number): method for number, method in rows}

    def url(self) -> str:
        return f"/door/{self.meetup.id}"


@pytest.fixture
def evening(make_user, make_city, make_meetup):
    return Evening(make_user, make_city, make_meetup)


def answer(page):
    """The screen-filling answer to a scan."""
    return page.get_by_role("alert")


def colour(locator) -> str:
    return locator.evaluate("element => getComputedStyle(element).backgroundColor")


def test_a_ticket_lets_its_fan_in_once(door, camera, evening, tmp_path):
    show(camera, evening.code("Li Lei"))
    door.goto(evening.url())

    result = answer(door)
    expect(result).to_contain_text("Admit", timeout=20_000)
    expect(result).to_contain_text("Li Lei")
    assert colour(result) == GREEN
    door.screenshot(path=tmp_path / "door-admitted.png")
    assert evening.check_ins() == {"Li Lei": "scan"}

    # Ready for the next fan after a moment, without a tap; the count went up.
    expect(result).to_be_hidden(timeout=5_000)
    expect(door.locator("[data-door=arrived]")).to_have_text("1")
    expect(door.locator("[data-door=last]")).to_contain_text("Li Lei")
    # The ticket is still in front of the camera: it is not sent again (no amber screen).
    door.wait_for_timeout(2_500)
    expect(result).to_be_hidden()

    # Shown again later (here: the screen reopened), the same ticket is already inside.
    door.reload()
    expect(result).to_contain_text("Already checked in", timeout=20_000)
    expect(result).to_contain_text("Li Lei")
    expect(result).to_contain_text("Wang Fang")  # by whom
    assert colour(result) == AMBER
    assert evening.check_ins() == {"Li Lei": "scan"}


def test_forged_and_other_meetups_tickets_are_refused(door, camera, evening, tmp_path):
    genuine = evening.code("Han Meimei")
    forged = genuine[:-1] + ("A" if genuine[-1] != "A" else "B")  # one character of the signature
    show(camera, forged)
    door.goto(evening.url())

    result = answer(door)
    expect(result).to_contain_text("Invalid ticket", timeout=20_000)
    assert colour(result) == RED
    door.screenshot(path=tmp_path / "door-invalid.png")

    result.click()  # a tap: ready for the next fan at once
    expect(result).to_be_hidden()
    show(camera, evening.code("Zhang Wei"))
    door.get_by_role("button", name="Pause camera").click()
    door.get_by_role("button", name="Start camera").click()
    expect(result).to_contain_text("Wrong meetup", timeout=20_000)
    expect(result).to_contain_text("Wuhan fan meetup")  # which meetup the ticket is for
    assert colour(result) == RED
    assert evening.check_ins() == {}


def test_offline_scans_are_checked_against_the_guest_list_and_synced(door, camera, evening):
    show(camera, None)
    door.goto(evening.url())
    expect(door.get_by_text("Guest list on this phone: 2 tickets")).to_be_visible(timeout=10_000)

    door.context.set_offline(True)
    expect(door.locator("[data-door=net]")).to_contain_text("Offline")
    show(camera, evening.code("Li Lei"))
    door.get_by_role("button", name="Pause camera").click()
    door.get_by_role("button", name="Start camera").click()

    result = answer(door)
    expect(result).to_contain_text("Admit", timeout=20_000)
    expect(result).to_contain_text("Li Lei")
    expect(result).to_contain_text("Offline: will sync")
    expect(door.locator("[data-door=queue]")).to_have_text(re.compile("1 scan waiting to sync"))
    assert evening.check_ins() == {}

    # Shown again on this phone, still offline: it remembers.
    result.click()
    door.get_by_role("button", name="Pause camera").click()
    door.get_by_role("button", name="Start camera").click()
    expect(result).to_contain_text("Already checked in on this phone", timeout=20_000)
    expect(door.locator("[data-door=queue]")).to_have_text(re.compile("1 scan waiting to sync"))
    result.click()

    door.context.set_offline(False)
    expect(door.locator("[data-door=queue]")).to_be_hidden(timeout=15_000)
    expect(door.locator("[data-door=net]")).to_contain_text("Online")
    expect(door.locator("[data-door=recent]")).to_contain_text("Li Lei")
    expect(door.locator("[data-door=arrived]")).to_have_text("1")
    assert evening.check_ins() == {"Li Lei": "sync"}


def test_when_the_server_cannot_be_reached_the_scan_is_retried_then_kept_with_its_nonce(door, camera, evening):
    show(camera, None)
    door.goto(evening.url())
    expect(door.get_by_text("Guest list on this phone: 2 tickets")).to_be_visible(timeout=10_000)
    synced = []
    door.on("request", lambda request: synced.append(request.post_data_json)
            if request.url.endswith("/checkins/sync") else None)
    tried = []

    def unreachable(route):
        tried.append(route.request.post_data_json["nonce"])
        route.abort("connectionrefused")

    door.route("**/checkins", unreachable)  # the phone still believes it is online
    show(camera, evening.code("Han Meimei"))
    door.get_by_role("button", name="Pause camera").click()
    door.get_by_role("button", name="Start camera").click()
    expect(answer(door)).to_contain_text("Offline: will sync", timeout=20_000)
    expect(answer(door)).to_contain_text("Han Meimei")
    assert len(tried) == 2 and tried[0] == tried[1]  # retried once, as the same scan

    # The next answer from the server brings it back online, and the scan is synced.
    expect(door.locator("[data-door=queue]")).to_be_hidden(timeout=20_000)
    assert [scan["nonce"] for body in synced for scan in body["scans"]] == tried[:1]
    assert evening.check_ins() == {"Han Meimei": "sync"}


def test_a_fan_let_in_offline_here_and_online_elsewhere_is_shown_to_check(door, camera, evening, make_user):
    show(camera, None)
    door.goto(evening.url())
    door.get_by_label("Name shown with its check-ins (for example “Door A”)").fill("Door A")
    door.get_by_role("button", name="Save").click()
    expect(door.get_by_text("Guest list on this phone: 2 tickets")).to_be_visible(timeout=10_000)
    door.context.set_offline(True)
    # Meanwhile the side door, still online, lets Li Lei in.
    side_door = make_user("staff", email="side@example.com", name="Zhao Min")
    at_the_side = check_in_code(evening.meetup.id, evening.code("Li Lei"), user=side_door, device="Door B")
    assert at_the_side["result"] == "admitted"

    show(camera, evening.code("Li Lei"))
    door.get_by_role("button", name="Pause camera").click()
    door.get_by_role("button", name="Start camera").click()
    expect(answer(door)).to_contain_text("Offline: will sync", timeout=20_000)
    door.context.set_offline(False)

    to_check = door.locator("[data-door=conflicts]")
    expect(to_check).to_contain_text("Checked in twice: Li Lei", timeout=15_000)
    expect(to_check).to_contain_text("First: Door B (Zhao Min)")
    expect(to_check).to_contain_text("Again: this phone (Wang Fang)")
    expect(door.locator("[data-door=arrived]")).to_have_text("1")  # counted once
    to_check.get_by_role("button", name="Dismiss").click()
    expect(to_check).to_be_hidden()
    door.reload()
    expect(door.locator("[data-door=recent]")).to_contain_text("Li Lei")
    expect(door.locator("[data-door=conflicts]")).to_be_hidden()


def test_manual_search_check_in_and_undo_on_a_phone(door, camera, evening):
    show(camera, None)
    door.goto(evening.url())
    expect(door.locator("[data-door=expected]")).to_have_text("2")
    expect(door.locator("[data-door=missing-count]")).to_have_text("2")

    door.get_by_label("Name, email or ticket code").fill("han")
    hit = door.locator("[data-door=hits] li").filter(has_text="Han Meimei")
    expect(hit).to_contain_text("han@example.com")
    check_in = hit.get_by_role("button", name="Check in")
    assert check_in.bounding_box()["height"] >= 44  # large enough to tap
    check_in.click()

    result = answer(door)
    expect(result).to_contain_text("Admit")
    expect(result).to_contain_text("Han Meimei")
    result.click()
    expect(door.locator("[data-door=arrived]")).to_have_text("1")
    expect(hit).to_contain_text("In at")
    assert evening.check_ins() == {"Han Meimei": "manual"}

    # Undo the last check-in: asked first, and "keep it" keeps it.
    door.locator("[data-door=last]").get_by_role("button", name="Undo").click()
    dialog = door.get_by_role("dialog")
    expect(dialog).to_contain_text("Undo the check-in of Han Meimei?")
    dialog.get_by_role("button", name="Keep it").click()
    expect(dialog).to_be_hidden()
    assert evening.check_ins() == {"Han Meimei": "manual"}
    door.locator("[data-door=last]").get_by_role("button", name="Undo").click()
    dialog.get_by_role("button", name="Undo check-in").click()
    expect(door.get_by_text("Check-in of Han Meimei undone.")).to_be_visible()
    expect(door.locator("[data-door=arrived]")).to_have_text("0")
    assert evening.check_ins() == {}

    # A ticket code read out and typed in works like a scan; undo from the recent list.
    door.get_by_label("Name, email or ticket code").fill(evening.code("Li Lei"))
    door.get_by_label("Name, email or ticket code").press("Enter")
    expect(result).to_contain_text("Li Lei")
    result.click()
    recent = door.locator("[data-door=recent] li").filter(has_text="Li Lei")
    expect(recent).to_contain_text("Wang Fang")
    recent.get_by_role("button", name="Undo").click()
    dialog.get_by_role("button", name="Undo check-in").click()
    expect(door.get_by_text("Check-in of Li Lei undone.")).to_be_visible()
    expect(door.locator("[data-door=missing-count]")).to_have_text("2")
    assert evening.check_ins() == {}
    assert door.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
