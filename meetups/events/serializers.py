"""A meetup as the JSON API shows it: one serializer for the fans' API and the door."""
from datetime import datetime

from ..shared.links import external_url
from ..shared.timeutil import isoformat
from .models import Meetup


def meetup_json(meetup: Meetup, seats=None, now: datetime | None = None) -> dict:
    """Times in the city's time zone. With `seats` (registration's SeatCounts, counted at `now`)
    the seats left, the waiting list and whether registration is open are added."""
    zone = meetup.city.timezone
    found = {
        "id": meetup.id,
        "title": meetup.title,
        "city": meetup.city.name,
        "city_zh": meetup.city.name_zh,
        "starts_at": isoformat(meetup.starts_at, zone),
        "ends_at": isoformat(meetup.ends_at, zone),
        "capacity": meetup.capacity,
        "status": meetup.status,
        "venue_name": meetup.venue_name,
        "venue_address": meetup.venue_address,
        "venue_latitude": meetup.venue_latitude,  # null until the planner pins the venue
        "venue_longitude": meetup.venue_longitude,
        "url": external_url("registration.meetup", meetup_id=meetup.id),
    }
    if seats is not None:
        state = meetup.registration_state(now)
        found.update(seats_left=seats.seats_left, waitlist_length=seats.waitlisted,
                     registration_open=state == "open", registration_state=state)
    return found
