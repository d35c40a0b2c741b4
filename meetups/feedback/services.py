"""The feedback pool's use cases: listing and ranking items, recording an engineer's note, fans'
votes (confirmed by email), merging duplicates, and status changes that tell the fans concerned.

Ranking (README, "Feedback pool"):
- **top**: votes + mentions, descending; ties by votes, then the newer item.
- **trending**: every counted vote and every mention (note) adds 0.5 ** (its age / 7 days), so
  what fans raised this week weighs twice what they raised a week ago; activity older than 90
  days no longer counts. Ties as for top.
- **new**: the newest item first.
"""
import math
import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import delete, func, or_, select, true, update
from sqlalchemy.exc import IntegrityError

from ..accounts.models import User
from ..checkin.models import CheckIn
from ..cities.models import City
from ..errors import DomainError
from ..events.models import Meetup
from ..extensions import db
from ..registration.models import Registration
from ..shared.db import lock_rows
from ..shared.links import external_url
from ..shared.mail import Mail, compose, send
from ..shared.private_links import link_token, new_salt, row_for_link
from ..shared.timeutil import utcnow
from ..shared.validation import Fields
from . import search
from .labels import STATUS_LABELS
from .models import (
    CATEGORY_VALUES,
    MAX_TITLE,
    STATUS_VALUES,
    Category,
    FeedbackItem,
    FeedbackNote,
    FeedbackStatusChange,
    FeedbackVote,
    FeedbackVoter,
    ItemStatus,
)

SORTS = ("top", "trending", "new")
HALF_LIFE = timedelta(days=7)
TRENDING_WINDOW = timedelta(days=90)
MAX_QUESTION = 2000
MAX_ANSWER = 4000
MAX_DESCRIPTION = 4000
SUGGESTIONS = 5
MAX_LISTED_IDS = 500
PAGE_SIZE = 100  # items on the pool's page; search and filters narrow it
VOTER_LINK = "feedback_voter"  # the link's purpose (shared.private_links)
RESEND_AFTER = timedelta(minutes=10)

# What voting did (the page's message and the JSON API's `status`).
COUNTED = "counted"
ALREADY_COUNTED = "already_counted"
CONFIRMATION_SENT = "confirmation_sent"
RECENTLY_SENT = "recently_sent"  # the link went out less than RESEND_AFTER ago; it counts this vote too


@dataclass
class ItemSummary:
    """An item with what the pool shows of it."""

    item: FeedbackItem
    votes: int = 0
    mentions: int = 0  # notes that raised it
    meetup_ids: list[int] = field(default_factory=list)
    cities: list[City] = field(default_factory=list)
    trending: float = 0.0
    relevance: float | None = None  # for a search: 0–1 (search.score)

    @property
    def top(self) -> int:
        return self.votes + self.mentions


@dataclass
class NoteOutcome:
    note: FeedbackNote
    item: FeedbackItem
    created_item: bool
    replayed: bool = False  # sent before with the same client key: nothing new was stored


@dataclass
class VoteOutcome:
    status: str  # COUNTED, ALREADY_COUNTED, CONFIRMATION_SENT or RECENTLY_SENT
    voter: FeedbackVoter


# --- reading -------------------------------------------------------------------------------

def get_item(item_id: int) -> FeedbackItem:
    item = db.session.get(FeedbackItem, item_id) if isinstance(item_id, int) else None
    if item is None:
        raise DomainError("not_found", _("There is no such feedback item."), status=404)
    return item


