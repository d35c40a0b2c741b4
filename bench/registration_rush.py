"""Registration against the yardstick: gunicorn with 4 workers, production settings (the rate
limiter on, its counts in Redis; MEETUPS_MAIL_DELIVERY=cron, so the emails are sent by `flask
mail deliver` after each load, its CPU reported per email), wrk as the client. Two loads,
each in rounds interleaved with the reference app's INSERT + COMMIT (bench/reference_app.py):
a rush (1 000 attempts for a fresh 50-seat meetup) and a steady stream of new fans into a meetup
whose waiting list is already long."""
import resource
import subprocess
from contextlib import ExitStack

from bench import _wrk
from bench._statements import per_request
from bench.reference_app import create_table
from harness.servers import gunicorn

ATTEMPTS = 1_000
CAPACITY = 50
CONNECTIONS = 32
WORKERS = 4
PREFILLED = 2_000  # the long waiting list of the stream's meetup
STREAM_SECONDS = 5
TARGET_RATIO = 0.6
TARGET_P99_MS = 100
CPU_BUDGET_MS = {"sqlite": 1.0, "postgresql": 1.5}  # server + database, per registration
POSTGRES_BUDGET_MS = 0.35  # the PostgreSQL server's CPU per write
REDIS_DB = 15
# Production's limiter, doing its work (a Redis round trip per registration) without refusing the
# bench, whose every request comes from one address; the emails queued for `flask mail deliver`.
SERVER_ENV = {"MEETUPS_RATELIMIT": "1000000 per minute",
              "MEETUPS_RATELIMIT_STORAGE_URL": f"redis://127.0.0.1:6379/{REDIS_DB}",
              "MEETUPS_MAIL_DELIVERY": "cron", "MEETUPS_ENV": "production"}
FAN_BODY = """'{"name": "Fan ' .. n .. '", "email": "' .. round .. '-' .. n .. '@example.com"}'"""


def run(argv: list[str]) -> bool:
    return _wrk.run_on_backends("registration_rush", argv, _registration, WORKERS)


