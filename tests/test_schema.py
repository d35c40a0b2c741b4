"""The models and the migrations describe the same database: `flask db check` finds nothing to
migrate, on SQLite and PostgreSQL, and every CHECK constraint the models spell (most of them from
the enums they guard, shared.db.one_of) is the one the migrations created."""
import re

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import CheckConstraint, text

from meetups.extensions import db


def test_the_migrations_match_the_models(app, runner):
    with db.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), db.metadata)
    assert differences == []
    assert runner.invoke(args=["db", "check"]).exit_code == 0  # what a developer runs: exits 1 on a difference


def _normalised(sql: str) -> str:
    return re.sub(r"\s+", " ", sql).strip().strip("()").strip()


def test_every_check_constraint_is_the_migrated_one(app):
    if app.backend != "sqlite":  # PostgreSQL rewrites the text it keeps; SQLite keeps it as written
        return
    created = " ".join(_normalised(sql) for (sql,) in db.session.execute(
        text("SELECT sql FROM sqlite_master WHERE type = 'table' AND sql IS NOT NULL")))
    missing = []
    for table in db.metadata.sorted_tables:
        for constraint in table.constraints:
            if isinstance(constraint, CheckConstraint):
                wanted = _normalised(str(constraint.sqltext))
                if wanted not in created:
                    missing.append(f"{table.name}.{constraint.name}: {wanted}")
    assert missing == []
