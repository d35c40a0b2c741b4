"""The ranking's expensive part, stored: which candidate host serves each gazetteer city, for one
set of parameters over one state of the gazetteer (planning.ranking)."""
from datetime import datetime

from sqlalchemy import Boolean, DateTime, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..shared.timeutil import utcnow


class HostAssignmentSet(db.Model):
    """The expensive part of a ranking, stored: which candidate host serves each gazetteer city,
    for one set of parameters over one state of the gazetteer (see planning.ranking)."""

    __tablename__ = "host_assignment_sets"

    id: Mapped[int] = mapped_column(primary_key=True)
    # radius, minimum population and merge distance; the gazetteer's fingerprint invalidates it.
    parameters_key: Mapped[str] = mapped_column(String(100), unique=True)
    gazetteer_fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    rows: Mapped[list["HostAssignment"]] = relationship(cascade="all, delete-orphan", passive_deletes=True)


class HostAssignment(db.Model):
    """One gazetteer city in a HostAssignmentSet."""

    __tablename__ = "host_assignments"

    set_id: Mapped[int] = mapped_column(ForeignKey("host_assignment_sets.id", ondelete="CASCADE"), primary_key=True)
    city_geonameid: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    is_candidate: Mapped[bool] = mapped_column(Boolean, default=False)
    # A city too close to a more populous candidate is part of it (a district or suburb).
    merged_into: Mapped[int | None] = mapped_column(Integer)
    # The nearest candidate within the radius, or None (the city's fans are unserved) …
    host_geonameid: Mapped[int | None] = mapped_column(Integer)
    # … and how far it is; for an unserved city, how far the nearest candidate is.
    distance_km: Mapped[float | None] = mapped_column(Float)