def _registration(backend: str, options, postgres_url: str | None, verdicts: _wrk.Verdicts) -> None:
    print(f"  {backend}: gunicorn {options.workers} sync workers, rate limiter on (Redis), wrk", flush=True)
    database = backend == "postgresql"
    with ExitStack() as stack:
        instance = stack.enter_context(_wrk.prepared_instance("registration", backend, postgres_url))
        create_table(instance.database_url)
        subprocess.run(["redis-cli", "-n", str(REDIS_DB), "flushdb"], capture_output=True, check=False)
        mail = _Mail(instance)
        url = stack.enter_context(gunicorn(instance, workers=options.workers, env=SERVER_ENV))
        reference_url = stack.enter_context(gunicorn(instance, workers=options.workers, env=SERVER_ENV,
                                                     app="bench.reference_app:create_app()"))
        reference = _wrk.Endpoint("reference app", "/entries", FAN_BODY)

        def reference_load(name: str, limit: int = ATTEMPTS, seconds: float = 60):
            return _wrk.run(reference_url, reference, CONNECTIONS, name, limit, seconds, database)

        def rush(name: str):
            meetup_id = instance.create_meetup(capacity=CAPACITY, title=f"Rush {name}")
            endpoint = _wrk.Endpoint("rush", f"/api/meetups/{meetup_id}/registrations", FAN_BODY)
            load = _wrk.run(url, endpoint, CONNECTIONS, name, ATTEMPTS, 60, database)
            mail.deliver()
            rushes.append(meetup_id)
            return load

        rushes: list[int] = []
        print("  warm-up (untimed): one rush and as many reference writes", flush=True)
        rush("warm")
        reference_load("warm")
        references, projects = _wrk.interleaved(lambda number: reference_load(f"ref{number}"),
                                                lambda number: rush(f"rush{number}"), options.rounds)
        best_rush = max(load.rate for load in projects)
        print(f"  rush: {ATTEMPTS:,} attempts for {CAPACITY} seats, {CONNECTIONS} connections")
        _wrk.report("registration rush", references, projects, verdicts, TARGET_RATIO, TARGET_P99_MS,
                    CPU_BUDGET_MS[backend], POSTGRES_BUDGET_MS if database else None)
        confirmed = [_count(instance, meetup_id, "confirmed") for meetup_id in rushes]
        verdicts.judge("rush: exactly the capacity confirmed", set(confirmed) == {CAPACITY},
                       f"confirmed per rush {confirmed}")
        off = instance.seat_counters_off()
        verdicts.judge("rush: the meetups' seat counters equal a recount", off == [],
                       f"{len(off)} meetups differ {off}" if off else "all equal")

        long_line = instance.create_meetup(capacity=CAPACITY, title="A long waiting list")
        stream = _wrk.Endpoint("stream", f"/api/meetups/{long_line}/registrations", FAN_BODY)
        _wrk.run(url, stream, CONNECTIONS, "prefill", PREFILLED, 120, database)
        mail.deliver()
        print(f"  stream: new fans for {STREAM_SECONDS} s into a meetup with {PREFILLED:,} on its waiting list, "
              f"{CONNECTIONS} connections", flush=True)

        def stream_load(name: str):
            load = _wrk.run(url, stream, CONNECTIONS, name, 0, STREAM_SECONDS, database)
            mail.deliver()
            return load

        references, projects = _wrk.interleaved(
            lambda number: reference_load(f"sref{number}", 0, STREAM_SECONDS),
            lambda number: stream_load(f"stream{number}"),
            options.rounds)
        _wrk.report("waiting-list stream", references, projects, verdicts, TARGET_RATIO, TARGET_P99_MS,
                    CPU_BUDGET_MS[backend], POSTGRES_BUDGET_MS if database else None)
        print(f"  the stream's meetup: {_count(instance, long_line, 'waitlisted'):,} on the waiting list")
        if database:
            best_stream = max(load.rate for load in projects)
            print(f"  absolute, through {options.workers} workers on PostgreSQL: the rush {best_rush:,.0f} "
                  f"registrations/s ({best_rush * 60:,.0f} a minute), the stream {best_stream:,.0f}/s "
                  f"({best_stream * 60:,.0f} a minute); pretix documents a ceiling of 300–400 tickets a minute "
                  f"per event")
        mail.report(verdicts)
        fan, another = {"name": "Fan", "email": "warm@example.com"}, {"name": "Fan", "email": "counted@example.com"}
        per_request(instance, backend, SERVER_ENV,
                    {"registration": ("POST", f"/api/meetups/{long_line}/registrations", fan, another),
                     "home page": ("GET", "/", None, None)},
                    reference=("POST", "/entries", fan, another))


def _count(instance, meetup_id: int, status: str) -> int:
    return instance.scalar("SELECT count(*) FROM registrations WHERE meetup_id = :m AND status = :s",
                           m=meetup_id, s=status)


class _Mail:
    """`flask mail deliver` after each load (untimed, so that one load's emails are not the next
    one's work): the emails it sent and the CPU seconds it took, process start included."""

    def __init__(self, instance):
        self.instance, self.sent, self.cpu = instance, 0, 0.0

    def deliver(self) -> None:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        line = self.instance.flask("mail", "deliver").strip()
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.sent += int(line.split()[1].rstrip(","))
        self.cpu += after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime

    def report(self, verdicts: _wrk.Verdicts) -> None:
        registered = self.instance.scalar("SELECT count(*) FROM registrations")
        left = self.instance.scalar("SELECT count(*) FROM mail_queue WHERE sent_at IS NULL")
        verdicts.judge("one email per registration, all sent", self.sent == registered and not left,
                       f"{self.sent:,} sent for {registered:,} registrations, {left} left")
        print(f"  mail delivery (`flask mail deliver`, outside the requests, into the outbox): "
              f"{self.cpu / max(self.sent, 1) * 1000:.2f} ms CPU per email")
