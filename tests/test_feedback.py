"""The feedback pool's services: notes making or linking items, mentions, votes (one per confirmed
fan per item), merging, status changes that tell the fans concerned, and each sort's order."""
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from meetups.errors import DomainError
from meetups.extensions import db
from meetups.feedback import search, services
from meetups.feedback.models import FeedbackItem, FeedbackNote, FeedbackStatusChange, FeedbackVote, FeedbackVoter
from meetups.feedback.services import (
    cast_vote,
    change_status,
    confirm_voter,
    merge_items,
    pool,
    record_note,
    suggestions,
    withdraw_vote,
)
from meetups.registration.services import register
from meetups.shared.timeutil import utcnow

from .conftest import body, inside, mails_to, note

_VOTER_LINK = re.compile(r"https?://\S+/feedback/voters/(\S+)")


@pytest.fixture
def wuhan(make_city):
    return make_city("Wuhan", lat=30.58, lon=114.27, name_zh="武汉")


def confirmed_voter(app, email, item_id):
    """A fan who voted by email and opened the link: returns the voter's id."""
    outcome = cast_vote(item_id, email=email)
    token = _VOTER_LINK.search(body(mails_to(app, email)[-1])).group(1)
    voter, _counted = confirm_voter(token)
    assert voter.id == outcome.voter.id
    return voter.id


def votes_of(item_id):
    return services.summarize([db.session.get(FeedbackItem, item_id)])[0].votes


# --- notes ---------------------------------------------------------------------------------

def test_a_note_creates_an_item_from_its_question(app, meetup, engineer):
    outcome = note(meetup, engineer, question="Night mode photos are blurry\nespecially indoors", category="camera")
    assert outcome.created_item
    item = outcome.item
    assert item.title == "Night mode photos are blurry"
    assert item.description == "Night mode photos are blurry\nespecially indoors"
    assert (item.category, item.status) == ("camera", "new")
    assert outcome.note.item_id == item.id and outcome.note.author_id == engineer.id


def test_a_note_can_be_linked_to_an_existing_item(app, meetup, engineer):
    first = note(meetup, engineer)
    second = note(meetup, engineer, question="My battery is empty by noon", feedback_item_id=first.item.id)
    assert not second.created_item and second.item.id == first.item.id
    assert db.session.scalar(select(func.count()).select_from(FeedbackItem)) == 1


def test_a_note_linked_to_a_merged_item_goes_to_the_item_it_was_merged_into(app, meetup, engineer):
    kept, repeated = note(meetup, engineer).item, note(meetup, engineer, question="Battery life").item
    merge_items(repeated.id, kept.id, engineer)
    assert note(meetup, engineer, question="again", feedback_item_id=repeated.id).item.id == kept.id


def test_mentions_count_notes_per_meetup_and_city(app, make_meetup, meetup, wuhan, engineer):
    other = make_meetup(city=wuhan, title="Wuhan evening", days_from_now=-14)
    item = note(meetup, engineer).item
    note(meetup, engineer, question="Battery again", feedback_item_id=item.id)
    note(other, engineer, question="Battery in Wuhan", feedback_item_id=item.id)
    summary = services.summarize([item])[0]
    assert summary.mentions == 3
    assert sorted(summary.meetup_ids) == sorted([meetup.id, other.id])
    assert sorted(city.name for city in summary.cities) == ["Chengdu", "Wuhan"]


def test_who_asked_must_be_checked_in_at_this_meetup(app, make_meetup, meetup, engineer, staff):
    fan = inside(meetup, staff)
    registered_only = register(meetup.id, name="Han Meimei", email="han@example.com").registration
    elsewhere = make_meetup(title="Elsewhere", days_from_now=0.05)
    stranger = inside(elsewhere, staff, name="Zhang San", email="zhang@example.com")
    assert note(meetup, engineer, asked_by_id=fan.id).note.asked_by_id == fan.id
    for bad in (registered_only.id, stranger.id, 999_999):
        with pytest.raises(DomainError) as refused:
            note(meetup, engineer, asked_by_id=bad)
        assert "asked_by_id" in refused.value.fields
    assert db.session.scalar(select(func.count()).select_from(FeedbackNote)) == 1


