"""A ticket as an iCalendar event (RFC 5545), written by hand: one VEVENT, times in UTC."""
import hashlib
import re
from datetime import datetime, timedelta

from flask_babel import get_locale
from flask_babel import gettext as _

from ..shared.timeutil import utcnow
from .services import Ticket

DEFAULT_LENGTH = timedelta(hours=3)  # when a meetup has no end time
LINE_OCTETS = 75  # RFC 5545 3.1: longer lines are folded
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def ticket_event(ticket: Ticket, ticket_url: str, now: datetime | None = None) -> str:
    """The text of a .ics file with the meetup as one event, CRLF line endings."""
    meetup = ticket.meetup
    locale = str(get_locale() or "en")
    place = [meetup.venue_name, meetup.venue_address, meetup.city.display_name(locale)]
    description = "\n".join((
        _("Your ticket (show its QR code at the door): %(url)s", url=ticket_url),
        _("Face to face with the engineers. Nothing is sold."),
    ))
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//City Meetups//Tickets//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        # From the reference, so a re-import updates the event, but not the reference itself:
        # calendars are shared more freely than tickets.
        f"UID:{hashlib.sha256(ticket.ref.encode()).hexdigest()[:32]}@city-meetups",
        f"DTSTAMP:{_utc(now or utcnow())}",
        f"DTSTART:{_utc(meetup.starts_at)}",
        f"DTEND:{_utc(meetup.ends_at or meetup.starts_at + DEFAULT_LENGTH)}",
        f"SUMMARY:{escape_text(meetup.title)}",
        f"LOCATION:{escape_text(', '.join(part for part in place if part))}",
        "GEO:{:.6f};{:.6f}".format(*meetup.location),  # the venue's pin, or the city's centre
        f"DESCRIPTION:{escape_text(description)}",
        f"URL:{ticket_url}",  # a URI value: not escaped
        "STATUS:CONFIRMED",
        "TRANSP:OPAQUE",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "".join(fold(line) + "\r\n" for line in lines)


def escape_text(value: str) -> str:
    """A TEXT value (RFC 5545 3.3.11): backslash, semicolon, comma and newlines escaped."""
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    value = value.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\\n")
    return _CONTROL.sub("", value)


def fold(line: str) -> str:
    """Split a content line into lines of at most 75 octets; each continuation starts with a
    space. Never inside a UTF-8 character."""
    pieces, current, octets = [], "", 0
    for character in line:
        size = len(character.encode())
        if octets + size > LINE_OCTETS:
            pieces.append(current)
            current, octets = " ", 1
        current += character
        octets += size
    pieces.append(current)
    return "\r\n".join(pieces)


def _utc(moment: datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%SZ")  # naive UTC in the database
