"""`flask fans import` of a million-row forum export, the whole command as a user runs it (timed
from outside: process start, the app, the gazetteer's names and the import), against a raw
sqlite3 executemany of the same rows into a file database; and the command's peak memory at a
tenth and at the full size (streaming: it must not grow)."""
import argparse
import contextlib
import csv
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from itertools import islice
from pathlib import Path
from typing import NamedTuple

from flask_migrate import upgrade
from sqlalchemy import text

from meetups import create_app
from meetups.cities.services import load_gazetteer
from meetups.extensions import db

ROWS = 1_000_000
TARGET_RATIO = 2.5  # the import may take at most this many times as long as the raw insert
ROUNDS = 2
COORDINATE_SHARE = 0.05  # forum profiles that give a position instead of a city
PROJECT_ROOT = Path(__file__).resolve().parent.parent
FAN_COLUMNS = ("handle", "email", "city_geonameid", "latitude", "longitude", "level", "joined_at",
               "created_at", "updated_at")
MAIL_DOMAINS = ("qq.com", "163.com", "126.com", "sina.com", "gmail.com", "outlook.com", "foxmail.com")


class GazetteerCity(NamedTuple):
    name: str
    name_zh: str | None
    province: str | None
    province_zh: str | None
    latitude: float
    longitude: float
    population: int


class ImportRun(NamedTuple):
    rows: int
    seconds: float
    summary: str
    peak_rss_kib: int


def run(argv: list[str]) -> bool:
    parser = argparse.ArgumentParser(prog="python -m bench import_fans --")
    parser.add_argument("--rows", type=int, default=ROWS, help=f"rows in the big file (default {ROWS:,})")
    parser.add_argument("--rounds", type=int, default=ROUNDS, help=f"timed rounds, best counts (default {ROUNDS})")
    options = parser.parse_args(argv)
    small_rows = options.rows // 10

    with tempfile.TemporaryDirectory(prefix="bench-import-fans-") as folder:
        work = Path(folder)
        pristine = work / "pristine.sqlite3"
        _time(f"fresh instance: migrate, load the CN gazetteer into {pristine.name}", _fresh_database, pristine, work)
        cities = _gazetteer(pristine)
        big, small = work / "fans-big.csv", work / "fans-small.csv"
        _time(f"generate {options.rows:,} fans from {len(cities)} cities into {big.name}",
              _write_fans_csv, big, options.rows, cities)
        _write_prefix(big, small, small_rows)
        print(f"  {big.name}: {big.stat().st_size / 2**20:.0f} MiB; {small.name}: its first {small_rows:,} rows")

        small_run = _import_in_subprocess(small, small_rows, pristine, work / "small.sqlite3")
        schema, stored = _fans_schema(pristine), None
        imports, raw_seconds = [], []
        # Rounds alternate the two, so a slow spell of the machine does not favour either.
        for number in range(1, options.rounds + 1):
            imports.append(_import_in_subprocess(big, options.rows, pristine, work / "big.sqlite3"))
            if stored is None:  # the raw insert gets exactly what the import stored, in storage form
                stored = _stored_rows(work / "big.sqlite3")
            raw_seconds.append(_raw_insert(stored, schema, work / "raw.sqlite3"))
            print(f"  round {number}: import {imports[-1].seconds:.2f} s, raw insert {raw_seconds[-1]:.2f} s",
                  flush=True)
            _remove_database(work / "big.sqlite3")
            _remove_database(work / "raw.sqlite3")
        del stored

    best_import, best_raw = min(run.seconds for run in imports), min(raw_seconds)
    rows = imports[0].rows
    ratio = best_import / best_raw
    print(f"  flask fans import (whole command):    {rows:>9,} rows in {best_import:6.2f} s = "
          f"{rows / best_import:>9,.0f} rows/s   [{imports[0].summary}]")
    print(f"  raw sqlite3 executemany INSERT:       {rows:>9,} rows in {best_raw:6.2f} s = "
          f"{rows / best_raw:>9,.0f} rows/s")
    print(f"  ratio import / raw insert (best of {options.rounds}): {ratio:.2f}x (target ≤ {TARGET_RATIO}x)")
    big_peak = max(run.peak_rss_kib for run in imports)
    for measured_rows, peak in ((small_run.rows, small_run.peak_rss_kib), (rows, big_peak)):
        print(f"  peak RSS of the command importing {measured_rows:>9,} rows: {peak / 1024:6.1f} MiB")
    growth = (big_peak - small_run.peak_rss_kib) / 1024
    print(f"  memory growth from {small_run.rows:,} to {rows:,} rows: {growth:+.1f} MiB")
    return ratio <= TARGET_RATIO


def _remove_database(database: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)


def _time(label: str, step, *arguments) -> None:
    started = time.perf_counter()
    step(*arguments)
    print(f"  {label}: {time.perf_counter() - started:.1f} s", flush=True)


def _app_config(database: Path, instance: Path) -> dict:
    return {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}", "INSTANCE_PATH": str(instance),
            "SECRET_KEY": "bench", "RATELIMIT": "off"}


def _fresh_database(database: Path, work: Path) -> None:
    """Migrated and with the gazetteer, as `make run` leaves it, before any fan."""
    app = create_app(_app_config(database, work / "instance"))
    with app.app_context():
        upgrade()
        load_gazetteer("CN")
        db.session.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))  # one self-contained file to copy
        db.session.remove()
        db.engine.dispose()


