"""The feedback pool's pages and JSON API: the pool's sorts and filters, voting through the emailed
link, the engineers' console, moderation, the CSV export, rating a meetup and the planner's report."""
import csv
import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from meetups.accounts.services import issue_token
from meetups.errors import DomainError
from meetups.extensions import db
from meetups.feedback import ratings
from meetups.feedback.models import FeedbackItem, FeedbackNote, MeetupRating
from meetups.registration.services import register

from .conftest import body, inside, mails_to, note, page_text, post_form

_VOTER_LINK = re.compile(r"https?://\S+(/feedback/voters/\S+)")
_RATE_LINK = re.compile(r"https?://\S+(/rate/\S+)")


# --- the pool ------------------------------------------------------------------------------

def test_the_pool_lists_items_with_votes_mentions_and_cities(client, meetup, engineer):
    note(meetup, engineer, category="battery")
    note(meetup, engineer, question="夜景拍照模糊", category="camera")
    page = page_text(client.get("/feedback"))
    assert "Battery drains overnight" in page and "夜景拍照模糊" in page
    assert "1 mention" in page and "Chengdu" in page


def test_the_pool_filters_by_category_and_search(client, meetup, engineer):
    note(meetup, engineer, category="battery")
    note(meetup, engineer, question="夜景拍照模糊", category="camera")
    page = page_text(client.get("/feedback?category=camera"))
    assert "夜景拍照模糊" in page and "Battery drains" not in page
    page = page_text(client.get("/feedback?q=拍照"))
    assert "夜景拍照模糊" in page and "Battery drains" not in page


def test_a_hand_edited_sort_shows_the_pool_and_says_why(client, meetup, engineer):
    note(meetup, engineer)
    answer = client.get("/feedback?sort=best")
    assert answer.status_code == 200
    assert "Sort by top, trending or new." in page_text(answer) and "Battery drains overnight" in page_text(answer)


def test_voting_on_the_page_counts_after_the_emailed_link_and_then_at_once(app, client, meetup, engineer):
    first = note(meetup, engineer).item
    second = note(meetup, engineer, question="Dark mode everywhere").item
    answer = post_form(client, f"/feedback/{first.id}/vote", {"email": "fan@example.com"},
                       form_url=f"/feedback/{first.id}", follow_redirects=True)
    assert "We sent a link to fan@example.com" in page_text(answer)
    assert "0 votes" in page_text(client.get(f"/feedback/{first.id}"))

    link = _VOTER_LINK.search(body(mails_to(app, "fan@example.com")[-1])).group(1)
    page = page_text(client.get(link))
    assert "Battery drains overnight" in page
    answer = post_form(client, f"{link}/confirm", {}, form_url=link, follow_redirects=True)
    assert "1 vote now counts" in page_text(answer)
    assert "1 vote" in page_text(client.get(f"/feedback/{first.id}"))

    # This browser is now the voter's: the next vote needs no email.
    answer = post_form(client, f"/feedback/{second.id}/vote", {}, form_url=f"/feedback/{second.id}",
                       follow_redirects=True)
    assert "Your vote counts." in page_text(answer) and "1 vote" in page_text(answer)
    answer = post_form(client, f"/feedback/{second.id}/unvote", {}, form_url=f"/feedback/{second.id}",
                       follow_redirects=True)
    assert "Your vote is withdrawn." in page_text(answer) and "0 votes" in page_text(answer)


def test_a_bad_email_re_renders_the_item_with_the_error_and_stores_nothing(client, meetup, engineer):
    item = note(meetup, engineer).item
    answer = post_form(client, f"/feedback/{item.id}/vote", {"email": "not-an-email"}, form_url=f"/feedback/{item.id}")
    assert answer.status_code == 422
    assert "This does not look like an email address." in page_text(answer)


def test_voting_needs_the_csrf_token(app, client, meetup, engineer):
    item = note(meetup, engineer).item
    client.post(f"/feedback/{item.id}/vote", data={"email": "fan@example.com"})
    assert mails_to(app, "fan@example.com") == []


def test_a_merged_item_redirects_to_the_item_it_went_to(client, meetup, engineer):
    from meetups.feedback.services import merge_items

    kept, repeated = note(meetup, engineer).item, note(meetup, engineer, question="Battery life").item
    merge_items(repeated.id, kept.id, engineer)
    answer = client.get(f"/feedback/{repeated.id}", follow_redirects=True)
    assert "was merged into this item" in page_text(answer)
    assert client.get("/feedback/424242").status_code == 404