def pool(sort: str = "top", *, category: str = "", status: str = "", q: str = "",
         now: datetime | None = None, limit: int | None = None) -> list[ItemSummary]:
    """The pool, ranked by `sort`, narrowed by category, status and a search. Merged duplicates
    are left out unless `status` asks for them."""
    if sort not in SORTS:
        raise DomainError("invalid", _("Sort by top, trending or new."), {"sort": _("Sort by top, trending or new.")})
    if category and category not in CATEGORY_VALUES:
        raise DomainError("invalid", _("There is no such category."), {"category": _("There is no such category.")})
    if status and status not in STATUS_VALUES:
        raise DomainError("invalid", _("There is no such status."), {"status": _("There is no such status.")})
    query = select(FeedbackItem)
    if category:
        query = query.where(FeedbackItem.category == category)
    if status:
        query = query.where(FeedbackItem.status == status)
    else:
        query = query.where(FeedbackItem.status != ItemStatus.DUPLICATE.value)
    query_terms = search.terms(q) if q.strip() else None
    if query_terms is not None:
        query = search.matching(query, q)
    items = db.session.scalars(query).all()
    if query_terms is not None:
        items = [item for item in items if search.share_found(item, query_terms) >= search.MATCH_SHARE]
    summaries = summarize(items, now)
    if query_terms is not None:
        for summary in summaries:
            summary.relevance = search.score(summary.item, query_terms)
    summaries.sort(key=_SORT_KEYS[sort])
    return summaries[:limit] if limit else summaries


def suggestions(text: str, limit: int = SUGGESTIONS) -> list[ItemSummary]:
    """Items that look like what `text` says, the closest first (the console offers them while an
    engineer types). Merged duplicates are never suggested: their surviving item is."""
    query_terms = search.terms(text)
    if not query_terms:
        return []
    query = search.matching(select(FeedbackItem).where(FeedbackItem.status != ItemStatus.DUPLICATE.value), text)
    scored = [(search.score(item, query_terms), item) for item in db.session.scalars(query)]
    scored = sorted((pair for pair in scored if pair[0] > 0), key=lambda pair: (-pair[0], -pair[1].id))[:limit]
    summaries = summarize([item for _score, item in scored])
    for summary, (relevance, _item) in zip(summaries, scored, strict=True):
        summary.relevance = relevance
    return summaries


def summarize(items: list[FeedbackItem], now: datetime | None = None) -> list[ItemSummary]:
    """Votes, mentions, meetups, cities and the trending score of each item, in a few queries."""
    now = now or utcnow()
    summaries = {item.id: ItemSummary(item) for item in items}
    if not summaries:
        return []
    # A few items are looked up by id; for many (the whole pool) every item is counted and the
    # others skipped, since thousands of ids would overflow the databases' parameter limits.
    few = len(summaries) <= MAX_LISTED_IDS

    def of_these(column):
        return column.in_(list(summaries)) if few else true()

    for item_id, votes in db.session.execute(
        select(FeedbackVote.item_id, func.count()).where(of_these(FeedbackVote.item_id),
                                                         FeedbackVote.confirmed_at.is_not(None))
        .group_by(FeedbackVote.item_id)
    ):
        if item_id in summaries:
            summaries[item_id].votes = votes
    city_ids: dict[int, list[int]] = defaultdict(list)
    for item_id, meetup_id, geonameid, mentions in db.session.execute(
        select(FeedbackNote.item_id, FeedbackNote.meetup_id, Meetup.city_geonameid, func.count())
        .join(Meetup, Meetup.id == FeedbackNote.meetup_id)
        .where(of_these(FeedbackNote.item_id))
        .group_by(FeedbackNote.item_id, FeedbackNote.meetup_id, Meetup.city_geonameid)
        .order_by(FeedbackNote.meetup_id)
    ):
        summary = summaries.get(item_id)
        if summary is None:
            continue
        summary.mentions += mentions
        summary.meetup_ids.append(meetup_id)
        if geonameid not in city_ids[item_id]:
            city_ids[item_id].append(geonameid)
    if city_ids:
        wanted = {geonameid for found in city_ids.values() for geonameid in found}
        cities = {city.geonameid: city for city in db.session.scalars(select(City).where(City.geonameid.in_(wanted)))}
        for item_id, found in city_ids.items():
            summaries[item_id].cities = [cities[geonameid] for geonameid in found]
    since = now - TRENDING_WINDOW
    activity = (
        select(FeedbackVote.item_id, FeedbackVote.confirmed_at)
        .where(of_these(FeedbackVote.item_id), FeedbackVote.confirmed_at >= since)
        .union_all(select(FeedbackNote.item_id, FeedbackNote.created_at)
                   .where(of_these(FeedbackNote.item_id), FeedbackNote.created_at >= since))
    )
    for item_id, moment in db.session.execute(activity):
        if item_id in summaries:
            summaries[item_id].trending += trending_weight(now - moment)
    return [summaries[item.id] for item in items]


