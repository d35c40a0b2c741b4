"""Check-in at the door: gunicorn with several workers, a meetup with 50 confirmed registrations,
concurrent door devices scanning valid tickets (each ticket's first scan, then repeats, every scan
with its own nonce, as the door screen sends them), against GET /api/health of the same server."""
import argparse
import http.client
import os
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

from bench._cpu import Meter, ceiling
from bench.registration_rush import Load
from harness.servers import connect, gunicorn, live_instance, request

TICKETS = 50
ROUNDS = 10
SCANS_PER_TICKET = 4  # per round: one that admits, three repeats (a second phone, a fan scanning again)
CLIENTS = 4  # door phones scanning without pause, one per worker: more than any real door
WORKERS = 4
TARGET_RATIO = 0.5  # check-ins/s at least this share of the trivial endpoint's requests/s
TARGET_P99_MS = 20


def run(argv: list[str]) -> bool:
    parser = argparse.ArgumentParser(prog="python -m bench checkin --")
    parser.add_argument("--rounds", type=int, default=ROUNDS,
                        help=f"rounds of {TICKETS} first scans and their repeats (default {ROUNDS})")
    parser.add_argument("--clients", type=int, default=CLIENTS, help=f"concurrent door devices (default {CLIENTS})")
    parser.add_argument("--workers", type=int, default=WORKERS, help=f"gunicorn workers (default {WORKERS})")
    options = parser.parse_args(argv)

    postgres_url = os.environ.get("MEETUPS_BENCH_POSTGRES_URL")
    if not postgres_url:
        print("  (PostgreSQL too when MEETUPS_BENCH_POSTGRES_URL is set)")
    backends = ["sqlite", "postgresql"] if postgres_url else ["sqlite"]
    # A list, not a generator: every backend runs even when one misses its target.
    return all([_door(backend, options, postgres_url) for backend in backends])  # noqa: C419


def _door(backend: str, options, postgres_url: str | None) -> bool:
    print(f"  {backend}: gunicorn {options.workers} workers, {options.clients} door devices, "
          f"{TICKETS} tickets, {options.rounds} rounds of first scans and {SCANS_PER_TICKET - 1} repeats each",
          flush=True)
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=f"bench-checkin-{backend}-")))
        instance = stack.enter_context(live_instance(backend, folder, postgres_url))
        instance.prepare()
        meetup_id = instance.create_meetup(capacity=TICKETS, title="Door benchmark", days_from_now=1)
        token = instance.staff_token()
        url = stack.enter_context(gunicorn(instance, workers=options.workers))
        codes = _tickets(url, meetup_id)

        meter = Meter(database=backend == "postgresql")
        health_calls = [("GET", "/api/health", None)] * TICKETS * SCANS_PER_TICKET * 2
        _timed(url, options.clients, health_calls[:options.clients * 4])  # warm every worker up
        health_runs = [meter.measure(lambda: _timed(url, options.clients, health_calls))]
        path = f"/api/meetups/{meetup_id}/checkins"
        rounds = []
        for number in range(options.rounds):
            _forget_check_ins(instance, meetup_id)  # untimed: every round starts with nobody inside
            scans = [("POST", path, {"code": code, "nonce": f"r{number}-s{scan}-t{ticket}", "device": "bench"})
                     for scan in range(SCANS_PER_TICKET) for ticket, code in enumerate(codes)]
            rounds.append(meter.measure(lambda scans=scans: _timed(url, options.clients, scans, token)))
        health_runs.append(meter.measure(lambda: _timed(url, options.clients, health_calls)))
        inside = instance.scalar("SELECT count(*) FROM checkins WHERE meetup_id = :m", m=meetup_id)

    health = max(health_runs, key=lambda load: load.rate)  # the faster run counts (the harder target)
    door = Load([answer for load in rounds for answer in load.answers],
                [latency for load in rounds for latency in load.latencies], sum(load.seconds for load in rounds),
                sum((load.cpu for load in rounds[1:]), rounds[0].cpu))
    results = [body.get("result") for status, body in door.answers if status == 200]
    admitted, repeated = results.count("admitted"), results.count("already_checked_in")
    ratio = door.rate / health.rate
    p99 = door.percentile(0.99)
    print(health.line("GET /api/health (best of 2 runs):", 200))
    print(door.line("POST …/checkins:", 200))
    print(f"  answers: {admitted} admitted ({TICKETS} × {options.rounds} expected), {repeated} already checked in; "
          f"database after the last round: {inside} checked in")
    print(health.cpu.line("GET /api/health:"))
    print(door.cpu.line("POST …/checkins:"))
    print(f"  ratio check-ins / health: {ratio:.2f} (target ≥ {TARGET_RATIO:.2f}); "
          f"p99 {p99:.1f} ms (target < {TARGET_P99_MS} ms)")
    print(ceiling(health.cpu, door.cpu), flush=True)
    errors = door.errors(200) + health.errors(200)
    if errors:
        print(f"  first errors: {[answer for answer in door.answers if answer[0] != 200][:3]}")
    return (admitted == TICKETS * options.rounds and inside == TICKETS and errors == 0
            and ratio >= TARGET_RATIO and p99 < TARGET_P99_MS)


def _tickets(url: str, meetup_id: int) -> list[str]:
    """50 fans register through the API: 50 confirmed seats, 50 ticket codes."""
    codes = []
    for number in range(TICKETS):
        status, body = request("POST", url, f"/api/meetups/{meetup_id}/registrations",
                               {"name": f"Fan {number}", "email": f"door{number}@example.com"})
        if status != 201 or body.get("status") != "confirmed":
            raise RuntimeError(f"registration {number} failed: {status} {body}")
        codes.append(body["ticket_code"])
    return codes


def _forget_check_ins(instance, meetup_id: int) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(instance.database_url)
    try:
        with engine.begin() as connection:
            for table in ("checkins", "checkin_events", "checkin_nonces"):
                connection.execute(text(f"DELETE FROM {table} WHERE meetup_id = :m"), {"m": meetup_id})
    finally:
        engine.dispose()


def _timed(url: str, clients: int, calls: list, token: str | None = None) -> Load:
    """The calls through a pool of `clients` threads, each keeping one connection (kept alive
    where the server allows): every answer and its latency, and the wall time of the whole."""
    local, opened = threading.local(), []

    def one(call) -> tuple[tuple, float]:
        if getattr(local, "connection", None) is None:
            local.connection = connect(url)
            opened.append(local.connection)
        method, path, body = call
        started = time.perf_counter()
        try:
            answer = request(method, url, path, body, connection=local.connection, token=token)
        except (OSError, http.client.HTTPException, ValueError) as error:
            answer = (type(error).__name__, {})
            local.connection.close()
        return answer, time.perf_counter() - started

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        done = list(pool.map(one, calls))
    seconds = time.perf_counter() - started
    for connection in opened:
        connection.close()
    return Load([answer for answer, _latency in done], [latency for _answer, latency in done], seconds)
