"""Consistent backups of the database while the app keeps running."""
import os
import shutil
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path

from sqlalchemy.engine import make_url

from ..errors import DomainError
from ..extensions import db
from .timeutil import utcnow


def backup_database(directory: Path) -> Path:
    """SQLite: the online backup API (a consistent copy even mid-write). PostgreSQL: pg_dump's
    custom format, restored with pg_restore."""
    directory.mkdir(parents=True, exist_ok=True)
    stamp = utcnow().strftime("%Y%m%d-%H%M%S")
    url = db.engine.url
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            raise DomainError("not_a_file", "An in-memory SQLite database cannot be backed up.")
        target = directory / f"meetups-{stamp}.sqlite3"
        with closing(sqlite3.connect(url.database)) as source, closing(sqlite3.connect(target)) as copy:
            source.backup(copy)
        return target
    if url.get_backend_name() == "postgresql":
        pg_dump = shutil.which("pg_dump")
        if pg_dump is None:
            raise DomainError("pg_dump_missing",
                              "pg_dump is not installed (Debian: apt-get install postgresql-client).")
        target = directory / f"meetups-{stamp}.pgdump"
        plain = make_url(url).set(drivername="postgresql")
        environment = {**os.environ, "PGPASSWORD": plain.password or os.environ.get("PGPASSWORD", "")}
        command = [pg_dump, "--format=custom", "--file", str(target),
                   plain.set(password=None).render_as_string(hide_password=False)]
        result = subprocess.run(command, env=environment, capture_output=True, text=True)
        if result.returncode != 0:
            target.unlink(missing_ok=True)
            raise DomainError("backup_failed", f"pg_dump failed: {result.stderr.strip()}")
        return target
    raise DomainError("unsupported", f"No backup method for {url.get_backend_name()}.")