def trending_weight(age: timedelta) -> float:
    """What one vote or mention of this age adds to the trending score: 1 now, ½ after a week."""
    return math.pow(0.5, max(age, timedelta(0)) / HALF_LIFE)


def _newest_first(summary: ItemSummary) -> tuple:
    return (-summary.item.created_at.timestamp(), -summary.item.id)


_SORT_KEYS = {
    "top": lambda s: (-s.top, -s.votes, *_newest_first(s)),
    "trending": lambda s: (-round(s.trending, 9), -s.top, *_newest_first(s)),
    "new": _newest_first,
}


def notes_of(item: FeedbackItem) -> list[FeedbackNote]:
    return db.session.scalars(select(FeedbackNote).where(FeedbackNote.item_id == item.id)
                              .order_by(FeedbackNote.created_at, FeedbackNote.id)).all()


def history_of(item: FeedbackItem) -> list[FeedbackStatusChange]:
    return db.session.scalars(select(FeedbackStatusChange).where(FeedbackStatusChange.item_id == item.id)
                              .order_by(FeedbackStatusChange.changed_at, FeedbackStatusChange.id)).all()


def duplicates_of(item: FeedbackItem) -> list[FeedbackItem]:
    return db.session.scalars(select(FeedbackItem).where(FeedbackItem.merged_into_id == item.id)
                              .order_by(FeedbackItem.id)).all()


def shipped_from_fans(limit: int = 10) -> list[ItemSummary]:
    """Shipped items that fans raised at meetups, the most recently shipped first."""
    items = db.session.scalars(
        select(FeedbackItem).where(FeedbackItem.status == ItemStatus.SHIPPED.value,
                                   FeedbackItem.id.in_(select(FeedbackNote.item_id)))
        .order_by(FeedbackItem.status_changed_at.desc(), FeedbackItem.id.desc()).limit(limit)
    ).all()
    return summarize(items)


def meetup_notes(meetup: Meetup) -> list[FeedbackNote]:
    return db.session.scalars(select(FeedbackNote).where(FeedbackNote.meetup_id == meetup.id)
                              .order_by(FeedbackNote.created_at.desc(), FeedbackNote.id.desc())).all()


def checked_in_registrations(meetup: Meetup) -> list[Registration]:
    """The fans inside, by name: the console picks who asked from these."""
    return db.session.scalars(
        select(Registration).join(CheckIn, CheckIn.registration_id == Registration.id)
        .where(Registration.meetup_id == meetup.id).order_by(Registration.name, Registration.id)
    ).all()


def registration_questions(meetup: Meetup) -> list[Registration]:
    """Registrations that wrote a question for the engineers (not cancelled), in the order they came."""
    return db.session.scalars(
        select(Registration).where(Registration.meetup_id == meetup.id, Registration.question != "",
                                   Registration.status != "cancelled")
        .order_by(Registration.queued_at, Registration.id)
    ).all()


# --- the engineers' notes ------------------------------------------------------------------