@pytest.mark.parametrize("fields, field", [
    ({"question": "  "}, "question"),
    ({"question": "x" * 2001}, "question"),
    ({"answer": "x" * 4001}, "answer"),
    ({"category": "weather"}, "category"),
    ({"title": "t" * 201}, "title"),
    ({"feedback_item_id": 424242}, "feedback_item_id"),
    ({"question": "nul\x00"}, "question"),
])
def test_a_bad_note_names_the_field_and_stores_nothing(app, meetup, engineer, fields, field):
    with pytest.raises(DomainError) as refused:
        record_note(meetup.id, engineer, **{"question": "Fine question", **fields})
    assert refused.value.code == "invalid" and field in refused.value.fields
    assert db.session.scalar(select(func.count()).select_from(FeedbackNote)) == 0
    assert db.session.scalar(select(func.count()).select_from(FeedbackItem)) == 0


def test_a_note_sent_twice_with_its_client_key_is_stored_once(app, meetup, engineer):
    first = note(meetup, engineer, client_key="k-1")
    again = note(meetup, engineer, client_key="k-1")
    assert again.replayed and again.note.id == first.note.id
    assert db.session.scalar(select(func.count()).select_from(FeedbackNote)) == 1
    assert not note(meetup, engineer, client_key="k-2").replayed


def test_a_note_for_an_unknown_meetup_is_404(app, engineer):
    with pytest.raises(DomainError) as refused:
        record_note(424242, engineer, question="Where am I?")
    assert refused.value.status == 404


# --- search and suggestions ---------------------------------------------------------------

def test_terms_split_chinese_into_pairs_and_stem_english():
    assert search.terms("电池续航") == ["电池", "池续", "续航"]
    assert search.terms("The batteries are draining") == ["batter", "drain"]
    assert search.terms("相机 camera") == ["相机", "camera"]


def test_suggestions_find_chinese_and_english_items_closest_first(app, meetup, engineer):
    battery = note(meetup, engineer, question="电池续航太短", category="battery").item
    camera = note(meetup, engineer, question="夜景拍照模糊", category="camera").item
    english = note(meetup, engineer, question="Battery drains overnight").item
    assert [s.item.id for s in suggestions("续航")] == [battery.id]
    assert [s.item.id for s in suggestions("拍照")] == [camera.id]
    assert [s.item.id for s in suggestions("my batteries")] == [english.id]
    assert suggestions("weather forecast") == []


def test_suggestions_leave_out_merged_duplicates(app, meetup, engineer):
    kept = note(meetup, engineer, question="Battery drains overnight").item
    repeated = note(meetup, engineer, question="Battery drains fast").item
    merge_items(repeated.id, kept.id, engineer)
    assert [s.item.id for s in suggestions("battery drains")] == [kept.id]


def test_searching_the_pool_needs_most_of_the_terms(app, meetup, engineer):
    night = note(meetup, engineer, question="Night photos are blurry").item
    note(meetup, engineer, question="Photos app crashes")
    assert [s.item.id for s in pool("top", q="blurry night")] == [night.id]
    assert len(pool("top", q="photos")) == 2


# --- votes ---------------------------------------------------------------------------------

def test_a_vote_by_email_counts_only_after_the_link_is_opened(app, meetup, engineer):
    item = note(meetup, engineer).item
    outcome = cast_vote(item.id, email="Fan@Example.com")
    assert outcome.status == services.CONFIRMATION_SENT
    assert votes_of(item.id) == 0
    mail = mails_to(app, "fan@example.com")[-1]
    assert item.title in body(mail)
    voter, counted = confirm_voter(_VOTER_LINK.search(body(mail)).group(1))
    assert counted == 1 and voter.email == "fan@example.com"
    assert votes_of(item.id) == 1


def test_a_signed_in_voter_votes_at_once_and_only_once(app, meetup, engineer):
    first, second = note(meetup, engineer).item, note(meetup, engineer, question="Dark mode").item
    voter_id = confirmed_voter(app, "fan@example.com", first.id)
    assert cast_vote(second.id, voter_id=voter_id).status == services.COUNTED
    assert cast_vote(second.id, voter_id=voter_id).status == services.ALREADY_COUNTED
    assert (votes_of(first.id), votes_of(second.id)) == (1, 1)


