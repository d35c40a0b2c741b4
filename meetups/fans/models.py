"""A fan of the brand, identified by email, placed at a gazetteer city."""
from datetime import datetime

from sqlalchemy import DateTime, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..cities.models import City
from ..extensions import db
from ..shared.timeutil import utcnow


class Fan(db.Model):
    __tablename__ = "fans"

    id: Mapped[int] = mapped_column(primary_key=True)
    handle: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(254), unique=True)
    city_geonameid: Mapped[int | None] = mapped_column(
        ForeignKey("cities.geonameid", ondelete="SET NULL"), index=True
    )
    # The fan's own coordinates, when the forum knew them.
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    level: Mapped[int | None] = mapped_column(Integer)
    joined_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    city: Mapped[City | None] = relationship()

    def __repr__(self) -> str:
        return f"<Fan {self.email}>"


class CityFanCount(db.Model):
    """How many fans live in each gazetteer city. Kept up to date whenever fans are added, moved
    or removed (fans.counts), so that ranking cities never counts the fans table."""

    __tablename__ = "city_fan_counts"

    city_geonameid: Mapped[int] = mapped_column(
        ForeignKey("cities.geonameid", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    fans: Mapped[int] = mapped_column(Integer, default=0)