def record_note(meetup_id: int, author: User | None, *, question: str, answer: str = "", category: str = "",
                feedback_item_id: int | None = None, title: str = "", asked_by_id: int | None = None,
                client_key: str = "") -> NoteOutcome:
    """Store a question asked at the meetup and its answer, linked to `feedback_item_id` or to a
    new item made from it. A note sent again with the same `client_key` is stored once."""
    meetup = db.session.get(Meetup, meetup_id) if isinstance(meetup_id, int) else None
    if meetup is None:
        raise DomainError("not_found", _("There is no such meetup."), status=404)
    fields = Fields()
    question = fields.text("question", question, most=MAX_QUESTION,
                           required=_("Write down the question that was asked."))
    answer = fields.text("answer", answer, most=MAX_ANSWER)
    title = fields.text("title", title, FeedbackItem.title)
    category = fields.choice("category", category or Category.OTHER.value, CATEGORY_VALUES,
                             message=_("There is no such category."))
    client_key = fields.text("client_key", client_key, FeedbackNote.client_key)
    item = None
    if feedback_item_id is not None:
        item = db.session.get(FeedbackItem, feedback_item_id) if isinstance(feedback_item_id, int) else None
        if item is None:
            fields.refuse("feedback_item_id", _("There is no such feedback item."))
        else:
            item = _surviving(item)
    asked_by = None
    if asked_by_id is not None:
        asked_by = db.session.get(Registration, asked_by_id) if isinstance(asked_by_id, int) else None
        inside = asked_by is not None and asked_by.meetup_id == meetup.id and db.session.scalar(
            select(CheckIn.id).where(CheckIn.registration_id == asked_by.id)) is not None
        if not inside:
            fields.refuse("asked_by_id", _("Pick who asked from the fans checked in at this meetup."))
    fields.done()

    if client_key and author is not None:
        sent_before = _note_for_key(author, client_key)
        if sent_before is not None:
            return NoteOutcome(sent_before, sent_before.item, created_item=False, replayed=True)
    created = item is None
    if created:
        item = FeedbackItem(title=title or _title_from(question), description=question, category=category,
                            status=ItemStatus.NEW.value, created_by_id=author.id if author else None)
        db.session.add(item)
    note = FeedbackNote(meetup_id=meetup.id, item=item, question=question, answer=answer, category=category,
                        asked_by_id=asked_by.id if asked_by else None, author_id=author.id if author else None,
                        client_key=client_key or None)
    db.session.add(note)
    try:
        db.session.commit()
    except IntegrityError:  # the same note, sent twice at once: the other request stored it
        db.session.rollback()
        sent_before = _note_for_key(author, client_key) if client_key and author else None
        if sent_before is None:
            raise
        return NoteOutcome(sent_before, sent_before.item, created_item=False, replayed=True)
    return NoteOutcome(note, item, created)


def _note_for_key(author: User, client_key: str) -> FeedbackNote | None:
    return db.session.scalar(select(FeedbackNote).where(FeedbackNote.author_id == author.id,
                                                        FeedbackNote.client_key == client_key))


def _title_from(question: str) -> str:
    first_line = question.splitlines()[0].strip()
    return first_line if len(first_line) <= MAX_TITLE else first_line[: MAX_TITLE - 1].rstrip() + "…"


def _surviving(item: FeedbackItem) -> FeedbackItem:
    """The item a duplicate was merged into (merges never chain: see merge_items)."""
    return item.merged_into if item.merged_into_id is not None else item


# --- fans' votes ---------------------------------------------------------------------------

def cast_vote(item_id: int, *, voter_id: int | None = None, email: str = "", locale: str = "en",
              now: datetime | None = None) -> VoteOutcome:
    """A fan's vote. From a browser that a voter's link signed in (`voter_id`) it counts at once;
    otherwise it waits for the fan to open the link emailed to `email`."""
    now = now or utcnow()
    _refuse_merged(get_item(item_id))  # before anything is stored
    voter = db.session.get(FeedbackVoter, voter_id) if voter_id is not None else None
    if voter is not None and voter.is_confirmed:
        vote = _vote_row(_votable(item_id), voter, now)
        if vote.counts:
            db.session.commit()
            return VoteOutcome(ALREADY_COUNTED, voter)
        vote.confirmed_at = now
        db.session.commit()
        return VoteOutcome(COUNTED, voter)

    fields = Fields()
    email = fields.email("email", email,
                         required=_("Give your email: we send a link there, and your vote counts once you open it."))
    fields.done()
    voter = _voter_row(email, locale, now)
    vote = _vote_row(_votable(item_id), voter, now)
    if vote.counts:
        db.session.commit()
        return VoteOutcome(ALREADY_COUNTED, voter)
    # Claimed in one statement: of two votes at the same moment, one sends the link.
    claimed = db.session.execute(
        update(FeedbackVoter).where(FeedbackVoter.id == voter.id, or_(FeedbackVoter.last_sent_at.is_(None),
                                                                      FeedbackVoter.last_sent_at <= now - RESEND_AFTER))
        .values(last_sent_at=now, locale=locale)).rowcount
    db.session.commit()
    if not claimed:
        return VoteOutcome(RECENTLY_SENT, voter)
    send([_confirmation_mail(voter)])
    return VoteOutcome(CONFIRMATION_SENT, voter)


