"""`flask backup`: a copy of the database that can be restored."""
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest


def test_backup_holds_the_data(app, runner, make_user, tmp_path):
    make_user("admin", email="keep@example.com")
    result = runner.invoke(args=["backup", "--to", str(tmp_path / "backups")])
    assert result.exit_code == 0, result.output
    target = Path(result.output.strip())
    assert target.parent == tmp_path / "backups"
    if app.backend == "sqlite":
        with sqlite3.connect(target) as copy:
            assert copy.execute("SELECT email FROM users").fetchall() == [("keep@example.com",)]
    else:
        if shutil.which("pg_restore") is None:
            pytest.skip("pg_restore is not installed")
        listing = subprocess.run(["pg_restore", "--list", str(target)], capture_output=True, text=True, check=True)
        assert "TABLE DATA public users" in listing.stdout


def test_backup_defaults_to_the_instance_folder(app, runner):
    result = runner.invoke(args=["backup"])
    assert result.exit_code == 0, result.output
    assert Path(result.output.strip()).parent == Path(app.instance_path) / "backups"
