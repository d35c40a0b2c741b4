"""The one lock every change to a meetup's seats takes, so that capacity holds across processes
(shared.db takes the database's side of it)."""
from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..shared.db import begin_write
from .models import Meetup

# Built once: building a statement costs more than running it on this path.
_ROW = (select(Meetup).options(joinedload(Meetup.city, innerjoin=True)).where(Meetup.id == bindparam("meetup_id"))
        .execution_options(populate_existing=True))
_ROW_FOR_UPDATE = _ROW.with_for_update(of=Meetup)


def lock_meetup(meetup_id: int) -> Meetup | None:
    """Begin the write transaction by locking the meetup; the meetup with its city (every email
    names it), or None if there is no such meetup. Call it before the transaction's first write;
    the lock is held until the transaction ends (commit, rollback, or the session closing on an
    error). PostgreSQL: SELECT … FOR UPDATE, so registrations for one meetup queue while others
    go on; SQLite: the database's write lock, taken in the writers' queue (shared.db)."""
    session = db.session()
    if begin_write() == "sqlite":
        return session.scalars(_ROW, {"meetup_id": meetup_id}).one_or_none()
    return session.scalars(_ROW_FOR_UPDATE, {"meetup_id": meetup_id}).one_or_none()