def test_typing_a_confirmed_fans_email_does_not_vote_in_their_name(app, meetup, engineer):
    first, second = note(meetup, engineer).item, note(meetup, engineer, question="Dark mode").item
    confirmed_voter(app, "fan@example.com", first.id)
    mails_before = len(mails_to(app, "fan@example.com"))
    outcome = cast_vote(second.id, email="fan@example.com", now=utcnow() + timedelta(hours=1))
    assert outcome.status == services.CONFIRMATION_SENT
    assert votes_of(second.id) == 0
    assert len(mails_to(app, "fan@example.com")) == mails_before + 1


def test_voting_again_soon_sends_no_second_email_but_the_link_counts_both(app, meetup, engineer):
    first, second = note(meetup, engineer).item, note(meetup, engineer, question="Dark mode").item
    assert cast_vote(first.id, email="fan@example.com").status == services.CONFIRMATION_SENT
    assert cast_vote(second.id, email="fan@example.com").status == services.RECENTLY_SENT
    mails = mails_to(app, "fan@example.com")
    assert len(mails) == 1
    _voter, counted = confirm_voter(_VOTER_LINK.search(body(mails[0])).group(1))
    assert counted == 2 and (votes_of(first.id), votes_of(second.id)) == (1, 1)


def test_the_database_allows_one_vote_per_fan_per_item(app, meetup, engineer):
    item = note(meetup, engineer).item
    voter = FeedbackVoter(email="fan@example.com", confirm_salt="s")
    db.session.add(voter)
    db.session.commit()
    db.session.add_all([FeedbackVote(item_id=item.id, voter_id=voter.id),
                        FeedbackVote(item_id=item.id, voter_id=voter.id)])
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


@pytest.mark.parametrize("email", ["", "not-an-email", "a@b"])
def test_a_vote_without_a_good_email_is_refused_and_stores_nothing(app, meetup, engineer, email):
    item = note(meetup, engineer).item
    with pytest.raises(DomainError) as refused:
        cast_vote(item.id, email=email)
    assert "email" in refused.value.fields
    assert db.session.scalar(select(func.count()).select_from(FeedbackVote)) == 0


def test_withdrawing_a_vote(app, meetup, engineer):
    item = note(meetup, engineer).item
    voter_id = confirmed_voter(app, "fan@example.com", item.id)
    assert withdraw_vote(item.id, voter_id) and votes_of(item.id) == 0
    assert not withdraw_vote(item.id, voter_id)


def test_a_bad_voter_link_opens_nothing(app, meetup, engineer):
    item = note(meetup, engineer).item
    cast_vote(item.id, email="fan@example.com")
    token = _VOTER_LINK.search(body(mails_to(app, "fan@example.com")[-1])).group(1)
    for bad in (token[:-1] + ("A" if token[-1] != "A" else "B"), "1-xyz", "", "abc"):
        with pytest.raises(DomainError) as refused:
            confirm_voter(bad)
        assert refused.value.status == 404
    assert votes_of(item.id) == 0


# --- merging -------------------------------------------------------------------------------

def test_merging_moves_votes_notes_and_mentions_without_counting_a_fan_twice(app, make_meetup, meetup, wuhan,
                                                                             engineer):
    other = make_meetup(city=wuhan, title="Wuhan evening", days_from_now=-14)
    kept = note(meetup, engineer).item
    repeated = note(other, engineer, question="Battery dies by noon").item
    both = confirmed_voter(app, "both@example.com", kept.id)
    cast_vote(repeated.id, voter_id=both)
    confirmed_voter(app, "only-dup@example.com", repeated.id)
    confirmed_voter(app, "only-kept@example.com", kept.id)
    assert (votes_of(kept.id), votes_of(repeated.id)) == (2, 2)

    merge_items(repeated.id, kept.id, engineer)
    summary = services.summarize([db.session.get(FeedbackItem, kept.id)])[0]
    assert summary.votes == 3  # both@ counts once
    assert summary.mentions == 2 and sorted(summary.meetup_ids) == sorted([meetup.id, other.id])
    db.session.expire_all()
    duplicate = db.session.get(FeedbackItem, repeated.id)
    assert duplicate.status == "duplicate" and duplicate.merged_into_id == kept.id
    assert votes_of(repeated.id) == 0
    assert [s.item.id for s in pool("top")] == [kept.id]  # duplicates leave the pool