# --- moderation ----------------------------------------------------------------------------

def test_staff_change_status_merge_and_edit_from_the_item_page(app, client, auth, meetup, engineer, make_user):
    make_user("planner", email="plan@example.com")
    kept, repeated = note(meetup, engineer).item, note(meetup, engineer, question="Battery life").item
    auth.login("plan@example.com")
    url = f"/feedback/{kept.id}"
    answer = post_form(client, f"{url}/status", {"status": "shipped", "shipped_in": ""}, form_url=url)
    assert answer.status_code == 422 and "Name the release it shipped in." in page_text(answer)
    answer = post_form(client, f"{url}/status", {"status": "shipped", "shipped_in": "MIUI 14.0.3"}, form_url=url,
                       follow_redirects=True)
    assert "Status changed" in page_text(answer) and "MIUI 14.0.3" in page_text(answer)
    answer = post_form(client, f"/feedback/{repeated.id}/merge", {"into": "#999999"},
                       form_url=f"/feedback/{repeated.id}")
    assert answer.status_code == 422 and "There is no such feedback item." in page_text(answer)
    answer = post_form(client, f"/feedback/{repeated.id}/merge", {"into": str(kept.id)},
                       form_url=f"/feedback/{repeated.id}", follow_redirects=True)
    assert "Merged" in page_text(answer) and "2 mentions" in page_text(answer)
    answer = post_form(client, f"{url}/edit", {"title": "", "description": "", "category": "battery"}, form_url=url)
    assert answer.status_code == 422 and "Give the item a title." in page_text(answer)
    post_form(client, f"{url}/edit", {"title": "Battery life", "description": "d", "category": "battery"}, form_url=url)
    db.session.expire_all()
    assert db.session.get(FeedbackItem, kept.id).title == "Battery life"


def test_fans_see_no_moderation_and_cannot_post_it(client, meetup, engineer):
    item = note(meetup, engineer).item
    assert "Moderation" not in page_text(client.get(f"/feedback/{item.id}"))
    answer = client.post(f"/feedback/{item.id}/status", data={"status": "declined"})
    assert answer.status_code in (302, 400)
    db.session.expire_all()
    assert db.session.get(FeedbackItem, item.id).status == "new"


def test_the_csv_export_has_every_item_with_its_numbers(client, auth, meetup, engineer):
    note(meetup, engineer, category="battery")
    note(meetup, engineer, question="=HYPERLINK(\"http://evil\")")
    auth.login("eng@example.com")
    answer = client.get("/feedback/export.csv")
    assert answer.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(answer.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:7] == ["id", "title", "category", "status", "shipped_in", "votes", "mentions"]
    titles = sorted(row[1] for row in rows[1:])
    assert titles == ["'=HYPERLINK(\"http://evil\")", "Battery drains overnight"]
    assert {row[6] for row in rows[1:]} == {"1"} and {row[8] for row in rows[1:]} == {"Chengdu"}


# --- the engineers' console ----------------------------------------------------------------

def test_the_console_shows_questions_and_who_is_inside_and_records_notes(client, auth, meetup, engineer, staff):
    fan = inside(meetup, staff, question="Will the camera get a pro mode?")
    register(meetup.id, name="Not here", email="away@example.com", question="Battery?")
    auth.login("eng@example.com")
    url = f"/console/{meetup.id}"
    page = page_text(client.get(url))
    assert "Will the camera get a pro mode?" in page and "Battery?" in page
    assert "Checked in (1)" in page and "Li Lei" in page

    answer = post_form(client, url, {"question": "Pro mode for the camera", "answer": "Planned for spring",
                                     "category": "camera", "asked_by_id": str(fan.id), "title": "",
                                     "feedback_item_id": "", "client_key": "key-1"}, follow_redirects=True)
    assert "Note saved as a new item" in page_text(answer)
    item = db.session.scalar(select(FeedbackItem))
    answer = post_form(client, url, {"question": "Manual focus?", "answer": "", "category": "camera",
                                     "asked_by_id": "", "title": "", "feedback_item_id": str(item.id),
                                     "client_key": "key-2"}, follow_redirects=True)
    assert "Note saved and linked to" in page_text(answer) and "Notes of this meetup (2)" in page_text(answer)
    # A resent form (the same client key) is stored once.
    post_form(client, url, {"question": "Manual focus?", "category": "camera", "feedback_item_id": str(item.id),
                            "client_key": "key-2"})
    assert db.session.scalar(select(func.count()).select_from(FeedbackNote)) == 2


