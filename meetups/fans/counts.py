"""Fans per gazetteer city (CityFanCount), kept in step with the fans table, so that ranking
cities costs O(cities) however many fans there are.

Two paths change fans. The bulk import writes with plain SQL and recounts once at its end, in its
own transaction (one GROUP BY, small beside the import itself). Every change through the ORM (the
demo, a fan added or moved one at a time) adjusts the two cities' counts by one in the same flush.
Bulk UPDATE/DELETE statements on `fans` bypass both: call `recount` after them.
"""
from sqlalchemy import Connection, delete, event, func, insert, inspect, select

from ..extensions import db
from ..shared.db import on_conflict
from .models import CityFanCount, Fan

_counts = CityFanCount.__table__
_ADJUST = on_conflict(_counts, ["city_geonameid"], update=lambda excluded: {"fans": _counts.c.fans + excluded.fans})


def recount(connection: Connection) -> None:
    """Count every city's fans afresh (inside the caller's transaction)."""
    connection.execute(delete(CityFanCount))
    connection.execute(insert(CityFanCount).from_select(
        ["city_geonameid", "fans"],
        select(Fan.city_geonameid, func.count()).where(Fan.city_geonameid.is_not(None)).group_by(Fan.city_geonameid),
    ))


def fans_by_city() -> dict[int, int]:
    """geonameid → fans living there (cities without fans are left out)."""
    rows = db.session.execute(select(CityFanCount.city_geonameid, CityFanCount.fans).where(CityFanCount.fans > 0))
    return dict(rows.all())


def fans_without_city() -> int:
    """Fans the forum knew no place for: they cannot be assigned to any city (an index lookup)."""
    return db.session.scalar(select(func.count()).select_from(Fan).where(Fan.city_geonameid.is_(None)))


def _adjust(connection: Connection, city_id: int | None, delta: int) -> None:
    if city_id is not None:
        connection.execute(_ADJUST[connection.dialect.name], {"city_geonameid": city_id, "fans": delta})


@event.listens_for(Fan, "after_insert")
def _fan_added(_mapper, connection: Connection, fan: Fan) -> None:
    _adjust(connection, fan.city_geonameid, 1)


@event.listens_for(Fan, "after_update")
def _fan_changed(_mapper, connection: Connection, fan: Fan) -> None:
    history = inspect(fan).attrs.city_geonameid.history
    if not history.has_changes():
        return
    for old in history.deleted:
        _adjust(connection, old, -1)
    for new in history.added:
        _adjust(connection, new, 1)


@event.listens_for(Fan, "after_delete")
def _fan_removed(_mapper, connection: Connection, fan: Fan) -> None:
    history = inspect(fan).attrs.city_geonameid.history
    _adjust(connection, (history.deleted or [fan.city_geonameid])[0], -1)
