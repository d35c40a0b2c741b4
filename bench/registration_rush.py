"""A registration rush: gunicorn with several workers, 1 000 registration attempts from concurrent
clients for a fresh 50-seat meetup, against the same load on GET /api/health of the same server."""
import argparse
import http.client
import itertools
import os
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path
from typing import NamedTuple

from bench._cpu import Budget, Meter, ceiling
from harness.servers import connect, gunicorn, postgres_instance, request, sqlite_instance

ATTEMPTS = 1_000
CLIENTS = 32
WORKERS = 4
CAPACITY = 50
TARGET_RATIO = 0.5  # registrations/s at least this share of the trivial endpoint's requests/s


class Load(NamedTuple):
    answers: list[tuple[int | str, dict]]
    latencies: list[float]
    seconds: float
    cpu: Budget | None = None  # where the CPU went while it ran (bench._cpu)

    @property
    def rate(self) -> float:
        return len(self.answers) / self.seconds

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000

    def errors(self, expected: int) -> int:
        return sum(1 for status, _body in self.answers if status != expected)

    def line(self, label: str, expected: int) -> str:
        return (f"  {label:<34} {len(self.answers):>5,} requests in {self.seconds:5.2f} s = {self.rate:7.1f} req/s, "
                f"p50 {self.percentile(0.5):6.1f} ms, p99 {self.percentile(0.99):6.1f} ms, "
                f"{self.errors(expected)} errors")


def run(argv: list[str]) -> bool:
    parser = argparse.ArgumentParser(prog="python -m bench registration_rush --")
    parser.add_argument("--attempts", type=int, default=ATTEMPTS, help=f"requests per load (default {ATTEMPTS:,})")
    parser.add_argument("--clients", type=int, default=CLIENTS, help=f"concurrent clients (default {CLIENTS})")
    parser.add_argument("--workers", type=int, default=WORKERS, help=f"gunicorn workers (default {WORKERS})")
    parser.add_argument("--worker-class", default="sync", help="gunicorn worker class (default sync)")
    parser.add_argument("--threads", type=int, default=1, help="threads per gthread worker (default 1)")
    parser.add_argument("--mail", choices=("background", "inline"), default="background",
                        help="MEETUPS_MAIL_DELIVERY of the server (default background, as in production)")
    options = parser.parse_args(argv)

    backends = ["sqlite"] + (["postgresql"] if os.environ.get("MEETUPS_BENCH_POSTGRES_URL") else [])
    if len(backends) == 1:
        print("  (PostgreSQL too when MEETUPS_BENCH_POSTGRES_URL is set)")
    return all([_rush(backend, options) for backend in backends])  # noqa: C419 (a list: every backend runs)