def test_a_pending_vote_on_the_survivor_counts_when_the_fan_had_counted_on_the_duplicate(app, meetup, engineer):
    kept, repeated = note(meetup, engineer).item, note(meetup, engineer, question="Battery").item
    voter_id = confirmed_voter(app, "fan@example.com", repeated.id)
    cast_vote(kept.id, email="fan@example.com", now=utcnow() + timedelta(hours=1))  # pending on the survivor
    merge_items(repeated.id, kept.id, engineer)
    assert votes_of(kept.id) == 1
    assert db.session.scalar(select(func.count()).select_from(FeedbackVote).where(
        FeedbackVote.voter_id == voter_id)) == 1


def test_merges_never_chain(app, meetup, engineer):
    a, b, c = (note(meetup, engineer, question=q).item for q in ("A thing", "B thing", "C thing"))
    merge_items(a.id, b.id, engineer)
    merge_items(b.id, c.id, engineer)
    db.session.expire_all()
    assert db.session.get(FeedbackItem, a.id).merged_into_id == c.id
    with pytest.raises(DomainError):
        merge_items(c.id, a.id, engineer)  # into a merged item
    with pytest.raises(DomainError):
        merge_items(c.id, c.id, engineer)
    with pytest.raises(DomainError):
        merge_items(a.id, c.id, engineer)  # already merged


# --- status changes ------------------------------------------------------------------------

def test_a_status_change_emails_voters_and_askers_in_their_language(app, meetup, engineer, staff):
    fan = inside(meetup, staff, name="Li Lei", email="li@example.com", locale="zh")
    item = note(meetup, engineer, asked_by_id=fan.id).item
    confirmed_voter(app, "voter@example.com", item.id)
    cast_vote(item.id, email="pending@example.com")  # never confirmed: not told

    change = change_status(item.id, "planned", engineer)
    assert change.notified == 2
    assert "Planned" in body(mails_to(app, "voter@example.com")[-1])
    asker_mail = mails_to(app, "li@example.com")[-1]
    assert "计划" in body(asker_mail)
    assert len(mails_to(app, "pending@example.com")) == 1  # only the link to confirm


def test_shipping_needs_a_release_and_credits_the_meetups(app, meetup, engineer):
    item = note(meetup, engineer).item
    confirmed_voter(app, "voter@example.com", item.id)
    with pytest.raises(DomainError) as refused:
        change_status(item.id, "shipped", engineer)
    assert "shipped_in" in refused.value.fields
    assert db.session.get(FeedbackItem, item.id).status == "new"

    change_status(item.id, "shipped", engineer, shipped_in="MIUI 14.0.3")
    text = body(mails_to(app, "voter@example.com")[-1])
    assert "MIUI 14.0.3" in text and "Chengdu evening" in text
    assert [s.item.id for s in services.shipped_from_fans()] == [item.id]


def test_the_same_status_again_changes_and_mails_nothing(app, meetup, engineer):
    item = note(meetup, engineer).item
    confirmed_voter(app, "voter@example.com", item.id)
    change_status(item.id, "planned", engineer)
    mails = len(mails_to(app, "voter@example.com"))
    assert change_status(item.id, "planned", engineer) is None
    assert len(mails_to(app, "voter@example.com")) == mails
    assert db.session.scalar(select(func.count()).select_from(FeedbackStatusChange)) == 1


@pytest.mark.parametrize("status", ["duplicate", "done", ""])
def test_unknown_or_duplicate_status_is_refused(app, meetup, engineer, status):
    item = note(meetup, engineer).item
    with pytest.raises(DomainError) as refused:
        change_status(item.id, status, engineer)
    assert "status" in refused.value.fields


# --- sorts ---------------------------------------------------------------------------------

def _item(title, created_at, votes=0, mentions=0, meetup=None, engineer=None, vote_age=timedelta(0),
          status="new"):
    item = FeedbackItem(title=title, description="", category="other", status=status, created_at=created_at,
                        shipped_in="R1" if status == "shipped" else None)
    db.session.add(item)
    db.session.flush()
    for number in range(votes):
        voter = FeedbackVoter(email=f"{title}-{number}@example.com".replace(" ", ""), confirm_salt="s",
                              confirmed_at=created_at)
        db.session.add(voter)
        db.session.flush()
        db.session.add(FeedbackVote(item_id=item.id, voter_id=voter.id, created_at=utcnow() - vote_age,
                                    confirmed_at=utcnow() - vote_age))
    for number in range(mentions):
        db.session.add(FeedbackNote(meetup_id=meetup.id, item_id=item.id, question=f"q{number}",
                                    created_at=utcnow() - vote_age))
    db.session.commit()
    return item


