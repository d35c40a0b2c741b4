"""Tickets: the page at the door, QR images that decode to exactly the signed code (rendered once,
cached under a hashed name), the calendar file, revocation, and rotating the signing key."""
import io
import re
import threading
import xml.etree.ElementTree as ET
from datetime import timedelta
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image, ImageDraw

from meetups import create_app
from meetups.extensions import db
from meetups.registration.services import (
    cancel_meetup,
    cancel_registration,
    create_invite_codes,
    format_code,
    register,
    registration_for_ticket,
)
from meetups.shared.ticket_codes import ticket_code, verify
from meetups.tickets import qr

TITLE = "Chengdu meetup, with engineers; 2nd"
PATH_SQUARE = re.compile(r"M(\d+),(\d+)H(\d+)V(\d+)H(\d+)z")

pytestmark = pytest.mark.usefixtures("ticket_key_from_instance")


@pytest.fixture
def meetup(chengdu, make_meetup):
    """A meetup whose title needs escaping in a calendar file (this module's own, not conftest's)."""
    return make_meetup(city=chengdu, title=TITLE, venue_name="Tianfu Software Park",
                       venue_address="1 Tianfu Avenue, Hi-tech Zone")


def take_seat(meetup, name="Li Lei", email="lilei@example.com", **fields):
    return register(meetup.id, name=name, email=email, **fields)


def decode(image_bytes: bytes) -> list:
    return zxingcpp.read_barcodes(Image.open(io.BytesIO(image_bytes)))


def rasterise(svg_bytes: bytes, scale: int = 8) -> Image.Image:
    """Draw the SVG's path (one square per dark module, as qrcode writes it) on white."""
    root = ET.fromstring(svg_bytes)
    size = int(float(root.get("viewBox").split()[2]))
    image = Image.new("L", (size * scale, size * scale), 255)
    draw = ImageDraw.Draw(image)
    path = root.find("{http://www.w3.org/2000/svg}path").get("d")
    squares = PATH_SQUARE.findall(path)
    assert squares
    for x1, y1, x2, y2, _x3 in squares:
        draw.rectangle([int(x1) * scale, int(y1) * scale, int(x2) * scale - 1, int(y2) * scale - 1], fill=0)
    return image


def assert_private(response):
    assert response.headers["Cache-Control"] == "private, no-store"
    assert "noindex" in response.headers["X-Robots-Tag"]


# --- the page ------------------------------------------------------------------------------

def test_ticket_page_shows_the_holder_the_meetup_and_its_links(client, meetup):
    outcome = take_seat(meetup)
    ref = outcome.registration.ticket_ref

    response = client.get(f"/tickets/{ref}")

    assert response.status_code == 200
    assert_private(response)
    html = response.get_data(as_text=True)
    for text in ("Li Lei", "Chengdu meetup, with engineers; 2nd", "Tianfu Software Park",
                 "1 Tianfu Avenue, Hi-tech Zone", "Chengdu"):
        assert text in html
    assert ticket_code(ref) in html  # printed under the QR, to read out when a camera fails
    assert f'src="/tickets/{ref}.png"' in html
    assert f'href="/tickets/{ref}.ics"' in html
    assert f'href="/tickets/{ref}.png?download=1"' in html
    assert f'href="/tickets/{ref}.svg?download=1"' in html
    assert "https://uri.amap.com/marker?position=104.06667,30.66667&amp;name=Tianfu+Software+Park" in html
    assert "coordinate=wgs84" in html
    assert "https://www.openstreetmap.org/?mlat=30.66667&amp;mlon=104.06667#map=12/30.66667/104.06667" in html
    assert "The map pin marks the city" in html  # no venue pin yet: the fan is told
    local_date = meetup.local_starts_at
    # The 'full' style, in the city's zone: weekday, date and the local time.
    assert f"{local_date:%A, %B} {local_date.day}, {local_date.year}" in html
    assert f"{local_date.hour % 12 or 12}:{local_date:%M}" in html


