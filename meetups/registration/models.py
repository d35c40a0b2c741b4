"""A fan's registration for a meetup (a seat, a place on the waiting list, or an offer), and
the invite codes that guarantee a seat."""
import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..cities.models import City
from ..events.models import Meetup
from ..extensions import db
from ..shared.db import one_of
from ..shared.timeutil import utcnow


class RegistrationStatus(str, enum.Enum):
    CONFIRMED = "confirmed"  # holds a seat and a ticket
    WAITLISTED = "waitlisted"  # in line for a seat, by `queued_at`
    OFFERED = "offered"  # a freed seat is held for this fan until `offer_expires_at`
    CANCELLED = "cancelled"


# Statuses that take a seat out of the meetup's capacity.
SEAT_HOLDING = (RegistrationStatus.CONFIRMED.value, RegistrationStatus.OFFERED.value)
IN_LINE = (RegistrationStatus.WAITLISTED.value,)


class CancelReason(str, enum.Enum):
    FAN = "fan"
    OFFER_LAPSED = "offer_lapsed"


class Registration(db.Model):
    __tablename__ = "registrations"
    __table_args__ = (
        UniqueConstraint("meetup_id", "email", name="one_per_email"),
        CheckConstraint(one_of("status", RegistrationStatus), name="status_known"),
        CheckConstraint(f"status != '{RegistrationStatus.OFFERED.value}' OR offer_expires_at IS NOT NULL",
                        name="offer_has_deadline"),
        Index("ix_registrations_line", "meetup_id", "status", "queued_at"),  # counts and the waiting list
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meetup_id: Mapped[int] = mapped_column(ForeignKey("meetups.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(254))  # lower case
    city_geonameid: Mapped[int | None] = mapped_column(ForeignKey("cities.geonameid"))
    city_text: Mapped[str] = mapped_column(String(100), default="")  # as the fan typed it
    phone: Mapped[str] = mapped_column(String(40), default="")
    question: Mapped[str] = mapped_column(Text, default="")  # for the engineers
    locale: Mapped[str] = mapped_column(String(10), default="en")  # the language of their emails
    status: Mapped[str] = mapped_column(String(20))
    # The waiting list's order; set again when a cancelled registration comes back.
    queued_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    offer_expires_at: Mapped[datetime | None] = mapped_column(DateTime)
    cancel_reason: Mapped[str | None] = mapped_column(String(20))
    # The manage link's token is an HMAC of this under the secret key (registration.services):
    # a copy of the database alone opens no one's registration. Redrawn on cancel.
    manage_salt: Mapped[str] = mapped_column(String(32))
    # The ticket's public, unguessable name: /tickets/<ticket_ref> and inside the signed code.
    # A new one is drawn whenever the registration is cancelled, so old codes die with it.
    ticket_ref: Mapped[str] = mapped_column(String(32), unique=True)
    invite_code_id: Mapped[int | None] = mapped_column(ForeignKey("invite_codes.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime)

    meetup: Mapped[Meetup] = relationship()
    city: Mapped[City | None] = relationship()
    invite_code: Mapped["InviteCode | None"] = relationship(back_populates="registration")

    @property
    def is_confirmed(self) -> bool:
        return self.status == RegistrationStatus.CONFIRMED.value

    @property
    def is_cancelled(self) -> bool:
        return self.status == RegistrationStatus.CANCELLED.value

    def offer_lapsed(self, now: datetime) -> bool:
        """An offered seat past its deadline: it passes to the next fan at the next sweep (or the
        next change to the meetup's seats), and until then nobody can accept it."""
        return self.status == RegistrationStatus.OFFERED.value and self.offer_expires_at <= now

    def __repr__(self) -> str:
        return f"<Registration {self.id} {self.email} {self.status}>"


class InviteCode(db.Model):
    """Single use; while unused and before the meetup's release time it holds a seat."""

    __tablename__ = "invite_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    meetup_id: Mapped[int] = mapped_column(ForeignKey("meetups.id"), index=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    label: Mapped[str] = mapped_column(String(100), default="")  # whom the planner gave it to
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(DateTime)

    meetup: Mapped[Meetup] = relationship()
    registration: Mapped[Registration | None] = relationship(back_populates="invite_code")

    @property
    def is_used(self) -> bool:
        return self.used_at is not None


class QueuedMail(db.Model):
    """An email a registration's transaction decided to send, delivered after the commit
    (registration.mailing): the row commits or rolls back with the change it reports, and a
    deliverer claims it atomically, so each is sent once even with several processes delivering."""

    __tablename__ = "mail_queue"
    __table_args__ = (Index("ix_mail_queue_pending", "sent_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))  # the template, templates/email/<kind>.txt
    registration_id: Mapped[int] = mapped_column(ForeignKey("registrations.id"), index=True)
    # What the fan was told when the mail was queued (their place in line), not recomputed later.
    waitlist_position: Mapped[int | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime)  # a deliverer is sending it
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")

    def __repr__(self) -> str:
        return f"<QueuedMail {self.id} {self.kind} registration {self.registration_id}>"