def withdraw_vote(item_id: int, voter_id: int | None) -> bool:
    """The signed-in voter takes their vote back; False when there was none."""
    item = get_item(item_id)
    if voter_id is None:
        return False
    removed = db.session.execute(delete(FeedbackVote).where(FeedbackVote.item_id == item.id,
                                                            FeedbackVote.voter_id == voter_id)).rowcount
    db.session.commit()
    return bool(removed)


def voted_item_ids(voter_id: int | None, *, counted_only: bool = False) -> set[int]:
    if voter_id is None:
        return set()
    query = select(FeedbackVote.item_id).where(FeedbackVote.voter_id == voter_id)
    if counted_only:
        query = query.where(FeedbackVote.confirmed_at.is_not(None))
    return set(db.session.scalars(query))


def voter_token(voter: FeedbackVoter) -> str:
    return link_token(VOTER_LINK, voter.id, voter.confirm_salt)


def voter_for_token(token: str) -> FeedbackVoter:
    return row_for_link(FeedbackVoter, token, VOTER_LINK, lambda row: row.confirm_salt)


def pending_items(voter: FeedbackVoter) -> list[FeedbackItem]:
    """Items the voter asked to vote for, waiting for the link's button."""
    return db.session.scalars(
        select(FeedbackItem).join(FeedbackVote, FeedbackVote.item_id == FeedbackItem.id)
        .where(FeedbackVote.voter_id == voter.id, FeedbackVote.confirmed_at.is_(None))
        .order_by(FeedbackVote.created_at, FeedbackVote.id)
    ).all()


def confirm_voter(token: str, now: datetime | None = None) -> tuple[FeedbackVoter, int]:
    """The fan pressed the button behind their link: the address is theirs, and their waiting votes
    count. Returns the voter and how many votes now count that did not before."""
    now = now or utcnow()
    voter = voter_for_token(token)
    voter.confirmed_at = voter.confirmed_at or now
    counted = db.session.execute(update(FeedbackVote).where(FeedbackVote.voter_id == voter.id,
                                                            FeedbackVote.confirmed_at.is_(None))
                                 .values(confirmed_at=now)).rowcount
    db.session.commit()
    return voter, counted


def _votable(item_id: int) -> FeedbackItem:
    """The item, locked (a merge moving its votes waits, or went first), unless it was merged."""
    item = _locked(get_item(item_id))
    if item.is_duplicate:
        db.session.rollback()
    return _refuse_merged(item)


def _refuse_merged(item: FeedbackItem) -> FeedbackItem:
    if item.is_duplicate:
        raise DomainError("duplicate", _("This item was merged into another: vote for that one."),
                          {"merged_into": item.merged_into_id}, status=409)
    return item


def _voter_row(email: str, locale: str, now: datetime) -> FeedbackVoter:
    """The voter of this address, stored (committed) when new: harmless on its own."""
    found = db.session.scalar(select(FeedbackVoter).where(FeedbackVoter.email == email))
    if found is not None:
        return found
    voter = FeedbackVoter(email=email, locale=locale, confirm_salt=new_salt(), created_at=now)
    db.session.add(voter)
    try:
        db.session.commit()
    except IntegrityError:  # the same fan, voting twice at once: the other request stored the voter
        db.session.rollback()
        found = db.session.scalar(select(FeedbackVoter).where(FeedbackVoter.email == email))
        if found is None:
            raise
        return found
    return voter


