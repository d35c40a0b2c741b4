"""After the meetup: attendees are emailed a link to rate it (1–5 and a comment), and planners get
the meetup's report — attendance, no-shows, the rating, the notes taken and the items they touched."""
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ..checkin.models import CheckIn
from ..checkin.services import USUAL_LENGTH  # a meetup with no end time lasts this long
from ..errors import DomainError
from ..events.models import Meetup, MeetupStatus
from ..extensions import db
from ..registration.models import Registration, RegistrationStatus
from ..shared.links import external_url
from ..shared.mail import compose, send
from ..shared.private_links import link_token, row_for_link
from ..shared.timeutil import utcnow
from ..shared.validation import Fields
from .models import MAX_SCORE, FeedbackNote, MeetupRating
from .services import ItemSummary, checked_in_registrations, summarize

RATING_LINK = "rating"  # the link's purpose (shared.private_links), signed with the registration's manage salt
MAX_COMMENT = 2000
ASK_WITHIN = timedelta(days=14)  # meetups that ended longer ago are not asked about any more


@dataclass
class MeetupReport:
    meetup: Meetup
    expected: int  # confirmed registrations
    arrived: list[Registration]
    no_shows: list[Registration]  # confirmed, never checked in
    ratings: list[MeetupRating]
    distribution: dict[int, int]  # score → how many
    notes: list[FeedbackNote]
    items: list[ItemSummary] = field(default_factory=list)

    @property
    def average(self) -> float | None:
        return sum(rating.score for rating in self.ratings) / len(self.ratings) if self.ratings else None

    @property
    def show_up_rate(self) -> float | None:
        return len(self.arrived) / self.expected if self.expected else None


def ended_at(meetup: Meetup) -> datetime:
    return meetup.ends_at or meetup.starts_at + USUAL_LENGTH


def rating_token(registration: Registration) -> str:
    return link_token(RATING_LINK, registration.id, registration.manage_salt)


def registration_for_rating(token: str) -> Registration:
    registration = row_for_link(Registration, token, RATING_LINK, lambda row: row.manage_salt)
    if not _attended(registration):  # only attendees are sent the link
        raise DomainError("not_found", _("This link is not valid (was it copied in full?)."), status=404)
    return registration


def rating_of(registration: Registration) -> MeetupRating | None:
    return db.session.scalar(select(MeetupRating).where(MeetupRating.registration_id == registration.id))


def rate_meetup(token: str, score, comment: str = "", now: datetime | None = None) -> MeetupRating:
    """The attendee's rating; rating again replaces it."""
    now = now or utcnow()
    registration = registration_for_rating(token)
    fields = Fields()
    score = fields.number("score", score, int, 1, MAX_SCORE,
                          message=_("Pick from 1 to %(most)d stars.", most=MAX_SCORE))
    comment = fields.text("comment", comment, most=MAX_COMMENT)
    fields.done()
    rating = rating_of(registration)
    if rating is None:
        rating = MeetupRating(meetup_id=registration.meetup_id, registration_id=registration.id, created_at=now)
        db.session.add(rating)
    rating.score, rating.comment, rating.updated_at = score, comment, now
    try:
        db.session.commit()
    except IntegrityError:  # rated twice at once: the later answer wins
        db.session.rollback()
        rating = rating_of(registration)
        rating.score, rating.comment, rating.updated_at = score, comment, now
        db.session.commit()
    return rating


def request_ratings(meetup: Meetup, now: datetime | None = None) -> int:
    """Email every attendee (checked in) a link to rate the meetup, once per meetup; how many were
    emailed. Refused before the meetup has ended."""
    now = now or utcnow()
    if meetup.status == MeetupStatus.CANCELLED.value or meetup.status == MeetupStatus.DRAFT.value:
        raise DomainError("not_held", _("Only a meetup that took place can be rated."), status=409)
    if now < ended_at(meetup):
        raise DomainError("not_over", _("Ask for ratings once the meetup is over."), status=409)
    claimed = db.session.execute(
        Meetup.__table__.update().where(Meetup.id == meetup.id, Meetup.ratings_requested_at.is_(None))
        .values(ratings_requested_at=now)).rowcount
    if not claimed:  # asked before (also by a cron run at the same moment)
        db.session.rollback()
        raise DomainError("already_asked", _("The attendees were already asked to rate this meetup."), status=409)
    attendees = checked_in_registrations(meetup)
    db.session.commit()
    db.session.refresh(meetup)
    send([compose(registration.email, "meetup_rating", registration.locale, registration=registration,
                  meetup=meetup, rate_url=external_url("feedback.rate", token=rating_token(registration)))
          for registration in attendees])
    return len(attendees)


def due_for_ratings(now: datetime | None = None) -> list[Meetup]:
    """Meetups that ended (within ASK_WITHIN) and whose attendees were not asked yet (for cron)."""
    now = now or utcnow()
    candidates = db.session.scalars(
        select(Meetup).where(Meetup.ratings_requested_at.is_(None),
                             Meetup.status.in_((MeetupStatus.PUBLISHED.value, MeetupStatus.CLOSED.value)),
                             Meetup.starts_at <= now, Meetup.starts_at >= now - ASK_WITHIN - USUAL_LENGTH)
        .order_by(Meetup.starts_at)
    ).all()
    return [meetup for meetup in candidates if now - ASK_WITHIN <= ended_at(meetup) <= now]


def meetup_report(meetup: Meetup) -> MeetupReport:
    confirmed = db.session.scalars(select(Registration).where(
        Registration.meetup_id == meetup.id, Registration.status == RegistrationStatus.CONFIRMED.value)
        .order_by(Registration.name, Registration.id)).all()
    arrived = checked_in_registrations(meetup)
    inside = {registration.id for registration in arrived}
    ratings = db.session.scalars(select(MeetupRating).where(MeetupRating.meetup_id == meetup.id)
                                 .order_by(MeetupRating.updated_at.desc(), MeetupRating.id.desc())).all()
    distribution = dict.fromkeys(range(5, 0, -1), 0)
    for score, number in db.session.execute(select(MeetupRating.score, func.count())
                                            .where(MeetupRating.meetup_id == meetup.id).group_by(MeetupRating.score)):
        distribution[score] = number
    notes = db.session.scalars(select(FeedbackNote).where(FeedbackNote.meetup_id == meetup.id)
                               .order_by(FeedbackNote.created_at, FeedbackNote.id)).all()
    touched = list({note.item_id: note.item for note in notes}.values())
    return MeetupReport(meetup=meetup, expected=len(confirmed), arrived=arrived,
                        no_shows=[registration for registration in confirmed if registration.id not in inside],
                        ratings=ratings, distribution=distribution, notes=notes, items=summarize(touched))


def _attended(registration: Registration) -> bool:
    return db.session.scalar(select(CheckIn.id).where(CheckIn.registration_id == registration.id)) is not None
