"""A meetup's life apart from its seats: create, publish, close and reopen registration; the
rules of its settings (`apply_details`); the lists fans see (upcoming, nearest first) and where it
is (the venue's pin, map links). Editing a meetup and cancelling it change seats, so they live in
registration.services, which calls `apply_details` under the meetup's lock."""
import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..cities.geo import geodesic_km
from ..cities.models import City
from ..cities.services import find_city
from ..errors import DomainError
from ..extensions import db
from ..shared.timeutil import to_utc, utcnow
from ..shared.validation import Fields
from .locks import lock_meetup
from .models import MAX_CAPACITY, MAX_OFFER_HOURS, MIN_CAPACITY, Meetup, MeetupStatus

# A venue's pin this far from its city's centre is a typing slip or the wrong city (the widest
# Chinese cities' urban areas are well within it).
MAX_VENUE_KM = 150
# Two decimal numbers, as a map app copies a point: "30.6586, 104.0647" (also with a Chinese
# comma, or a space between them).
_POINT = re.compile(r"\s*([-+]?\d{1,3}(?:\.\d+)?)\s*(?:[,，、]\s*|\s+)([-+]?\d{1,3}(?:\.\d+)?)\s*")


@dataclass
class MeetupDetails:
    """What a planner sets. Times without a time zone are local time in the meetup's city.
    `city` is a typed name; `city_geonameid`, when given, is the exact city (two gazetteer cities
    can share a name) and `city` is then only its label."""

    city: str
    starts_at: datetime
    capacity: int
    title: str = ""
    venue_name: str = ""
    venue_address: str = ""
    ends_at: datetime | None = None
    registration_opens_at: datetime | None = None
    registration_closes_at: datetime | None = None
    codes_release_at: datetime | None = None
    offer_hours: int | None = None
    city_geonameid: int | None = None
    venue_location: str = ""  # "latitude, longitude" as typed or pasted; empty for none


def create_meetup(details: MeetupDetails, publish: bool = False, commit: bool = True) -> Meetup:
    """`commit=False` leaves the commit (or the rollback) to the caller, which creates several
    meetups as one: the two-week schedule (planning.schedule)."""
    meetup = Meetup(status=MeetupStatus.DRAFT.value)
    apply_details(meetup, details, taken=0)
    if publish:
        _publish(meetup)
    db.session.add(meetup)
    if commit:
        db.session.commit()
    else:
        db.session.flush()
    return meetup


def publish_meetup(meetup_id: int) -> Meetup:
    """Draft → published; a closed meetup opens its registration again."""
    meetup = locked_meetup(meetup_id)
    if meetup.status == MeetupStatus.CANCELLED.value:
        db.session.rollback()
        raise DomainError("meetup_cancelled", _("A cancelled meetup cannot be published."), status=409)
    _publish(meetup)
    db.session.commit()
    return meetup


def close_registration(meetup_id: int) -> Meetup:
    meetup = locked_meetup(meetup_id)
    if meetup.status != MeetupStatus.PUBLISHED.value:
        db.session.rollback()
        raise DomainError("not_published", _("Only a published meetup's registration can be closed."), status=409)
    meetup.status = MeetupStatus.CLOSED.value
    db.session.commit()
    return meetup


def upcoming_meetups(limit: int = 50, near: City | None = None) -> list[Meetup]:
    """Published meetups still to come, soonest first, or nearest to `near` first."""
    query = (
        select(Meetup)
        .options(joinedload(Meetup.city))
        .where(Meetup.status.in_((MeetupStatus.PUBLISHED.value, MeetupStatus.CLOSED.value)),
               Meetup.starts_at >= utcnow())
        .order_by(Meetup.starts_at, Meetup.id)
        .limit(limit)
    )
    meetups = list(db.session.scalars(query))
    if near is not None:
        meetups.sort(key=lambda meetup: distance_km(near, meetup))  # stable: ties stay soonest first
    return meetups


def distance_km(home: City, meetup: Meetup) -> float:
    """Geodesic distance from a fan's city to where the meetup is (its venue's pin, or its city)."""
    if home.geonameid == meetup.city_geonameid and not meetup.has_venue_location:
        return 0.0
    return geodesic_km(home.latitude, home.longitude, *meetup.location)


def map_links(meetup: Meetup) -> dict[str, str]:
    """Links to where the meetup is on Amap (opens the app on a phone) and OpenStreetMap: the
    venue's pin when the planner set one, else the gazetteer's city centre (the page then says
    so, and shows the address beside the links). Both in WGS-84; the marker is named after the
    venue, or the city."""
    latitude, longitude = meetup.location
    lat, lon = f"{latitude:.5f}", f"{longitude:.5f}"  # a metre
    zoom = 17 if meetup.has_venue_location else 12
    amap = urlencode({"position": f"{lon},{lat}", "name": meetup.venue_name or meetup.city.name, "coordinate": "wgs84",
                      "src": "city-meetups", "callnative": "1"}, safe=",")
    return {
        "amap": f"https://uri.amap.com/marker?{amap}",
        "osm": f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map={zoom}/{lat}/{lon}",
    }