def test_a_console_note_without_a_question_re_renders_with_the_error(client, auth, meetup, engineer):
    auth.login("eng@example.com")
    answer = post_form(client, f"/console/{meetup.id}", {"question": " ", "answer": "x", "category": "other",
                                                        "client_key": "k"})
    assert answer.status_code == 422 and "Write down the question that was asked." in page_text(answer)
    assert 'value="k"' in answer.get_data(as_text=True)  # the same key: a fixed resend is still stored once
    assert db.session.scalar(select(func.count()).select_from(FeedbackNote)) == 0


def test_the_console_is_for_engineers(client, auth, meetup, make_user):
    make_user("staff", email="door2@example.com")
    auth.login("door2@example.com")
    assert client.get(f"/console/{meetup.id}").status_code == 403


# --- JSON API ------------------------------------------------------------------------------

def _bearer(email):
    return {"Authorization": f"Bearer {issue_token(email)}"}


def test_api_notes_create_or_link_items_and_the_pool_lists_them(client, meetup, engineer):
    headers = _bearer("eng@example.com")
    answer = client.post(f"/api/meetups/{meetup.id}/notes", headers=headers,
                         json={"question": "Battery drains overnight", "answer": "Fix coming", "category": "battery"})
    assert answer.status_code == 201
    created = answer.get_json()
    assert created["created_item"] is True
    answer = client.post(f"/api/meetups/{meetup.id}/notes", headers=headers,
                         json={"question": "Battery again", "feedback_item_id": created["feedback_item_id"],
                               "client_key": "abc"})
    assert answer.status_code == 201 and answer.get_json()["feedback_item_id"] == created["feedback_item_id"]
    replay = client.post(f"/api/meetups/{meetup.id}/notes", headers=headers,
                         json={"question": "Battery again", "feedback_item_id": created["feedback_item_id"],
                               "client_key": "abc"})
    assert replay.status_code == 200 and replay.get_json()["note_id"] == answer.get_json()["note_id"]

    items = client.get("/api/feedback?sort=top").get_json()["items"]
    assert [(i["id"], i["votes"], i["mentions"], i["meetups"]) for i in items] == [
        (created["feedback_item_id"], 0, 2, [meetup.id])]
    assert client.get(f"/api/feedback/{created['feedback_item_id']}").get_json()["notes"][0]["question"] == \
        "Battery drains overnight"


@pytest.mark.parametrize("payload, field", [
    ({}, "question"),
    ({"question": 5}, "question"),
    ({"question": "q", "feedback_item_id": "7"}, "feedback_item_id"),
    ({"question": "q", "feedback_item_id": True}, "feedback_item_id"),
    ({"question": "q", "category": "weather"}, "category"),
])
def test_api_bad_notes_are_422_and_store_nothing(client, meetup, engineer, payload, field):
    answer = client.post(f"/api/meetups/{meetup.id}/notes", headers=_bearer("eng@example.com"), json=payload)
    assert answer.status_code == 422
    error = answer.get_json()["error"]
    assert error["code"] == "invalid" and field in error["fields"]
    assert db.session.scalar(select(func.count()).select_from(FeedbackNote)) == 0


def test_api_names_every_bad_field_of_a_note_at_once(client, meetup, engineer):
    answer = client.post(f"/api/meetups/{meetup.id}/notes", headers=_bearer("eng@example.com"),
                         json={"question": "  ", "answer": 12, "asked_by_id": "Li Lei"})
    assert answer.status_code == 422
    assert set(answer.get_json()["error"]["fields"]) == {"question", "answer", "asked_by_id"}
    assert client.post(f"/api/meetups/{meetup.id}/notes", headers=_bearer("eng@example.com"),
                       data="[1]", content_type="application/json").status_code == 400


def test_api_notes_need_an_engineer(client, meetup, make_user):
    make_user("staff", email="door2@example.com")
    assert client.post(f"/api/meetups/{meetup.id}/notes", json={"question": "q"}).status_code == 401
    answer = client.post(f"/api/meetups/{meetup.id}/notes", headers=_bearer("door2@example.com"),
                         json={"question": "q"})
    assert answer.status_code == 403 and answer.get_json()["error"]["code"] == "forbidden"


