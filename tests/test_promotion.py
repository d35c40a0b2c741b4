"""The forum promotion post (Markdown and BBCode) and the QR code of its registration link."""
import io
from datetime import datetime

import pytest

from meetups.events.services import MeetupDetails, create_meetup
from meetups.planning.promotion import forum_post
from meetups.registration.seats import meetup_seats
from meetups.registration.services import create_invite_codes, register

LINK = "http://localhost/meetups/{id}"


@pytest.fixture
def meetup(chengdu):
    """Camera night in Chengdu, created through the meetup service (this module's own, not conftest's)."""
    meetup = create_meetup(MeetupDetails(
        city="Chengdu", title="Camera night", venue_name="Fan hall", venue_address="1 Tianfu Ave, Hi-tech Zone",
        starts_at=datetime(2030, 5, 20, 19, 0), ends_at=datetime(2030, 5, 20, 21, 30), capacity=40,
        registration_closes_at=datetime(2030, 5, 19, 22, 0)), publish=True)
    create_invite_codes(meetup.id, 3)
    register(meetup.id, name="Li Lei", email="lilei@example.com")
    return meetup


def test_post_page_has_both_markups_with_the_facts(planner, meetup):
    answer = planner.get(f"/planner/meetups/{meetup.id}/post")
    assert answer.status_code == 200
    page = answer.get_data(as_text=True)
    assert LINK.format(id=meetup.id) in page  # the registration link, in both markups
    assert page.count("<textarea readonly") == 3  # title, BBCode, Markdown
    assert 'data-copy="post-bbcode"' in page and "navigator.clipboard" in page and "execCommand" in page
    assert f"/planner/meetups/{meetup.id}/post-qr.png" in page


def test_markdown_and_bbcode_carry_date_venue_seats_and_link(app, meetup):
    link = LINK.format(id=meetup.id)
    with app.test_request_context("/"):
        post = forum_post(meetup, meetup_seats(meetup), link)
    for text in (post.markdown, post.bbcode):
        assert "May 20, 2030" in text and "7:00\u202fPM" in text.replace(" PM", "\u202fPM")
        assert "9:30" in text  # the end
        assert "Chengdu time" in text
        assert "Fan hall" in text and "1 Tianfu Ave, Hi-tech Zone" in text
        assert "40 seats, 36 left" in text  # 3 held for codes, 1 taken
        assert link in text
        assert "Nothing is sold" in text and "engineers" in text
        assert "Registration closes on May 19, 2030" in text
    assert f"[url={link}]" in post.bbcode and "[b]" in post.bbcode and "[/b]" in post.bbcode
    assert "[list]" in post.bbcode and "[*]" in post.bbcode
    assert f"]({link})" in post.markdown and "**" in post.markdown
    assert "Camera night" in post.title


def test_post_follows_the_planner_language(planner, meetup):
    page = planner.get(f"/planner/meetups/{meetup.id}/post?lang=zh").get_data(as_text=True)
    assert "成都" in page and "2030年5月20日" in page


def test_full_meetup_says_so_and_planner_text_cannot_break_the_markup(app, make_city):
    make_city("Wuhan", name_zh="武汉", lat=30.58, lon=114.27)
    meetup = create_meetup(MeetupDetails(city="Wuhan", title="[b]Loud[/b] *night*", venue_name="Hall [2]",
                                         starts_at=datetime(2030, 6, 1, 19, 0), capacity=30), publish=True)
    create_invite_codes(meetup.id, 30)
    with app.test_request_context("/"):
        post = forum_post(meetup, meetup_seats(meetup), "https://fans.example/meetups/1")
    assert "all taken" in post.markdown and "waiting list" in post.bbcode
    assert "[b]Loud" not in post.bbcode and "Hall ［2］" in post.bbcode
    assert r"\*night\*" in post.markdown


def test_draft_post_warns_the_planner(planner, make_meetup):
    meetup = make_meetup(status="draft")
    page = planner.get(f"/planner/meetups/{meetup.id}/post").get_data(as_text=True)
    assert "still a draft" in page


def test_qr_png_decodes_to_the_registration_link(planner, meetup):
    answer = planner.get(f"/planner/meetups/{meetup.id}/post-qr.png")
    assert answer.status_code == 200 and answer.mimetype == "image/png"
    assert answer.get_data().startswith(b"\x89PNG")
    zxingcpp = pytest.importorskip("zxingcpp")
    from PIL import Image

    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(answer.get_data())))
    assert [result.text for result in results] == [LINK.format(id=meetup.id)]