def test_unknown_or_malformed_references_are_not_found(client, meetup):
    take_seat(meetup)
    for url in ("/tickets/AAAAAAAAAAAAAAAAAAAAAA", "/tickets/AAAAAAAAAAAAAAAAAAAAAA.png",
                "/tickets/AAAAAAAAAAAAAAAAAAAAAA.svg", "/tickets/AAAAAAAAAAAAAAAAAAAAAA.ics",
                "/tickets/%00", "/tickets/" + "a" * 300, "/tickets/a.b.png", "/tickets/%E6%88%90%E9%83%BD"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert_private(response)


# --- QR images -----------------------------------------------------------------------------

def test_png_decodes_to_exactly_the_ticket_code(client, meetup):
    ref = take_seat(meetup).registration.ticket_ref

    response = client.get(f"/tickets/{ref}.png")

    assert response.status_code == 200
    assert response.mimetype == "image/png"
    assert "Content-Disposition" not in response.headers
    assert_private(response)
    found = decode(response.data)
    assert [barcode.text for barcode in found] == [ticket_code(ref)]
    assert found[0].format == zxingcpp.BarcodeFormat.QRCode
    assert str(found[0].ec_level) == "M"
    # A quiet zone of 4 modules: the outer band of the image is white all round.
    image = Image.open(io.BytesIO(response.data)).convert("L")
    band = 4 * qr.PNG_MODULE_PIXELS
    width, height = image.size
    for box in ((0, 0, width, band), (0, height - band, width, height), (0, 0, band, height),
                (width - band, 0, width, height)):
        assert image.crop(box).getextrema() == (255, 255)


def test_svg_is_well_formed_and_decodes_to_the_ticket_code(client, meetup):
    ref = take_seat(meetup).registration.ticket_ref

    response = client.get(f"/tickets/{ref}.svg")

    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert_private(response)
    root = ET.fromstring(response.data)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    found = zxingcpp.read_barcodes(rasterise(response.data))
    assert [barcode.text for barcode in found] == [ticket_code(ref)]


def test_download_links_save_a_file_with_a_friendly_name(client, meetup):
    ref = take_seat(meetup).registration.ticket_ref
    day = meetup.local_starts_at.strftime("%Y-%m-%d")
    for kind in ("png", "svg"):
        response = client.get(f"/tickets/{ref}.{kind}?download=1")
        assert response.status_code == 200
        disposition = response.headers["Content-Disposition"]
        assert disposition == f"attachment; filename=meetup-ticket-chengdu-{day}.{kind}"
        assert ref not in disposition


def test_each_image_is_rendered_once_and_then_served_from_the_cache(client, meetup, monkeypatch, app):
    ref = take_seat(meetup).registration.ticket_ref
    code = ticket_code(ref)
    rendered = []
    real_render = qr.render
    monkeypatch.setattr(qr, "render", lambda text, kind: rendered.append(kind) or real_render(text, kind))

    first = client.get(f"/tickets/{ref}.png").data
    cached = qr.cache_path(code, "png")
    assert cached.exists() and cached.read_bytes() == first
    mtime = cached.stat().st_mtime_ns
    second = client.get(f"/tickets/{ref}.png").data
    client.get(f"/tickets/{ref}.svg")
    client.get(f"/tickets/{ref}.svg?download=1")

    assert second == first
    assert rendered == ["png", "svg"]
    assert cached.stat().st_mtime_ns == mtime
    folder = Path(app.instance_path) / qr.CACHE_FOLDER
    names = sorted(path.name for path in folder.iterdir())
    assert len(names) == 2 and all(re.fullmatch(r"[0-9a-f]{64}\.(png|svg)", name) for name in names)
    assert not any(ref in name or code in name for name in names)  # the cache does not give the secret away


def test_processes_rendering_the_same_ticket_at_once_agree(app, meetup):
    code = ticket_code(take_seat(meetup).registration.ticket_ref)
    results, start = [], threading.Barrier(6)

    def fetch():
        with app.app_context():
            start.wait()
            results.append(qr.qr_image(code, "png"))

    threads = [threading.Thread(target=fetch) for _number in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 6 and len(set(results)) == 1
    folder = Path(app.instance_path) / qr.CACHE_FOLDER
    assert [path.name for path in folder.iterdir()] == [qr.cache_path(code, "png").name]  # no drafts left behind
    assert [barcode.text for barcode in decode(results[0])] == [code]


def test_two_tickets_have_their_own_codes_and_images(client, meetup):
    first = take_seat(meetup, "Li Lei", "lilei@example.com").registration.ticket_ref
    second = take_seat(meetup, "Han Meimei", "hanmeimei@example.com").registration.ticket_ref

    images = {ref: client.get(f"/tickets/{ref}.png").data for ref in (first, second)}

    assert ticket_code(first) != ticket_code(second)
    assert images[first] != images[second]
    assert [b.text for b in decode(images[first])] == [ticket_code(first)]
    assert [b.text for b in decode(images[second])] == [ticket_code(second)]
    assert "Han Meimei" in client.get(f"/tickets/{second}").get_data(as_text=True)
    assert "Han Meimei" not in client.get(f"/tickets/{first}").get_data(as_text=True)


# --- the code ------------------------------------------------------------------------------

def test_any_changed_character_makes_a_code_invalid(meetup):
    ref = take_seat(meetup).registration.ticket_ref
    code = ticket_code(ref)
    assert re.fullmatch(r"MT1\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{22}", code)
    assert verify(code) == ref

    for position, character in enumerate(code):
        for replacement in "Aa0-_.":
            if replacement != character:
                changed = code[:position] + replacement + code[position + 1:]
                assert verify(changed) is None, (position, replacement)
        assert verify(code[:position] + code[position + 1:]) is None  # a character left out
    assert verify(code + "A") is None
    assert verify(code.swapcase()) is None


def test_a_code_of_another_format_is_invalid(meetup):
    code = ticket_code(take_seat(meetup).registration.ticket_ref)
    assert verify("MT2" + code[3:]) is None
    assert verify(code.replace("MT1.", "mt1.", 1)) is None
    assert verify(f" {code}") is None and verify(f"{code}\n") is None


# --- not a ticket --------------------------------------------------------------------------

def test_a_cancelled_registration_has_no_ticket_any_more(client, runner, meetup):
    outcome = take_seat(meetup)
    old_ref = outcome.registration.ticket_ref
    old_code = ticket_code(old_ref)
    assert client.get(f"/tickets/{old_ref}.png").status_code == 200

    cancel_registration(outcome.manage_token)

    for suffix in ("", ".png", ".svg", ".ics"):
        response = client.get(f"/tickets/{old_ref}{suffix}")
        assert response.status_code == 404, suffix
        assert_private(response)
    assert verify(old_code) == old_ref  # still a genuine signature …
    assert registration_for_ticket(old_ref) is None  # … that names no one now
    result = runner.invoke(args=["tickets", "verify", old_code])
    assert result.exit_code == 1 and "revoked" in result.output


def test_waiting_list_and_offers_show_no_qr(client, meetup):
    meetup.offer_hours = 24
    db.session.commit()
    invite = create_invite_codes(meetup.id, meetup.capacity)[0]  # every seat held for invite codes
    holder = take_seat(meetup, "Code Holder", "holder@example.com", invite_code=format_code(invite.code))
    waiting = take_seat(meetup, "Wang Fang", "wangfang@example.com")
    assert waiting.registration.status == "waitlisted"
    ref = waiting.registration.ticket_ref

    page = client.get(f"/tickets/{ref}")
    assert page.status_code == 409
    assert_private(page)
    html = page.get_data(as_text=True)
    assert "waiting list" in html and "not a ticket yet" in html
    assert "Wang Fang" in html and TITLE in html
    assert ".png" not in html and "MT1." not in html and "<img" not in html.split("<main", 1)[1]
    for suffix in (".png", ".svg", ".ics"):
        assert client.get(f"/tickets/{ref}{suffix}").status_code == 404

    cancel_registration(holder.manage_token)  # a seat frees up and is offered to Wang Fang
    db.session.refresh(waiting.registration)
    assert waiting.registration.status == "offered"
    page = client.get(f"/tickets/{ref}")
    assert page.status_code == 409
    html = page.get_data(as_text=True)
    assert "A seat is waiting for you" in html and "MT1." not in html
    assert client.get(f"/tickets/{ref}.png").status_code == 404


def test_a_cancelled_meetup_shows_no_qr(client, runner, meetup):
    ref = take_seat(meetup).registration.ticket_ref
    code = ticket_code(ref)

    cancel_meetup(meetup.id)

    page = client.get(f"/tickets/{ref}")
    assert page.status_code == 410
    assert_private(page)
    html = page.get_data(as_text=True)
    assert "This meetup has been cancelled." in html
    assert "MT1." not in html and f"{ref}.png" not in html
    for suffix in (".png", ".svg", ".ics"):
        assert client.get(f"/tickets/{ref}{suffix}").status_code == 404
    result = runner.invoke(args=["tickets", "verify", code])
    assert result.exit_code == 1 and "meetup is cancelled" in result.output


# --- the calendar file ---------------------------------------------------------------------

def unfolded_lines(body: bytes) -> list[str]:
    assert body.endswith(b"\r\n")
    assert b"\n" not in body.replace(b"\r\n", b"")  # CRLF only, no bare line feeds
    physical = body.split(b"\r\n")[:-1]
    for line in physical:
        assert len(line) <= 75, line
        line.decode()  # folding never splits a UTF-8 character
    return body.decode().replace("\r\n ", "").split("\r\n")[:-1]


def test_calendar_file_is_an_rfc5545_event(client, meetup):
    ref = take_seat(meetup).registration.ticket_ref

    response = client.get(f"/tickets/{ref}.ics")

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=meetup-ticket-chengdu-")
    assert_private(response)
    assert re.search(rb"\r\n [^\r]", response.data), "the long DESCRIPTION line is folded"
    lines = unfolded_lines(response.data)
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-1] == "END:VCALENDAR"
    assert "VERSION:2.0" in lines and lines.count("BEGIN:VEVENT") == 1
    fields = dict(line.split(":", 1) for line in lines)
    starts = meetup.starts_at
    assert fields["DTSTART"] == starts.strftime("%Y%m%dT%H%M%SZ")
    assert fields["DTEND"] == (starts + timedelta(hours=3)).strftime("%Y%m%dT%H%M%SZ")
    assert re.fullmatch(r"\d{8}T\d{6}Z", fields["DTSTAMP"])
    assert fields["SUMMARY"] == r"Chengdu meetup\, with engineers\; 2nd"
    assert fields["LOCATION"] == r"Tianfu Software Park\, 1 Tianfu Avenue\, Hi-tech Zone\, Chengdu"
    assert fields["URL"] == f"http://localhost/tickets/{ref}"
    assert f"http://localhost/tickets/{ref}" in fields["DESCRIPTION"]
    assert fields["UID"].endswith("@city-meetups") and ref not in fields["UID"]
    assert fields["GEO"] == "30.666670;104.066670"  # no venue pin: the city centre


def test_a_pinned_venue_is_where_the_maps_and_the_calendar_lead(client, meetup):
    meetup.venue_latitude, meetup.venue_longitude = 30.54321, 104.06543
    db.session.commit()
    ref = take_seat(meetup).registration.ticket_ref

    html = client.get(f"/tickets/{ref}").get_data(as_text=True)
    assert "https://uri.amap.com/marker?position=104.06543,30.54321&amp;name=Tianfu+Software+Park" in html
    assert "https://www.openstreetmap.org/?mlat=30.54321&amp;mlon=104.06543#map=17/30.54321/104.06543" in html
    assert "30.66667" not in html and "The map pin marks the city" not in html
    fields = dict(line.split(":", 1) for line in unfolded_lines(client.get(f"/tickets/{ref}.ics").data))
    assert fields["GEO"] == "30.543210;104.065430"


def test_calendar_file_uses_the_end_time_and_folds_chinese_text(client, make_city, make_meetup):
    city = make_city("Chengdu", lat=30.66667, lon=104.06667, name_zh="成都")
    meetup = make_meetup(city=city, title="成都同城会：和工程师面对面聊聊新系统的每一个细节，欢迎大家带着问题来",
                         venue_name="天府软件园")
    meetup.ends_at = meetup.starts_at + timedelta(hours=2, minutes=30)
    db.session.commit()
    ref = take_seat(meetup, "李雷").registration.ticket_ref

    response = client.get(f"/tickets/{ref}.ics", headers={"Accept-Language": "zh"})

    fields = dict(line.split(":", 1) for line in unfolded_lines(response.data))
    assert fields["DTEND"] == meetup.ends_at.strftime("%Y%m%dT%H%M%SZ")
    assert fields["SUMMARY"] == meetup.title  # full-width commas are not RFC 5545 separators
    assert b"\r\n " in response.data.split(b"SUMMARY:", 1)[1].split(b"\r\nLOCATION", 1)[0]  # folded
    assert fields["LOCATION"] == r"天府软件园\, 成都"


# --- the command line ----------------------------------------------------------------------

def test_verify_command_names_the_fan_and_the_meetup(runner, meetup):
    outcome = take_seat(meetup)
    result = runner.invoke(args=["tickets", "verify", ticket_code(outcome.registration.ticket_ref)])
    assert result.exit_code == 0, result.output
    assert "Li Lei <lilei@example.com>" in result.output and TITLE in result.output
    assert "valid: admit" in result.output

    result = runner.invoke(args=["tickets", "verify", "MT1.not-a-real-code"])
    assert result.exit_code == 1 and "invalid" in result.output


def _restarted(app):
    """The same instance folder and database, as a server process started after the rotation."""
    return create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                       "SECRET_KEY": app.config["SECRET_KEY"], "INSTANCE_PATH": app.instance_path, "RATELIMIT": "off"})


