"""Creating meetups and listing the upcoming ones."""
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..cities.services import find_city
from ..errors import DomainError
from ..extensions import db
from ..timeutil import to_utc, utcnow
from .models import MAX_CAPACITY, MIN_CAPACITY, Meetup, MeetupStatus
from ..cities.models import City


def create_meetup(
    city: str,
    starts_at: datetime,
    capacity: int,
    title: str | None = None,
    venue_name: str = "",
    venue_address: str = "",
    ends_at: datetime | None = None,
    publish: bool = False,
) -> Meetup:
    """`starts_at` without a time zone is local time in the meetup's city."""
    fields = {}
    if not MIN_CAPACITY <= capacity <= MAX_CAPACITY:
        fields["capacity"] = f"Capacity must be between {MIN_CAPACITY} and {MAX_CAPACITY} seats."
    resolution = find_city(city)
    if resolution.geonameid is None:
        fields["city"] = f"No gazetteer city is called {city!r}."
    if fields:
        raise DomainError("invalid", " ".join(fields.values()), fields)
    host = db.session.get(City, resolution.geonameid)
    starts = to_utc(starts_at, host.timezone)
    ends = to_utc(ends_at, host.timezone) if ends_at else None
    if ends is not None and ends <= starts:
        message = "The meetup must end after it starts."
        raise DomainError("invalid", message, {"ends_at": message})
    meetup = Meetup(
        city=host,
        title=(title or "").strip() or f"{host.name} meetup",
        venue_name=venue_name.strip(),
        venue_address=venue_address.strip(),
        starts_at=starts,
        ends_at=ends,
        capacity=capacity,
        status=MeetupStatus.PUBLISHED.value if publish else MeetupStatus.DRAFT.value,
    )
    db.session.add(meetup)
    db.session.commit()
    return meetup


def upcoming_meetups(limit: int = 50) -> list[Meetup]:
    query = (
        select(Meetup)
        .options(joinedload(Meetup.city))
        .where(Meetup.status == MeetupStatus.PUBLISHED.value, Meetup.starts_at >= utcnow())
        .order_by(Meetup.starts_at)
        .limit(limit)
    )
    return list(db.session.scalars(query))