def venue_point(text: str, city: City) -> tuple[float, float] | None:
    """The venue's (latitude, longitude) from what a planner typed: None for nothing, DomainError
    `invalid` (field `venue_location`) for anything that is not a point near `city`. Amap and
    Baidu write longitude first: the order is taken from which reading lies near the city."""
    text = (text or "").strip()
    if not text:
        return None
    numbers = _POINT.fullmatch(text)
    example = _("Give the venue's latitude and longitude, e.g. 30.6586, 104.0647.")
    if numbers is None:
        raise DomainError("invalid", example, {"venue_location": example})
    first, second = float(numbers[1]), float(numbers[2])
    readings = [(lat, lon) for lat, lon in ((first, second), (second, first)) if abs(lat) <= 90 and abs(lon) <= 180]
    if not readings:
        raise DomainError("invalid", example, {"venue_location": example})
    km, point = min((geodesic_km(city.latitude, city.longitude, *point), point) for point in readings)
    if km > MAX_VENUE_KM:
        message = _("This point is %(km)s km from %(city)s. %(example)s", km=f"{km:,.0f}",
                    city=city.display_name(str(get_locale())), example=example)
        raise DomainError("invalid", message, {"venue_location": message})
    return round(point[0], 6), round(point[1], 6)  # a tenth of a metre


def locked_meetup(meetup_id: int) -> Meetup:
    """The meetup, locked for the transaction (events.locks); 404 `not_found` if there is none."""
    meetup = lock_meetup(meetup_id)
    if meetup is None:
        db.session.rollback()
        raise DomainError("not_found", _("There is no such meetup."), status=404)
    return meetup


def _publish(meetup: Meetup) -> None:
    meetup.status = MeetupStatus.PUBLISHED.value
    meetup.published_at = meetup.published_at or utcnow()


def apply_details(meetup: Meetup, details: MeetupDetails, taken: int) -> None:
    """Check every field, then set them all (or raise DomainError `invalid` naming each bad field).
    `taken`: seats the capacity may not go below (confirmed, offered, held for invite codes)."""
    fields = Fields()
    capacity = fields.number("capacity", details.capacity, int, MIN_CAPACITY, MAX_CAPACITY, message=_(
        "Capacity must be between %(least)d and %(most)d seats.", least=MIN_CAPACITY, most=MAX_CAPACITY))
    if capacity is not None and capacity < taken:
        fields.refuse("capacity", _(
            "%(taken)d seats are taken or held for invite codes: the capacity cannot go below that.", taken=taken))
    host = None
    if details.city_geonameid is not None:
        host = db.session.get(City, details.city_geonameid)
        if host is None:
            fields.refuse("city", _("The gazetteer has no such city (was it removed?)."))
    else:
        resolution = find_city(details.city or "")
        if resolution.geonameid is None:
            fields.refuse("city", _("No gazetteer city is called %(name)s.", name=repr(details.city)))
        else:
            host = db.session.get(City, resolution.geonameid)
    title = fields.text("title", details.title, Meetup.title)
    venue_name = fields.text("venue_name", details.venue_name, Meetup.venue_name)
    venue_address = fields.text("venue_address", details.venue_address, Meetup.venue_address)
    offer_hours = fields.number("offer_hours", details.offer_hours, int, 1, MAX_OFFER_HOURS, required=False, message=_(
        "Offers last between 1 and %(most)d hours (leave empty to promote at once).", most=MAX_OFFER_HOURS))
    if host is not None:
        zone = host.timezone
        starts = to_utc(details.starts_at, zone)
        moments = {name: to_utc(value, zone) if value else None for name, value in (
            ("ends_at", details.ends_at), ("registration_opens_at", details.registration_opens_at),
            ("registration_closes_at", details.registration_closes_at),
            ("codes_release_at", details.codes_release_at))}
        if moments["ends_at"] and moments["ends_at"] <= starts:
            fields.refuse("ends_at", _("The meetup must end after it starts."))
        closes = moments["registration_closes_at"] or starts
        if closes > starts:
            fields.refuse("registration_closes_at", _("Registration must close by the time the meetup starts."))
        if moments["registration_opens_at"] and moments["registration_opens_at"] >= closes:
            fields.refuse("registration_opens_at", _("Registration must open before it closes."))
        if moments["codes_release_at"] and moments["codes_release_at"] > starts:
            fields.refuse("codes_release_at", _("Held seats must be released by the time the meetup starts."))
        try:
            point = venue_point(details.venue_location, host)
        except DomainError as error:
            for name, message in error.fields.items():
                fields.refuse(name, message)
    fields.done(" ".join(fields.errors.values()))
    meetup.city = host
    meetup.title = title or _("%(city)s fan meetup", city=host.display_name(str(get_locale())))
    meetup.venue_name, meetup.venue_address = venue_name, venue_address
    meetup.venue_latitude, meetup.venue_longitude = point or (None, None)
    meetup.starts_at = starts
    meetup.capacity = capacity
    meetup.offer_hours = offer_hours
    for name, value in moments.items():
        setattr(meetup, name, value)