def _query(database: Path, sql: str) -> list[tuple]:
    with contextlib.closing(sqlite3.connect(database)) as connection:
        return connection.execute(sql).fetchall()


def _gazetteer(database: Path) -> list[GazetteerCity]:
    sql = "SELECT name, name_zh, province, province_zh, latitude, longitude, population FROM cities"
    return [GazetteerCity(*row) for row in _query(database, sql)]


def _write_fans_csv(path: Path, rows: int, cities: list[GazetteerCity]) -> None:
    """A forum export: fans where people are, named in English or Chinese, some with a province,
    one in twenty with a position instead of a city."""
    rng = random.Random(2011)
    picks = rng.choices(cities, weights=[city.population + 1000 for city in cities], k=rows)
    first_day = date(2010, 8, 16)
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["handle", "email", "city", "province", "lat", "lon", "level", "joined_at"])
        for number, city in enumerate(picks, start=1):
            handle = f"米粉{number}" if number % 3 == 0 else f"mifan_{number}"
            email = f"fan{number:07d}@{MAIL_DOMAINS[number % len(MAIL_DOMAINS)]}"
            level = min(10, int(rng.expovariate(0.5)) + 1)
            joined = (first_day + timedelta(days=rng.randrange(0, 4000))).isoformat()
            if rng.random() < COORDINATE_SHARE:
                lat = round(city.latitude + rng.uniform(-0.1, 0.1), 5)
                lon = round(city.longitude + rng.uniform(-0.1, 0.1), 5)
                writer.writerow([handle, email, "", "", lat, lon, level, joined])
                continue
            spelling = rng.random()
            if city.name_zh and spelling < 0.25:
                typed = city.name_zh
            elif city.name_zh and spelling < 0.35:
                typed = city.name_zh.removesuffix("市") + "市"
            elif spelling < 0.45:
                typed = city.name.lower()
            else:
                typed = city.name
            province = ""
            if rng.random() < 0.2:
                province = (city.province_zh if spelling < 0.35 else city.province) or ""
            writer.writerow([handle, email, typed, province, "", "", level, joined])


def _write_prefix(source: Path, target: Path, rows: int) -> None:
    with source.open("rb") as lines, target.open("wb") as out:
        out.writelines(islice(lines, rows + 1))  # + the header


def _import_in_subprocess(csv_path: Path, rows: int, pristine: Path, database: Path) -> ImportRun:
    """`flask --app app fans import FILE.csv` in a process of its own, timed from its start to
    its exit; its peak RSS read from /proc while it runs (VmHWM, the high-water mark, starts
    afresh at exec: getrusage's ru_maxrss would also count this process's memory at the fork)."""
    _remove_database(database)
    shutil.copy(pristine, database)
    env = {**os.environ, "MEETUPS_DATABASE_URL": f"sqlite:///{database}",
           "MEETUPS_INSTANCE_PATH": str(database.parent / "instance"), "MEETUPS_RATELIMIT": "off"}
    log = database.with_suffix(".log")  # a file, not a pipe: the progress bar would fill a pipe and stall
    with log.open("w") as out:
        started = time.perf_counter()
        command = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "fans", "import", str(csv_path)],
                                   cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        peak = 0
        while command.poll() is None:
            peak = max(peak, _memory_kib(command.pid, "VmHWM"))
            time.sleep(0.01)
        seconds = time.perf_counter() - started
    output = log.read_text()
    if command.returncode != 0:
        sys.stderr.write(output)
        raise SystemExit(f"the import of {csv_path.name} failed (exit {command.returncode})")
    summary = next(line for line in reversed(output.replace("\r", "\n").splitlines()) if line.strip())
    return ImportRun(rows, seconds, summary, peak)


def _memory_kib(pid: int, field: str) -> int:
    """A field of a process's /proc status in KiB (VmHWM: its peak RSS); 0 once it has exited."""
    try:
        with open(f"/proc/{pid}/status") as status:
            return next((int(line.split()[1]) for line in status if line.startswith(f"{field}:")), 0)
    except (FileNotFoundError, ProcessLookupError):
        return 0


def _stored_rows(database: Path) -> list[tuple]:
    return _query(database, f"SELECT {', '.join(FAN_COLUMNS)} FROM fans ORDER BY id")


def _fans_schema(database: Path) -> list[str]:
    """The `fans` table exactly as migrated: its columns, unique email and city index."""
    sql = "SELECT sql FROM sqlite_master WHERE tbl_name = 'fans' AND sql IS NOT NULL ORDER BY type DESC"
    return [statement for (statement,) in _query(database, sql)]


def _raw_insert(rows: list[tuple], schema: list[str], database: Path) -> float:
    """The floor: one executemany of ready values in one transaction, with the app's journal settings."""
    _remove_database(database)
    insert = f"INSERT INTO fans ({', '.join(FAN_COLUMNS)}) VALUES ({', '.join('?' * len(FAN_COLUMNS))})"
    with contextlib.closing(sqlite3.connect(database, isolation_level=None)) as connection:
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = NORMAL")
        for statement in schema:
            connection.execute(statement)
        started = time.perf_counter()
        connection.execute("BEGIN")
        connection.executemany(insert, rows)
        connection.execute("COMMIT")
        return time.perf_counter() - started