def test_top_orders_by_votes_plus_mentions_then_votes_then_newest(app, meetup):
    now = utcnow()
    old_popular = _item("Old popular", now - timedelta(days=60), votes=4, mentions=1, meetup=meetup,
                        vote_age=timedelta(days=50))
    tie_votes = _item("Tie with more votes", now - timedelta(days=3), votes=3, mentions=1, meetup=meetup)
    tie_mentions = _item("Tie with more mentions", now - timedelta(days=2), votes=1, mentions=3, meetup=meetup)
    newer_tie = _item("Newer exact tie", now - timedelta(days=1), votes=1, mentions=3, meetup=meetup)
    quiet = _item("Quiet", now, votes=0)
    assert [s.item.id for s in pool("top")] == [old_popular.id, tie_votes.id, newer_tie.id, tie_mentions.id,
                                                quiet.id]
    assert [s.top for s in pool("top")] == [5, 4, 4, 4, 0]


def test_trending_favours_recent_activity_and_decays_by_half_a_week(app, meetup):
    now = utcnow()
    old_popular = _item("Old popular", now - timedelta(days=60), votes=8, meetup=meetup, vote_age=timedelta(days=28))
    fresh = _item("Fresh", now - timedelta(days=1), votes=2, meetup=meetup)
    ancient = _item("Ancient", now - timedelta(days=400), votes=50, meetup=meetup, vote_age=timedelta(days=100))
    ranked = pool("trending", now=now)
    assert [s.item.id for s in ranked] == [fresh.id, old_popular.id, ancient.id]
    scores = {s.item.id: s.trending for s in ranked}
    assert scores[fresh.id] == pytest.approx(2.0, rel=1e-3)
    assert scores[old_popular.id] == pytest.approx(8 * 0.5 ** 4, rel=1e-3)  # four half-lives
    assert scores[ancient.id] == 0  # older than 90 days no longer counts
    assert services.trending_weight(timedelta(days=7)) == pytest.approx(0.5)


def test_new_orders_by_creation_and_filters_combine(app, meetup):
    now = utcnow()
    first = _item("First", now - timedelta(days=3))
    second = _item("Second", now - timedelta(days=2), status="planned")
    third = _item("Third", now - timedelta(days=1))
    assert [s.item.id for s in pool("new")] == [third.id, second.id, first.id]
    assert [s.item.id for s in pool("new", status="planned")] == [second.id]
    db.session.get(FeedbackItem, first.id).category = "camera"
    db.session.commit()
    assert [s.item.id for s in pool("new", category="camera")] == [first.id]


@pytest.mark.parametrize("args", [{"sort": "best"}, {"category": "weather"}, {"status": "done"}])
def test_unknown_sort_or_filter_is_a_clear_error(app, args):
    filters = dict(args)  # the parameters are shared by both databases' runs: change a copy
    with pytest.raises(DomainError) as refused:
        pool(filters.pop("sort", "top"), **filters)
    assert refused.value.code == "invalid"


def test_a_large_pool_counts_the_same_as_a_few_items_and_the_page_shows_the_first_hundred(app, client, meetup):
    now = utcnow()
    db.session.add_all([FeedbackItem(title=f"Item {number}", description="", category="other", status="new",
                                     created_at=now - timedelta(minutes=number)) for number in range(520)])
    db.session.commit()
    voted = _item("Voted", now - timedelta(days=1), votes=2, mentions=1, meetup=meetup)
    whole = {s.item.id: (s.votes, s.mentions) for s in pool("top")}
    assert len(whole) == 521 and whole[voted.id] == (2, 1)
    assert services.summarize([db.session.get(FeedbackItem, voted.id)])[0].votes == 2
    page = client.get("/feedback").get_data(as_text=True)
    assert page.count('class="fb-item"') == services.PAGE_SIZE
    assert f"The first {services.PAGE_SIZE} of 521 items" in page