def _vote_row(item: FeedbackItem, voter: FeedbackVoter, now: datetime) -> FeedbackVote:
    """The fan's vote for the item, added (not yet counting) when there is none; one per fan per
    item, also when two requests race (the database's unique constraint decides)."""
    found = db.session.scalar(select(FeedbackVote).where(FeedbackVote.item_id == item.id,
                                                         FeedbackVote.voter_id == voter.id))
    if found is not None:
        return found
    vote = FeedbackVote(item_id=item.id, voter_id=voter.id, created_at=now)
    db.session.add(vote)
    try:
        db.session.flush()
    except IntegrityError:  # nothing else is written before the vote: rolling back loses nothing
        db.session.rollback()
        found = db.session.scalar(select(FeedbackVote).where(FeedbackVote.item_id == item.id,
                                                             FeedbackVote.voter_id == voter.id))
        if found is None:
            raise
        return found
    return vote


def _confirmation_mail(voter: FeedbackVoter) -> Mail:
    return compose(voter.email, "feedback_vote_confirm", voter.locale, voter=voter,
                   items=pending_items(voter),
                   link_url=external_url("feedback.voter_page", token=voter_token(voter)))


# --- moderation ----------------------------------------------------------------------------

def edit_item(item_id: int, *, title: str, description: str, category: str) -> FeedbackItem:
    item = get_item(item_id)
    fields = Fields()
    title = fields.text("title", title, FeedbackItem.title, required=_("Give the item a title."))
    description = fields.text("description", description, most=MAX_DESCRIPTION)
    category = fields.choice("category", category, CATEGORY_VALUES, message=_("There is no such category."))
    fields.done()
    item.title, item.description, item.category = title, description, category
    db.session.commit()
    return item


def change_status(item_id: int, status: str, user: User | None, *, shipped_in: str = "",
                  now: datetime | None = None) -> FeedbackStatusChange | None:
    """Move the item along; its voters and the fans who asked it are emailed. Returns the change,
    or None when nothing changed. Merging (status duplicate) is merge_items."""
    now = now or utcnow()
    item = _locked(get_item(item_id))
    fields = Fields()
    status = fields.choice("status", status, STATUS_VALUES, message=_("There is no such status."))
    if status == ItemStatus.DUPLICATE.value:
        fields.refuse("status", _("To mark a duplicate, merge it into the item it repeats."))
    elif item.is_duplicate:
        fields.refuse("status", _("This item was merged into another: change that one."))
    shipped = status == ItemStatus.SHIPPED.value
    shipped_in = fields.text("shipped_in", shipped_in if shipped else "", FeedbackItem.shipped_in,
                             required=_("Name the release it shipped in.") if shipped else None)
    try:
        fields.done()
    except DomainError:
        db.session.rollback()
        raise
    release = shipped_in if status == ItemStatus.SHIPPED.value else None
    if item.status == status and item.shipped_in == release:
        db.session.rollback()
        return None
    change = FeedbackStatusChange(item_id=item.id, old_status=item.status, new_status=status, shipped_in=release,
                                  user_id=user.id if user else None, changed_at=now)
    item.status, item.shipped_in, item.status_changed_at = status, release, now
    mails = _status_mails(item, change)
    change.notified = len(mails)
    db.session.add(change)
    db.session.commit()
    send(mails)
    return change