def test_rotating_the_key_keeps_old_tickets_valid(app, runner, meetup):
    ref = take_seat(meetup).registration.ticket_ref
    old_code = ticket_code(ref)
    instance = Path(app.instance_path)
    old_key = (instance / "ticket_key").read_text().strip()

    result = runner.invoke(args=["tickets", "rotate-key"])

    assert result.exit_code == 0, result.output
    assert "Restart the app" in result.output
    assert (instance / "ticket_key.previous").read_text() == f"{old_key}\n"
    assert (instance / "ticket_key").read_text().strip() not in ("", old_key)
    assert (instance / "ticket_key").stat().st_mode & 0o077 == 0  # readable by its owner only

    restarted = _restarted(app)
    try:
        with restarted.app_context():
            new_code = ticket_code(ref)
            assert new_code != old_code
            assert verify(old_code) == ref and verify(new_code) == ref
            second = restarted.test_cli_runner().invoke(args=["tickets", "rotate-key"])
            assert second.exit_code == 0, second.output
        client = restarted.test_client()
        assert [b.text for b in decode(client.get(f"/tickets/{ref}.png").data)] == [new_code]
        assert new_code in client.get(f"/tickets/{ref}").get_data(as_text=True)
    finally:
        with restarted.app_context():
            db.engine.dispose()

    assert len((instance / "ticket_key.previous").read_text().split()) == 2
    again = _restarted(app)
    try:
        with again.app_context():
            assert verify(old_code) == ref and verify(new_code) == ref  # both earlier keys still known
            assert ticket_code(ref) not in (old_code, new_code)
    finally:
        with again.app_context():
            db.engine.dispose()


def test_rotation_is_refused_when_the_key_is_not_in_the_instance_folder(app, runner, monkeypatch):
    monkeypatch.setenv("MEETUPS_TICKET_KEY", "a-key-from-the-environment")
    result = runner.invoke(args=["tickets", "rotate-key"])
    assert result.exit_code == 1
    assert "MEETUPS_TICKET_KEY" in result.output and "TICKET_KEYS_PREVIOUS" in result.output
    assert not (Path(app.instance_path) / "ticket_key.previous").exists()

    monkeypatch.delenv("MEETUPS_TICKET_KEY")
    monkeypatch.setitem(app.config, "TICKET_KEY", "a-key-from-instance-config")
    result = runner.invoke(args=["tickets", "rotate-key"])
    assert result.exit_code == 1 and "instance/config.py" in result.output
    assert not (Path(app.instance_path) / "ticket_key.previous").exists()
