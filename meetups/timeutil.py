"""Time in one convention: naive UTC in the database, the city's time zone on screen."""
from datetime import datetime, timezone
from zoneinfo import ZoneInfo


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def to_utc(moment: datetime, zone: str) -> datetime:
    """A naive moment is read as local time in `zone`; an aware one keeps its offset."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(zone))
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def to_local(moment: datetime, zone: str) -> datetime:
    return moment.replace(tzinfo=timezone.utc).astimezone(ZoneInfo(zone))
