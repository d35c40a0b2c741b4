"""Who came in: one check-in per registration, the audit trail of the door, the answers kept for
retried requests (by nonce), and conflicts found when offline scans are synced."""
import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User
from ..extensions import db
from ..registration.models import Registration
from ..shared.db import one_of
from ..shared.timeutil import utcnow

MAX_DEVICE = 100
MAX_NONCE = 100


class CheckInMethod(str, enum.Enum):
    SCAN = "scan"  # a QR code scanned online
    MANUAL = "manual"  # picked from a search by name
    SYNC = "sync"  # scanned offline against the roster, sent later


class CheckInAction(str, enum.Enum):
    CHECKED_IN = "checked_in"
    UNDONE = "undone"
    CONFLICT = "conflict"
    CONFLICT_DISMISSED = "conflict_dismissed"


class CheckIn(db.Model):
    """The registration's holder is inside. Undoing deletes the row (the event stays)."""

    __tablename__ = "checkins"
    __table_args__ = (
        CheckConstraint(one_of("method", CheckInMethod), name="method_known"),
        Index("ix_checkins_recent", "meetup_id", "checked_in_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meetup_id: Mapped[int] = mapped_column(ForeignKey("meetups.id"))
    # One check-in per registration, enforced here: two devices scanning one ticket at the same
    # moment cannot both admit it.
    registration_id: Mapped[int] = mapped_column(ForeignKey("registrations.id"), unique=True)
    # When the fan came in: the server's clock, or the device's for a synced offline scan.
    checked_in_at: Mapped[datetime] = mapped_column(DateTime)
    recorded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    device: Mapped[str] = mapped_column(String(MAX_DEVICE), default="")
    method: Mapped[str] = mapped_column(String(10))

    registration: Mapped[Registration] = relationship()
    user: Mapped[User] = relationship()


class CheckInEvent(db.Model):
    """The door's audit trail: every check-in, undo, conflict and dismissal, never changed."""

    __tablename__ = "checkin_events"
    __table_args__ = (
        CheckConstraint(one_of("action", CheckInAction), name="action_known"),
        Index("ix_checkin_events_meetup", "meetup_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meetup_id: Mapped[int] = mapped_column(ForeignKey("meetups.id"))
    registration_id: Mapped[int] = mapped_column(ForeignKey("registrations.id"))
    action: Mapped[str] = mapped_column(String(20))
    method: Mapped[str | None] = mapped_column(String(10))  # for check-ins
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)  # the server's clock
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    device: Mapped[str] = mapped_column(String(MAX_DEVICE), default="")

    user: Mapped[User] = relationship()


class CheckInNonce(db.Model):
    """The first answer to a request carrying this nonce; a retry gets it back verbatim."""

    __tablename__ = "checkin_nonces"
    __table_args__ = (UniqueConstraint("meetup_id", "user_id", "nonce", name="one_answer_per_nonce"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meetup_id: Mapped[int] = mapped_column(ForeignKey("meetups.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    nonce: Mapped[str] = mapped_column(String(MAX_NONCE))
    answer: Mapped[str] = mapped_column(Text)  # JSON
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class CheckInConflict(db.Model):
    """An offline scan, synced, found its registration already checked in by another device:
    maybe a copied ticket. Shown at the door until a staff member dismisses it."""

    __tablename__ = "checkin_conflicts"
    __table_args__ = (Index("ix_checkin_conflicts_open", "meetup_id", "dismissed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meetup_id: Mapped[int] = mapped_column(ForeignKey("meetups.id"))
    registration_id: Mapped[int] = mapped_column(ForeignKey("registrations.id"))
    # The check-in that counts…
    first_device: Mapped[str] = mapped_column(String(MAX_DEVICE), default="")
    first_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    first_at: Mapped[datetime] = mapped_column(DateTime)
    # …and the synced scan that found it.
    second_device: Mapped[str] = mapped_column(String(MAX_DEVICE), default="")
    second_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    second_at: Mapped[datetime] = mapped_column(DateTime)
    recorded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    dismissed_at: Mapped[datetime | None] = mapped_column(DateTime)
    dismissed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    registration: Mapped[Registration] = relationship()
    first_user: Mapped[User] = relationship(foreign_keys=[first_user_id])
    second_user: Mapped[User] = relationship(foreign_keys=[second_user_id])
