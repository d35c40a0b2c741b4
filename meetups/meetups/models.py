"""A meetup in a gazetteer city, with 30 to 50 seats."""
import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..cities.models import City
from ..extensions import db
from ..timeutil import to_local, utcnow

MIN_CAPACITY = 30
MAX_CAPACITY = 50


class MeetupStatus(str, enum.Enum):
    DRAFT = "draft"
    PUBLISHED = "published"
    CANCELLED = "cancelled"


class Meetup(db.Model):
    __tablename__ = "meetups"
    __table_args__ = (
        CheckConstraint(
            f"capacity BETWEEN {MIN_CAPACITY} AND {MAX_CAPACITY}", name="capacity_30_to_50"
        ),
        CheckConstraint("status IN ('draft', 'published', 'cancelled')", name="status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    city_geonameid: Mapped[int] = mapped_column(ForeignKey("cities.geonameid"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    venue_name: Mapped[str] = mapped_column(String(200), default="")
    venue_address: Mapped[str] = mapped_column(String(300), default="")
    # Naive UTC; shown in the city's time zone.
    starts_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    ends_at: Mapped[datetime | None] = mapped_column(DateTime)
    capacity: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default=MeetupStatus.DRAFT.value)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    city: Mapped[City] = relationship()

    @property
    def local_starts_at(self) -> datetime:
        return to_local(self.starts_at, self.city.timezone)

    @property
    def is_published(self) -> bool:
        return self.status == MeetupStatus.PUBLISHED.value

    def __repr__(self) -> str:
        return f"<Meetup {self.id} {self.title!r}>"