def _rush(backend: str, options) -> bool:
    print(f"  {backend}: gunicorn {options.workers} {options.worker_class} workers, {options.clients} clients, "
          f"a {CAPACITY}-seat meetup", flush=True)
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=f"bench-rush-{backend}-")))
        if backend == "sqlite":
            instance = stack.enter_context(sqlite_instance(folder))
        else:
            instance = stack.enter_context(postgres_instance(os.environ["MEETUPS_BENCH_POSTGRES_URL"], folder))
        instance.prepare()
        meetup_id = instance.create_meetup(capacity=CAPACITY, title="Registration rush")
        url = stack.enter_context(gunicorn(instance, workers=options.workers, worker_class=options.worker_class,
                                           threads=options.threads, env={"MEETUPS_MAIL_DELIVERY": options.mail}))
        meter = Meter(database=backend == "postgresql")
        health_calls = [("GET", "/api/health", None)] * options.attempts
        _load(url, options.clients, health_calls[:options.clients])  # warm every connection up
        # The trivial endpoint before and after the rush; the faster run counts (the harder target).
        health_runs = [meter.measure(lambda: _load(url, options.clients, health_calls))]
        path = f"/api/meetups/{meetup_id}/registrations"
        fans = [{"name": f"Fan {number}", "email": f"rush{number}@example.com"} for number in range(options.attempts)]
        rush = meter.measure(lambda: _load(url, options.clients, [("POST", path, fan) for fan in fans]))
        # The emails' work moved out of the answers, it did not vanish: the time until the last
        # one is sent counts from the end of the rush.
        drain = _drain(instance, len(fans), rush_ended=time.perf_counter())
        health_runs.append(meter.measure(lambda: _load(url, options.clients, health_calls)))
        stored = {status: instance.scalar("SELECT count(*) FROM registrations WHERE meetup_id = :m AND status = :s",
                                          m=meetup_id, s=status) for status in ("confirmed", "waitlisted")}

    health = max(health_runs, key=lambda load: load.rate)
    answered = [body.get("status") for status, body in rush.answers if status == 201]
    confirmed, waitlisted = answered.count("confirmed"), answered.count("waitlisted")
    ratio = rush.rate / health.rate
    print(health.line("GET /api/health (best of 2 runs):", 200))
    print(rush.line("POST …/registrations:", 201))
    print(f"  answers: {confirmed} confirmed, {waitlisted} waitlisted; "
          f"database: {stored['confirmed']} confirmed, {stored['waitlisted']} waitlisted")
    print(f"  emails: {drain.sent:,} sent ({drain.files:,} in the outbox) {drain.seconds:.2f} s after the rush's "
          f"last answer (delivery {options.mail}); registrations plus their emails: "
          f"{len(rush.answers) / (rush.seconds + drain.seconds):.1f}/s")
    print(health.cpu.line("GET /api/health:"))
    print(rush.cpu.line("POST …/registrations:"))
    print(f"  ratio registrations / health: {ratio:.2f} (target ≥ {TARGET_RATIO:.2f})")
    print(ceiling(health.cpu, rush.cpu), flush=True)
    errors = rush.errors(201) + health.errors(200)
    if errors:
        sample = [answer for answer in rush.answers if answer[0] != 201][:3]
        print(f"  first errors: {sample}")
    if drain.sent != len(rush.answers) or drain.files != len(rush.answers):
        print(f"  expected one email per registration: {len(rush.answers):,}")
    return (confirmed == stored["confirmed"] == CAPACITY and stored["waitlisted"] == len(rush.answers) - CAPACITY
            and errors == 0 and ratio >= TARGET_RATIO and drain.sent == drain.files == len(rush.answers))


class Drain(NamedTuple):
    sent: int
    files: int
    seconds: float


def _drain(instance, expected: int, rush_ended: float, within: float = 120) -> Drain:
    """Waits until the mail queue holds `expected` emails and all are sent (or `within` seconds)."""
    query = "SELECT count(*) FROM mail_queue WHERE sent_at IS {} NULL"
    while True:
        sent, waiting = instance.scalar(query.format("NOT")), instance.scalar(query.format(""))
        if (sent >= expected and not waiting) or time.perf_counter() - rush_ended > within:
            seconds = time.perf_counter() - rush_ended
            return Drain(sent, len(list(instance.outbox.glob("*.eml"))), seconds)
        time.sleep(0.02)


def _load(url: str, clients: int, calls: list[tuple[str, str, dict | None]]) -> Load:
    """`clients` threads, each with its own connection (kept alive where the server allows),
    take the calls in turn until none is left."""
    answers: list = [None] * len(calls)
    latencies: list = [0.0] * len(calls)
    numbers = itertools.count()
    taking = threading.Lock()

    def client() -> None:
        connection = connect(url)
        try:
            while True:
                with taking:
                    number = next(numbers)
                if number >= len(calls):
                    return
                method, path, body = calls[number]
                started = time.perf_counter()
                try:
                    answers[number] = request(method, url, path, body, connection=connection)
                except (OSError, http.client.HTTPException, ValueError) as error:
                    answers[number] = (type(error).__name__, {})
                    connection.close()
                latencies[number] = time.perf_counter() - started
        finally:
            connection.close()

    threads = [threading.Thread(target=client) for _number in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Load(answers, latencies, time.perf_counter() - started)
