"""Statements and round trips per request, counted in this process on a copy of the benchmark's
server (the same database, the same settings) through Flask's test client, with SQLAlchemy's
engine events: each statement, COMMIT and ROLLBACK, and on PostgreSQL the BEGIN psycopg sends
before a transaction's first statement."""
import os
from collections.abc import Callable
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy import event

from bench.reference_app import create_app as reference_app
from bench.reference_app import db as reference_db
from meetups import create_app
from meetups.extensions import db as meetups_db

T = TypeVar("T")
Call = tuple  # (method, path, warm-up JSON body, counted JSON body[, headers]); bodies may be None


def per_request(instance, backend: str, env: dict[str, str], calls: dict[str, Call],
                reference: Call | None = None) -> None:
    """Prints, for each call, the statements and round trips one such request takes, with the
    server's settings (`env` on top of the instance's)."""
    with _environment({**instance.env, **env}):
        app = create_app()
        for label, call in calls.items():
            print(f"  {label:<28} {_counted(app, meetups_db, call, backend)}")
        if reference is not None:
            print(f"  {'reference app':<28} {_counted(reference_app(), reference_db, reference, backend)}")


def in_app(instance, env: dict[str, str], work: Callable[[], T]) -> T:
    """`work()` in an app context of a copy of the benchmark's server (e.g. to set data up with
    the services, faster than a command per row)."""
    with _environment({**instance.env, **env}):
        app = create_app()
        with app.app_context():
            try:
                return work()
            finally:
                meetups_db.session.remove()
                meetups_db.engine.dispose()


def _counted(app, db, call: Call, backend: str) -> str:
    method, path, warm, body, *headers = call
    client = app.test_client()
    client.open(path, method=method, json=warm, headers=headers[0] if headers else None)  # caches, pool
    with app.app_context():
        engine = db.engine
    statements, ends, begins = [], [], []
    listeners = [("before_cursor_execute", lambda *args: statements.append(args[2])),
                 ("commit", lambda *args: ends.append("COMMIT")), ("rollback", lambda *args: ends.append("ROLLBACK")),
                 ("begin", lambda *args: begins.append("BEGIN"))]
    for name, listener in listeners:
        event.listen(engine, name, listener)
    try:
        answer = client.open(path, method=method, json=body, headers=headers[0] if headers else None)
    finally:
        for name, listener in listeners:
            event.remove(engine, name, listener)
    # psycopg sends BEGIN before the first statement of a transaction; SQLite's is a statement here.
    implicit = len(begins) if backend == "postgresql" and statements else 0
    if os.environ.get("BENCH_SHOW_STATEMENTS"):
        print("\n".join(f"      {' '.join(statement.split())[:160]}" for statement in statements))
    return (f"{len(statements)} statements, {len(statements) + len(ends) + implicit} round trips "
            f"(with {'BEGIN, ' if implicit else ''}COMMIT/ROLLBACK) -> {answer.status_code}")


@contextmanager
def _environment(variables: dict[str, str]):
    saved = dict(os.environ)
    os.environ.update(variables)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
