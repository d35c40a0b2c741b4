"""The one lock every change to a meetup's seats takes, so that capacity holds across processes."""
from sqlalchemy import select, update

from ..extensions import db
from .models import Meetup


def lock_meetup(meetup_id: int) -> Meetup | None:
    """Begin the write transaction by locking the meetup's row; None if there is no such meetup.

    PostgreSQL: SELECT … FOR UPDATE, so registrations for one meetup queue while others go on.
    SQLite: a write to the row takes the database's write lock as the transaction's first
    statement (pysqlite opens the transaction there), so every count read after it is current;
    other writers wait up to busy_timeout.
    """
    session = db.session
    if session.get_bind().dialect.name == "sqlite":
        found = session.execute(update(Meetup).where(Meetup.id == meetup_id).values(id=Meetup.id)).rowcount
        if not found:
            return None
        return session.scalars(select(Meetup).where(Meetup.id == meetup_id).execution_options(populate_existing=True)).one()
    return session.scalars(
        select(Meetup).where(Meetup.id == meetup_id).with_for_update().execution_options(populate_existing=True)
    ).one_or_none()
