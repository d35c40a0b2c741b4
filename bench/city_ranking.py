"""The city ranking at 1 M and 5 M fans over the 2 100-city gazetteer (radius 100 km), each time as
a ratio to a plain SQL `GROUP BY` of the fans by city measured in the same run.

- warm: the ranking asked again in a running process (targets: faster than the GROUP BY, and
  not growing with the number of fans);
- after a restart: memory empty and new database connections, the stored host assignment read
  back (target: within 10x of the GROUP BY);
- cold: nothing stored either, the geometry measured anew (shown, no target).
"""
import argparse
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

from flask_migrate import upgrade
from sqlalchemy import delete, func, select, text

from meetups import create_app
from meetups.cities.models import City
from meetups.cities.services import load_gazetteer
from meetups.extensions import db
from meetups.fans.counts import recount
from meetups.fans.models import Fan
from meetups.planning.models import HostAssignmentSet
from meetups.planning.ranking import RankingParameters, forget_cached_geometry, rank_cities, store_host_geometry

SIZES = (1_000_000, 5_000_000)
ROUNDS = 5
WARM_TARGET = 1.0  # warm ranking time / GROUP BY time must stay below this
RESTART_TARGET = 10.0
BATCH = 50_000


def run(argv: list[str]) -> bool:
    parser = argparse.ArgumentParser(prog="python -m bench city_ranking --")
    parser.add_argument("--sizes", default=",".join(str(size) for size in SIZES),
                        help="fan counts, comma-separated, ascending (default 1000000,5000000)")
    parser.add_argument("--rounds", type=int, default=ROUNDS, help=f"timed rounds, median counts (default {ROUNDS})")
    options = parser.parse_args(argv)
    sizes = sorted(int(size) for size in options.sizes.split(","))
    backends = ["sqlite"] + (["postgresql"] if os.environ.get("MEETUPS_BENCH_POSTGRES_URL") else [])
    if len(backends) == 1:
        print("  (PostgreSQL too when MEETUPS_BENCH_POSTGRES_URL is set; its data is replaced)")
    return all([_backend(backend, sizes, options.rounds) for backend in backends])  # noqa: C419 (each runs)


def _backend(backend: str, sizes: list[int], rounds: int) -> bool:
    with tempfile.TemporaryDirectory(prefix="bench-city-ranking-") as folder:
        url = os.environ["MEETUPS_BENCH_POSTGRES_URL"] if backend == "postgresql" else f"sqlite:///{folder}/bench.sqlite3"
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "INSTANCE_PATH": str(Path(folder) / "instance"),
                          "SECRET_KEY": "bench", "RATELIMIT": "off"})
        with app.app_context():
            if backend == "postgresql":
                db.session.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
                db.session.commit()
            upgrade()
            load_gazetteer("CN")
            cities = db.session.execute(select(City.geonameid, City.population)).all()
            print(f"  {backend}: {len(cities):,} cities; radius 100 km, default parameters")
            results, have, rng = [], 0, random.Random(2011)
            for size in sizes:
                started = time.perf_counter()
                _add_fans(cities, have, size, rng)
                have = size
                print(f"  {size:,} fans stored and counted per city in {time.perf_counter() - started:.0f} s",
                      flush=True)
                results.append((size, _measure(rounds)))
            db.session.remove()
            db.engine.dispose()
    print(f"  {'fans':>10} {'GROUP BY':>10} {'warm':>18} {'after restart':>18} {'cold':>10}")
    met = True
    for size, (group_by, warm, restart, cold) in results:
        print(f"  {size:>10,} {group_by * 1000:>8.1f}ms {warm * 1000:>8.1f}ms {warm / group_by:>6.3f}x "
              f"{restart * 1000:>8.1f}ms {restart / group_by:>6.2f}x {cold * 1000:>8.0f}ms")
        met = met and warm / group_by < WARM_TARGET and restart / group_by <= RESTART_TARGET
    first, last = results[0][1][1], results[-1][1][1]
    print(f"  warm time at {results[-1][0]:,} fans / at {results[0][0]:,}: {last / first:.2f}x "
          f"(targets: warm < {WARM_TARGET:g}x and after a restart <= {RESTART_TARGET:g}x of the GROUP BY)")
    return met


def _add_fans(cities, start: int, end: int, rng: random.Random) -> None:
    """Fans where people are (weighted by population), written straight to the table, then the
    per-city counts as the import leaves them."""
    weights = [population + 1000 for _id, population in cities]
    ids = [geonameid for geonameid, _population in cities]
    connection = db.session.connection()
    now = "2026-11-23 12:00:00"
    insert = text("INSERT INTO fans (handle, email, city_geonameid, created_at, updated_at) "
                  "VALUES (:handle, :email, :city, :now, :now)")
    for first in range(start, end, BATCH):
        last = min(end, first + BATCH)
        picks = rng.choices(ids, weights=weights, k=last - first)
        connection.execute(insert, [{"handle": f"fan{n}", "email": f"fan{n}@example.com", "city": city, "now": now}
                                    for n, city in zip(range(first, last), picks, strict=True)])
    recount(connection)
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as autocommit:
            autocommit.exec_driver_sql("VACUUM ANALYZE fans")


def _measure(rounds: int) -> tuple[float, float, float, float]:
    """Median seconds: the GROUP BY, a warm ranking, the first after a restart, a cold one."""
    parameters = RankingParameters(radius_km=100)
    group_by = select(Fan.city_geonameid, func.count()).group_by(Fan.city_geonameid)
    group_times = []
    for _round in range(rounds):
        started = time.perf_counter()
        db.session.execute(group_by).all()
        group_times.append(time.perf_counter() - started)
    store_host_geometry(parameters)  # as `cities hosts` does after loading the gazetteer
    rank_cities(parameters)
    warm_times = []
    for _round in range(rounds):
        started = time.perf_counter()
        rank_cities(parameters)
        warm_times.append(time.perf_counter() - started)
    restart_times, cold_times = [], []
    for _round in range(rounds):
        _restart()
        started = time.perf_counter()
        rank_cities(parameters)
        restart_times.append(time.perf_counter() - started)
    for _round in range(max(1, rounds // 2)):
        db.session.execute(delete(HostAssignmentSet))
        db.session.commit()
        _restart()
        started = time.perf_counter()
        rank_cities(parameters)
        cold_times.append(time.perf_counter() - started)
    return tuple(statistics.median(times) for times in (group_times, warm_times, restart_times, cold_times))


def _restart() -> None:
    forget_cached_geometry()
    db.session.remove()
    db.engine.dispose()