def test_api_suggestions_vote_status_and_merge(app, client, meetup, engineer):
    kept = note(meetup, engineer, question="电池续航太短").item
    repeated = note(meetup, engineer, question="续航不够").item
    headers = _bearer("eng@example.com")
    found = client.get("/api/feedback/suggestions?q=续航", headers=headers).get_json()["items"]
    assert {item["id"] for item in found} == {kept.id, repeated.id}

    answer = client.post(f"/api/feedback/{kept.id}/votes", json={"email": "fan@example.com"})
    assert answer.status_code == 202 and answer.get_json()["status"] == "confirmation_sent"
    assert client.post(f"/api/feedback/{kept.id}/votes", json={"email": "nope"}).status_code == 422

    answer = client.post(f"/api/feedback/{kept.id}/status", headers=headers, json={"status": "planned"})
    assert answer.status_code == 200 and answer.get_json()["status"] == "planned"
    answer = client.post(f"/api/feedback/{repeated.id}/merge", headers=headers, json={"into": kept.id})
    assert answer.status_code == 200 and answer.get_json()["mentions"] == 2
    answer = client.post(f"/api/feedback/{kept.id}/merge", headers=headers, json={"into": repeated.id})
    assert answer.status_code == 422
    assert client.get("/api/feedback?sort=best").status_code == 422


# --- rating and the report -----------------------------------------------------------------

def test_attendees_rate_the_meetup_from_the_emailed_link(app, client, meetup, staff, engineer):
    fan = inside(meetup, staff)
    register(meetup.id, name="No show", email="away@example.com")
    note(meetup, engineer, asked_by_id=fan.id)
    with pytest.raises(DomainError, match="once the meetup is over"):
        ratings.request_ratings(meetup)  # not over yet
    later = meetup.starts_at + timedelta(hours=7)
    assert [m.id for m in ratings.due_for_ratings(later)] == [meetup.id]
    assert ratings.request_ratings(meetup, now=later) == 1
    assert ratings.due_for_ratings(later) == []
    assert mails_to(app, "away@example.com")[-1]["Subject"] != "How was Chengdu evening?"

    link = _RATE_LINK.search(body(mails_to(app, "li@example.com")[-1])).group(1)
    answer = post_form(client, link, {"score": "9", "comment": ""})
    assert answer.status_code == 422 and "Pick from 1 to 5 stars." in page_text(answer)
    answer = post_form(client, link, {"score": "4", "comment": "Great evening"}, follow_redirects=True)
    assert "Thank you for your rating!" in page_text(answer)
    post_form(client, link, {"score": "5", "comment": "Even better"})  # rating again replaces it
    rows = db.session.scalars(select(MeetupRating)).all()
    assert [(r.score, r.comment) for r in rows] == [(5, "Even better")]
    assert client.get("/rate/1-forged").status_code == 404


def test_the_planner_report_shows_attendance_no_shows_rating_and_notes(app, client, auth, meetup, staff, engineer,
                                                                        make_user):
    fan = inside(meetup, staff)
    register(meetup.id, name="No show", email="away@example.com")
    note(meetup, engineer, asked_by_id=fan.id, category="battery")
    ratings.request_ratings(meetup, now=meetup.starts_at + timedelta(hours=7))
    link = _RATE_LINK.search(body(mails_to(app, "li@example.com")[-1])).group(1)
    ratings.rate_meetup(link.rsplit("/", 1)[1], 4, "Loved it")
    make_user("planner", email="plan@example.com")
    auth.login("plan@example.com")
    page = page_text(client.get(f"/planner/meetups/{meetup.id}/report"))
    assert "1 / 2" in page and "No show" in page and "4.0" in page and "Loved it" in page
    assert "Battery drains overnight" in page


def test_the_cron_command_asks_each_ended_meetup_once(app, runner, make_meetup):
    past = make_meetup(title="Last week", days_from_now=-1)
    make_meetup(title="Next week", days_from_now=7)
    make_meetup(title="Long ago", days_from_now=-30)
    result = runner.invoke(args=["feedback", "ask-ratings"])
    assert result.exit_code == 0
    assert "Last week" in result.output and "asked 1 meetups" in result.output
    assert "asked 0 meetups" in runner.invoke(args=["feedback", "ask-ratings"]).output
    db.session.expire_all()
    assert db.session.get(type(past), past.id).ratings_requested_at is not None
