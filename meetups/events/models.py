"""A meetup in a gazetteer city, with 30 to 50 seats."""
import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..cities.models import City
from ..extensions import db
from ..shared.db import one_of
from ..shared.timeutil import to_local, utcnow

MIN_CAPACITY = 30
MAX_CAPACITY = 50
MAX_OFFER_HOURS = 168  # a week
# The meetup's own counts of its registrations and codes, kept by registration.seats in the
# transaction that changes them: reading seats is reading the row, and the row's lock is taken by
# the UPDATE that counts a new registration.
SEAT_COUNTERS = ("confirmed_count", "offered_count", "waitlisted_count", "unused_codes_count")


class MeetupStatus(str, enum.Enum):
    DRAFT = "draft"  # only planners see it
    PUBLISHED = "published"  # listed; registration follows its opening and closing times
    CLOSED = "closed"  # listed, registration closed by a planner
    CANCELLED = "cancelled"


class Meetup(db.Model):
    __tablename__ = "meetups"
    __table_args__ = (
        CheckConstraint(
            f"capacity BETWEEN {MIN_CAPACITY} AND {MAX_CAPACITY}", name="capacity_30_to_50"
        ),
        CheckConstraint(one_of("status", MeetupStatus), name="status_known"),
        CheckConstraint(f"offer_hours IS NULL OR offer_hours BETWEEN 1 AND {MAX_OFFER_HOURS}",
                        name="offer_hours_range"),
        # Both or neither (the migration attaches these to the columns: SQLite cannot add table checks).
        CheckConstraint("venue_latitude IS NULL OR venue_latitude BETWEEN -90 AND 90", name="venue_latitude_range"),
        CheckConstraint("venue_longitude IS NULL OR venue_longitude BETWEEN -180 AND 180",
                        name="venue_longitude_range"),
        CheckConstraint("(venue_latitude IS NULL) = (venue_longitude IS NULL)", name="venue_location_whole"),
        *(CheckConstraint(f"{name} >= 0", name=f"{name}_not_negative") for name in SEAT_COUNTERS),
        CheckConstraint("confirmed_count + offered_count <= capacity", name="seats_within_capacity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    city_geonameid: Mapped[int] = mapped_column(ForeignKey("cities.geonameid"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    venue_name: Mapped[str] = mapped_column(String(200), default="")
    venue_address: Mapped[str] = mapped_column(String(300), default="")
    # The venue's pin (WGS-84 degrees), when the planner gave one: maps, calendars and "nearest
    # first" use it, and the city's centre until then.
    venue_latitude: Mapped[float | None] = mapped_column(Float)
    venue_longitude: Mapped[float | None] = mapped_column(Float)
    # Naive UTC; shown in the city's time zone.
    starts_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    ends_at: Mapped[datetime | None] = mapped_column(DateTime)
    capacity: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default=MeetupStatus.DRAFT.value)
    # Registration is open from `registration_opens_at` (publication when empty) until
    # `registration_closes_at` (the start when empty).
    registration_opens_at: Mapped[datetime | None] = mapped_column(DateTime)
    registration_closes_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Unused invite codes hold seats until this moment (the start when empty).
    codes_release_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Empty: a freed seat goes straight to the first on the waiting list. Otherwise that fan
    # gets an offer to accept within this many hours, which passes on when it lapses.
    offer_hours: Mapped[int | None] = mapped_column(Integer)
    published_at: Mapped[datetime | None] = mapped_column(DateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime)
    # When the attendees were emailed a link to rate the meetup (feedback.ratings): once.
    ratings_requested_at: Mapped[datetime | None] = mapped_column(DateTime)
    # SEAT_COUNTERS: registrations confirmed, offered a freed seat, on the waiting list; unused invite codes.
    confirmed_count: Mapped[int] = mapped_column(default=0, server_default="0")
    offered_count: Mapped[int] = mapped_column(default=0, server_default="0")
    waitlisted_count: Mapped[int] = mapped_column(default=0, server_default="0")
    unused_codes_count: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    city: Mapped[City] = relationship()

    @property
    def has_venue_location(self) -> bool:
        return self.venue_latitude is not None and self.venue_longitude is not None

    @property
    def location(self) -> tuple[float, float]:
        """(latitude, longitude) of where fans go: the venue's pin, else the city's centre."""
        if self.has_venue_location:
            return self.venue_latitude, self.venue_longitude
        return self.city.latitude, self.city.longitude

    @property
    def local_starts_at(self) -> datetime:
        return to_local(self.starts_at, self.city.timezone)

    @property
    def local_ends_at(self) -> datetime | None:
        return to_local(self.ends_at, self.city.timezone) if self.ends_at else None

    @property
    def is_published(self) -> bool:
        return self.status == MeetupStatus.PUBLISHED.value

    @property
    def is_listed(self) -> bool:
        """Fans can see it (a closed or cancelled meetup still has a page for its registrants)."""
        return self.status != MeetupStatus.DRAFT.value

    @property
    def codes_held_until(self) -> datetime:
        return self.codes_release_at or self.starts_at

    def registration_state(self, now: datetime) -> str:
        """'open', or why not: 'draft', 'cancelled', 'closed', 'not_yet_open', 'over'."""
        if self.status != MeetupStatus.PUBLISHED.value:
            return self.status
        if self.registration_opens_at and now < self.registration_opens_at:
            return "not_yet_open"
        if now >= (self.registration_closes_at or self.starts_at):
            return "over"
        return "open"

    def __repr__(self) -> str:
        return f"<Meetup {self.id} {self.title!r}>"
