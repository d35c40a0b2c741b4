"""Database plumbing every domain shares: beginning a write transaction so that writers queue
instead of failing (SQLite) or lock exactly the rows they change (PostgreSQL), INSERT … ON
CONFLICT for both databases, and CHECK constraints spelled from the enums they guard.

One way to run SQL: through the session (`db.session.execute` for the ORM, or its connection's
`execute` for a Core statement on a hot path, built once as a module constant so that SQLAlchemy
compiles it once). No driver cursors, no SQL strings built by hand. One bulk write, the fan
import, runs its Core statement's compiled text (`driver_sql`) with rows already in the
database's form (`to_database`): there SQLAlchemy's per-row work would cost more than the write."""
import contextlib
import enum
import fcntl
import os
import threading
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Column, Connection, Table, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable, Select

from ..extensions import db

# How long a thread waits for another thread of its own process (SQLite's busy_timeout, the same).
WAIT_SECONDS = 15
_HELD = "meetups.write_lock"  # Session.info key: the SQLite write lock this session's transaction holds


def dialect_name() -> str:
    return db.session.get_bind().dialect.name


def begin_write() -> str:
    """Begin the session's write transaction before its first write; the dialect's name.

    SQLite has one writer at a time, and its busy handler makes a waiting writer sleep (1, 2, 5 …
    100 ms) while the lock may sit free. So writers first queue on a lock of their own
    (`SqliteWriteLock`), which hands over the moment it is released; then BEGIN IMMEDIATE takes
    the database's write lock before anything is read, so every count read after it is current
    (and a writer that does not queue is still kept out by SQLite itself). PostgreSQL needs
    nothing here: its writers lock the rows they change (`lock_rows`).
    """
    session = db.session()
    name = session.get_bind().dialect.name
    if name == "sqlite":
        connection = session.connection()  # checked out of the pool before the lock, not while holding it
        SqliteWriteLock.hold(session)
        # pysqlite opens a transaction only before a write, so one already open has the write lock.
        if not connection.connection.dbapi_connection.in_transaction:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
    return name


def lock_rows(statement: Select, params: dict | None = None) -> bool:
    """Begin a write transaction holding the rows `statement` (a SELECT … FOR UPDATE, built once
    by the caller where it is a hot path) selects until it ends, so that what the transaction
    reads next is what it writes against: on PostgreSQL those rows; on SQLite the whole
    database's write lock (`begin_write`). Whether a row was found (on SQLite always True: the
    caller's next statement tells)."""
    if begin_write() == "sqlite":
        return True
    return first(statement, params or {}) is not None


@contextlib.contextmanager
def write_transaction():
    """A write transaction that locks no row of its own (the mail queue): on SQLite it queues with
    every other writer (`begin_write`) instead of sleeping in SQLite's busy handler; on PostgreSQL
    row locks are enough. Commit inside; an error rolls back."""
    begin_write()
    try:
        yield
    except BaseException:
        db.session.rollback()
        raise


def sqlite_pragmas(engine) -> None:
    """Every SQLite connection of `engine`: foreign keys on, WAL (readers never wait for the
    writer), a busy timeout for writers outside the queue."""
    event.listen(engine, "connect", _sqlite_pragmas)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA busy_timeout = 15000")
    mode = cursor.execute("PRAGMA journal_mode").fetchone()[0]
    if mode.lower() not in ("wal", "memory"):
        cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.close()


def first(statement: Executable, params: dict | list[dict]) -> Row | None:
    """The first row of a Core statement (or None) run on the session's connection, in its
    transaction: the hot paths' way, which skips the ORM's per-statement work."""
    return db.session.connection().execute(statement, params).first()


_DIALECT_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def on_conflict_insert(dialect: str) -> Callable:
    """The `insert` of this database's dialect, the one that knows ON CONFLICT."""
    return _DIALECT_INSERTS[dialect]


def on_conflict(table: Table, keys: list[str], update: Callable | None = None,
                returning: tuple = ()) -> dict[str, Executable]:
    """INSERT … ON CONFLICT (`keys`) DO NOTHING, or DO UPDATE SET what `update(excluded)` gives
    (`excluded`: the row that was refused), for each database the app runs on: {dialect name:
    statement}, built once by the caller. With `returning`, a row that was not inserted (DO
    NOTHING) returns nothing, so "was it new" is one statement."""
    statements = {}
    for name, dialect_insert in _DIALECT_INSERTS.items():
        statement = dialect_insert(table)
        if update is None:
            statement = statement.on_conflict_do_nothing(index_elements=keys)
        else:
            statement = statement.on_conflict_do_update(index_elements=keys, set_=update(statement.excluded))
        statements[name] = statement.returning(*returning) if returning else statement
    return statements


def driver_sql(statement: Executable, connection: Connection) -> str:
    """A Core statement's text for `connection.exec_driver_sql`, compiled once by the caller, with
    positional placeholders in the order of its bind parameters (for a bulk write's rows)."""
    dialect = connection.dialect
    if dialect.paramstyle != "qmark":  # PostgreSQL's drivers take %s for positional values
        dialect = type(dialect)(paramstyle="format")
    return str(statement.compile(dialect=dialect))


def to_database(column: Column, connection: Connection) -> Callable:
    """How SQLAlchemy itself would send a value of `column` to this database (for `driver_sql`'s
    rows): SQLite compares the text it stores, so both must write the same format."""
    process = column.type.dialect_impl(connection.dialect).bind_processor(connection.dialect)
    return process or (lambda value: value)


def one_of(column: str, values: type[enum.Enum]) -> str:
    """The SQL of a CHECK constraint that `column` holds one of the enum's values."""
    return f"{column} IN ({', '.join(repr(member.value) for member in values)})"


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
