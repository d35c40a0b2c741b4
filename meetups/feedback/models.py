"""The feedback pool: items fans want, the engineers' notes that raised them, fans' votes (one per
confirmed email per item), the items' status history, and attendees' ratings of a meetup."""
import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User
from ..events.models import Meetup
from ..extensions import db
from ..registration.models import Registration
from ..shared.db import one_of
from ..shared.timeutil import utcnow

MAX_TITLE = 200
MAX_RELEASE = 50
MAX_SCORE = 5  # a meetup is rated 1 to 5 stars


class Category(str, enum.Enum):
    CAMERA = "camera"
    BATTERY = "battery"
    SYSTEM = "system"
    APPS = "apps"
    PRICE = "price"
    SERVICE = "service"
    OTHER = "other"


class ItemStatus(str, enum.Enum):
    NEW = "new"
    UNDER_REVIEW = "under_review"
    PLANNED = "planned"
    IN_DEVELOPMENT = "in_development"
    SHIPPED = "shipped"  # with the release it shipped in
    DECLINED = "declined"
    DUPLICATE = "duplicate"  # merged into another item (merged_into_id)


CATEGORY_VALUES = tuple(category.value for category in Category)
STATUS_VALUES = tuple(status.value for status in ItemStatus)


class FeedbackItem(db.Model):
    __tablename__ = "feedback_items"
    __table_args__ = (
        CheckConstraint(one_of("category", Category), name="category_known"),
        CheckConstraint(one_of("status", ItemStatus), name="status_known"),
        CheckConstraint(f"status != '{ItemStatus.SHIPPED.value}' OR shipped_in IS NOT NULL",
                        name="shipped_has_release"),
        CheckConstraint(f"(status = '{ItemStatus.DUPLICATE.value}') = (merged_into_id IS NOT NULL)",
                        name="duplicate_has_target"),
        CheckConstraint("merged_into_id IS NULL OR merged_into_id != id", name="not_merged_into_itself"),
        Index("ix_feedback_items_listing", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(MAX_TITLE))
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(20), default=Category.OTHER.value)
    status: Mapped[str] = mapped_column(String(20), default=ItemStatus.NEW.value)
    shipped_in: Mapped[str | None] = mapped_column(String(MAX_RELEASE))  # e.g. "MIUI 14.0.3"
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("feedback_items.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    status_changed_at: Mapped[datetime | None] = mapped_column(DateTime)

    merged_into: Mapped["FeedbackItem | None"] = relationship(remote_side=[id])
    notes: Mapped[list["FeedbackNote"]] = relationship(back_populates="item", order_by="FeedbackNote.created_at")

    @property
    def is_duplicate(self) -> bool:
        return self.status == ItemStatus.DUPLICATE.value

    @property
    def is_shipped(self) -> bool:
        return self.status == ItemStatus.SHIPPED.value

    def __repr__(self) -> str:
        return f"<FeedbackItem {self.id} {self.title!r} {self.status}>"


class FeedbackNote(db.Model):
    """One question asked at a meetup and the engineer's answer; it raises (mentions) one item."""

    __tablename__ = "feedback_notes"
    __table_args__ = (
        CheckConstraint(one_of("category", Category), name="category_known"),
        # The console sends a key with each note: a note submitted twice (a retried request, a
        # double tap) is stored once.
        UniqueConstraint("author_id", "client_key", name="one_note_per_client_key"),
        Index("ix_feedback_notes_item", "item_id", "meetup_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meetup_id: Mapped[int] = mapped_column(ForeignKey("meetups.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("feedback_items.id"))
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(20), default=Category.OTHER.value)
    # Who asked, picked from the fans checked in at the meetup; told when the item moves.
    asked_by_id: Mapped[int | None] = mapped_column(ForeignKey("registrations.id"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    client_key: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    item: Mapped[FeedbackItem] = relationship(back_populates="notes")
    meetup: Mapped[Meetup] = relationship()
    asked_by: Mapped[Registration | None] = relationship()
    author: Mapped[User | None] = relationship()


class FeedbackVoter(db.Model):
    """A fan who votes, known by email; their votes count once the emailed link confirmed it."""

    __tablename__ = "feedback_voters"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # lower case
    locale: Mapped[str] = mapped_column(String(10), default="en")
    # The link's token is an HMAC of this under the secret key (shared.private_links).
    confirm_salt: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_sent_at: Mapped[datetime | None] = mapped_column(DateTime)  # the link, at most every RESEND_AFTER

    @property
    def is_confirmed(self) -> bool:
        return self.confirmed_at is not None


class FeedbackVote(db.Model):
    """Counts once `confirmed_at` is set: at once from a browser the voter's link signed in, else
    when the fan opens the link emailed to the address they typed (so nobody votes in another's
    name)."""

    __tablename__ = "feedback_votes"
    __table_args__ = (
        UniqueConstraint("item_id", "voter_id", name="one_vote_per_fan"),
        Index("ix_feedback_votes_counted", "item_id", "confirmed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("feedback_items.id"))
    voter_id: Mapped[int] = mapped_column(ForeignKey("feedback_voters.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime)

    @property
    def counts(self) -> bool:
        return self.confirmed_at is not None

    voter: Mapped[FeedbackVoter] = relationship()


class FeedbackStatusChange(db.Model):
    """The item's history, shown on its page: every status change and merge, never changed."""

    __tablename__ = "feedback_status_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("feedback_items.id"), index=True)
    old_status: Mapped[str | None] = mapped_column(String(20))
    new_status: Mapped[str] = mapped_column(String(20))
    shipped_in: Mapped[str | None] = mapped_column(String(MAX_RELEASE))
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("feedback_items.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    notified: Mapped[int] = mapped_column(Integer, default=0)  # how many fans were emailed
    changed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    user: Mapped[User | None] = relationship()


class MeetupRating(db.Model):
    """An attendee's rating of the meetup (1–5 and a comment), from the link emailed afterwards."""

    __tablename__ = "meetup_ratings"
    __table_args__ = (CheckConstraint(f"score BETWEEN 1 AND {MAX_SCORE}", name="score_1_to_5"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meetup_id: Mapped[int] = mapped_column(ForeignKey("meetups.id"), index=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("registrations.id"), unique=True)
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    registration: Mapped[Registration] = relationship()
