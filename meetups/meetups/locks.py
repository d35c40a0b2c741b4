"""The one lock every change to a meetup's seats takes, so that capacity holds across processes."""
import contextlib
import fcntl
import os
import threading
from pathlib import Path

from sqlalchemy import bindparam, event, select
from sqlalchemy.orm import Session, joinedload

from ..extensions import db
from .models import Meetup

# How long a thread waits for another thread of its own process (SQLite's busy_timeout, the same).
WAIT_SECONDS = 15
_HELD = "meetups.write_lock"  # Session.info key: the SQLite write lock this session's transaction holds

# Built once: building a statement costs more than running it on this path.
_ROW = (select(Meetup).options(joinedload(Meetup.city, innerjoin=True)).where(Meetup.id == bindparam("meetup_id"))
        .execution_options(populate_existing=True))
_ROW_FOR_UPDATE = _ROW.with_for_update(of=Meetup)


def lock_meetup(meetup_id: int) -> Meetup | None:
    """Begin the write transaction by locking the meetup; the meetup with its city (every email
    names it), or None if there is no such meetup. Call it before the transaction's first write;
    the lock is held until the transaction ends (commit, rollback, or the session closing on an
    error).

    PostgreSQL: SELECT … FOR UPDATE, so registrations for one meetup queue while others go on.
    SQLite has one writer at a time anyway, and its busy handler makes a waiting writer sleep (1, 2,
    5 … 100 ms) while the lock may sit free. So writers first queue on a lock of their own
    (`SqliteWriteLock`), which hands over the moment it is released; then BEGIN IMMEDIATE takes
    the database's write lock before anything is read, so every count read after it is current
    (and a writer that does not queue is still kept out by SQLite itself).
    """
    session = db.session()
    if session.get_bind().dialect.name != "sqlite":
        return session.scalars(_ROW_FOR_UPDATE, {"meetup_id": meetup_id}).one_or_none()
    _begin_sqlite_write(session)
    return session.scalars(_ROW, {"meetup_id": meetup_id}).one_or_none()


def lock_meetup_only(meetup_id: int) -> bool:
    """`lock_meetup` loading nothing, for a caller that reads what it needs in one statement of
    its own right after (registering); whether the meetup exists. On PostgreSQL that statement
    must be a new one: it then sees every change committed before the lock was granted."""
    session = db.session()
    if session.get_bind().dialect.name != "sqlite":
        return session.connection().execute(_ID_FOR_UPDATE, {"meetup_id": meetup_id}).first() is not None
    _begin_sqlite_write(session)
    return True  # the caller's statement tells


_ID_FOR_UPDATE = select(Meetup.id).where(Meetup.id == bindparam("meetup_id")).with_for_update()


@contextlib.contextmanager
def write_transaction():
    """A write transaction that takes no meetup's lock (the mail queue): on SQLite it queues with
    the meetups' writers, as `lock_meetup` does, instead of sleeping in SQLite's busy handler; on
    PostgreSQL row locks are enough. Commit inside; an error rolls back."""
    session = db.session()
    if session.get_bind().dialect.name == "sqlite":
        _begin_sqlite_write(session)
    try:
        yield
    except BaseException:
        session.rollback()
        raise


def lock_rows(statement) -> None:
    """Begin a write transaction holding the rows `statement` selects until it ends: on PostgreSQL
    with SELECT … FOR UPDATE, on SQLite by taking the database's write lock in the writers' queue,
    so that what the transaction reads next is what it writes against."""
    session = db.session()
    if session.get_bind().dialect.name == "sqlite":
        _begin_sqlite_write(session)
    else:
        session.execute(statement.with_for_update())


def _begin_sqlite_write(session: Session) -> None:
    connection = session.connection()  # checked out of the pool before the lock, not while holding it
    SqliteWriteLock.hold(session)
    # pysqlite opens a transaction only before a write, so one already open has the write lock.
    if not connection.connection.dbapi_connection.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


class SqliteWriteLock:
    """Queues a SQLite database's writers: a thread lock within the process, then an flock on
    `<database>.lock` beside the database file across processes (both wake the next waiter at
    once). flock works between processes of one host, as SQLite does."""

    _registry: dict[object, "SqliteWriteLock"] = {}  # by database URL
    _registry_guard = threading.Lock()

    def __init__(self, database: str | None):
        self.thread_lock = threading.Lock()
        # An in-memory database lives in one process: the thread lock is all it needs.
        self.path = None if database in (None, "", ":memory:") else Path(f"{os.path.abspath(database)}.lock")
        self.file, self.pid = None, None

    @classmethod
    def hold(cls, session: Session) -> None:
        """Take the lock for the session's transaction (once: taking it again is a no-op)."""
        if _HELD in session.info:
            return
        transaction = session.get_transaction() or session.begin()
        url = session.get_bind().url  # one lock per database, whichever engine (app) opens it
        lock = cls._registry.get(url)
        if lock is None:
            with cls._registry_guard:
                lock = cls._registry.setdefault(url, cls(url.database))
        lock.acquire()
        session.info[_HELD] = (lock, transaction)

    def acquire(self) -> None:
        if not self.thread_lock.acquire(timeout=WAIT_SECONDS):
            raise TimeoutError(f"no SQLite write lock within {WAIT_SECONDS} s (is one thread holding two sessions?)")
        if self.path is None:
            return
        try:
            if self.pid != os.getpid():  # a forked process must not share its parent's open file (and lock)
                self.file, self.pid = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600), os.getpid()
            fcntl.flock(self.file, fcntl.LOCK_EX)
        except BaseException:
            self.thread_lock.release()
            raise

    def release(self) -> None:
        try:
            if self.path is not None:
                fcntl.flock(self.file, fcntl.LOCK_UN)
        finally:
            self.thread_lock.release()


@event.listens_for(Session, "after_transaction_end")
def _release_write_lock(session: Session, transaction) -> None:
    # Fires after the database's own commit or rollback, so SQLite's lock is already free.
    held = session.info.get(_HELD)
    if held is not None and held[1] is transaction:
        del session.info[_HELD]
        held[0].release()