def merge_items(duplicate_id: int, into_id: int, user: User | None,
                now: datetime | None = None) -> FeedbackStatusChange:
    """`duplicate_id` repeats `into_id`: its votes (a fan who voted for both keeps one vote), notes
    and mentions move to the surviving item, and the duplicate's fans are told where it went."""
    now = now or utcnow()
    if duplicate_id == into_id:
        raise DomainError("invalid", _("An item cannot be merged into itself."),
                          {"into": _("An item cannot be merged into itself.")})
    duplicate, survivor = get_item(duplicate_id), get_item(into_id)
    for item in sorted((duplicate, survivor), key=lambda found: found.id):  # one lock order: no deadlock
        _locked(item)
    if duplicate.is_duplicate:
        raise DomainError("invalid", _("This item was already merged."), status=409)
    if survivor.is_duplicate:
        raise DomainError("invalid", _("That item was itself merged: merge into the item it went to."),
                          {"into": _("That item was itself merged: merge into the item it went to.")})
    survivor_votes = {vote.voter_id: vote for vote in db.session.scalars(
        select(FeedbackVote).where(FeedbackVote.item_id == survivor.id))}
    for vote in db.session.scalars(select(FeedbackVote).where(FeedbackVote.item_id == duplicate.id)).all():
        kept = survivor_votes.get(vote.voter_id)
        if kept is None:
            vote.item_id = survivor.id
            continue
        if kept.confirmed_at is None and vote.confirmed_at is not None:
            kept.confirmed_at = vote.confirmed_at
        db.session.delete(vote)  # the fan voted for both: one vote stays
    db.session.flush()
    mails = _status_mails(duplicate, None, merged_into=survivor)  # before the notes move away
    db.session.execute(update(FeedbackNote).where(FeedbackNote.item_id == duplicate.id).values(item_id=survivor.id))
    # Items merged into the duplicate before now point at the survivor: merges never chain.
    db.session.execute(update(FeedbackItem).where(FeedbackItem.merged_into_id == duplicate.id)
                       .values(merged_into_id=survivor.id))
    change = FeedbackStatusChange(item_id=duplicate.id, old_status=duplicate.status,
                                  new_status=ItemStatus.DUPLICATE.value, merged_into_id=survivor.id,
                                  user_id=user.id if user else None, changed_at=now, notified=len(mails))
    duplicate.status, duplicate.shipped_in = ItemStatus.DUPLICATE.value, None
    duplicate.merged_into_id, duplicate.status_changed_at = survivor.id, now
    db.session.add(change)
    db.session.commit()
    send(mails)
    return change


def _locked(item: FeedbackItem) -> FeedbackItem:
    """The item, read again with its row locked until the transaction ends: a vote, a merge and a
    status change of one item take turns."""
    lock_rows(select(FeedbackItem.id).where(FeedbackItem.id == item.id).with_for_update())
    db.session.refresh(item)
    return item


def concerned_fans(item: FeedbackItem) -> dict[str, str]:
    """email → language of everyone to tell when the item moves: fans whose vote counts and fans
    who asked it at a meetup (picked on the note)."""
    fans: dict[str, str] = {}
    for email, locale in db.session.execute(
        select(Registration.email, Registration.locale).join(FeedbackNote, FeedbackNote.asked_by_id == Registration.id)
        .where(FeedbackNote.item_id == item.id)
    ):
        fans.setdefault(email, locale)
    for email, locale in db.session.execute(
        select(FeedbackVoter.email, FeedbackVoter.locale).join(FeedbackVote, FeedbackVote.voter_id == FeedbackVoter.id)
        .where(FeedbackVote.item_id == item.id, FeedbackVote.confirmed_at.is_not(None))
    ):
        fans.setdefault(email, locale)
    return fans


def _status_mails(item: FeedbackItem, change: FeedbackStatusChange | None,
                  merged_into: FeedbackItem | None = None) -> list[Mail]:
    fans = concerned_fans(item)
    if not fans:
        return []
    meetups = db.session.scalars(select(Meetup).where(Meetup.id.in_(
        select(FeedbackNote.meetup_id).where(FeedbackNote.item_id == item.id))).order_by(Meetup.starts_at)).all()
    target = merged_into or item
    url = external_url("feedback.item_page", item_id=target.id)
    return [compose(email, "feedback_status", locale, item=item, change=change, merged_into=merged_into,
                    meetups=meetups, item_url=url, status_labels=STATUS_LABELS)
            for email, locale in sorted(fans.items())]


def new_client_key() -> str:
    return secrets.token_urlsafe(16)
