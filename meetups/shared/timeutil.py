"""Time in one convention: naive UTC in the database, the city's time zone on screen, ISO 8601
with the offset in JSON."""
from datetime import UTC, datetime
from zoneinfo import ZoneInfo


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def to_utc(moment: datetime, zone: str) -> datetime:
    """A naive moment is read as local time in `zone`; an aware one keeps its offset."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(zone))
    return moment.astimezone(UTC).replace(tzinfo=None)


def to_local(moment: datetime, zone: str) -> datetime:
    return moment.replace(tzinfo=UTC).astimezone(ZoneInfo(zone))


def isoformat(moment: datetime | None, zone: str = "UTC") -> str | None:
    """The JSON API's one time format: ISO 8601 with the offset, in `zone` (the meetup's city; UTC
    for what belongs to no city). None stays None."""
    return to_local(moment, zone).isoformat() if moment else None


def format_in_zone(moment: datetime | None, zone: str, style: str = "medium") -> str:
    """A naive-UTC moment as the people in `zone` read it, in the current language, without
    seconds: `style` is Babel's date style ("short", "medium", "long", "full")
    (Jinja: `meetup.starts_at|in_city(meetup)`)."""
    from babel.dates import format_date, format_time
    from flask_babel import get_locale

    if moment is None:
        return ""
    local = to_local(moment, zone)
    locale = get_locale() or "en"
    return f"{format_date(local, style, locale=locale)} {format_time(local, 'short', locale=locale)}"
