"""Statements on the hottest paths (the bearer-token lookup of every API call, a scan at the
door), run without SQLAlchemy's execution layer: compiled once per database, executed on the
DBAPI connection of the session's own transaction, with the conversions SQLAlchemy would apply
to each parameter and result column. There the execution layer costs more than the statements
(README, "Benchmarks": checkin).

The statements are still SQLAlchemy Core, one definition for SQLite and PostgreSQL; what is
skipped is per-execution work (cache lookups, result objects, events): a `before_cursor_execute`
listener does not see them.
"""
from dataclasses import dataclass
from typing import Any, Callable

from sqlalchemy.sql import Executable

from ..extensions import db


@dataclass(frozen=True)
class _Plan:
    sql: str
    order: tuple[str, ...] | None  # the parameters' order, for a positional paramstyle (SQLite's "?")
    defaults: dict[str, Any]  # values bound in the statement itself
    to_database: dict[str, Callable]  # per parameter, SQLAlchemy's conversion for this database
    from_database: tuple[tuple[int, Callable], ...]  # per result column, the same the other way


# By statement (kept alive here, so that an id is never reused), database and parameter names.
_plans: dict[tuple[Executable, str, frozenset], _Plan] = {}


def first(statement: Executable, params: dict[str, Any]) -> tuple | None:
    """The statement's first row (or None; None too for a statement without rows) as a plain
    tuple, inside the session's transaction. `statement` is built once (a module constant): its
    plan is kept for as long as the process runs."""
    connection = db.session.connection()
    dialect = connection.dialect
    key = (statement, dialect.name, frozenset(params))
    plan = _plans.get(key) or _plans.setdefault(key, _plan(statement, dialect, params))
    values = {**plan.defaults, **params}
    for name, convert in plan.to_database.items():
        values[name] = convert(values[name])
    cursor = connection.connection.dbapi_connection.cursor()
    try:
        cursor.execute(plan.sql, tuple(values[name] for name in plan.order) if plan.order is not None else values)
        row = cursor.fetchone() if cursor.description is not None else None
    finally:
        cursor.close()
    if row is None or not plan.from_database:
        return row
    row = list(row)
    for index, convert in plan.from_database:
        row[index] = convert(row[index])
    return tuple(row)


def _plan(statement: Executable, dialect, params: dict[str, Any]) -> _Plan:
    compiled = statement.compile(dialect=dialect, column_keys=list(params))
    to_database = {}
    for name, bind in compiled.binds.items():
        convert = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if convert is not None:
            to_database[name] = convert
    from_database = []
    for index, column in enumerate(statement.exported_columns):  # a SELECT's columns, or RETURNING's
        convert = column.type.dialect_impl(dialect).result_processor(dialect, None)
        if convert is not None:
            from_database.append((index, convert))
    order = tuple(compiled.positiontup) if dialect.positional else None
    return _Plan(compiled.string, order, dict(compiled.params), to_database, tuple(from_database))
