"""Live multi-process servers for the concurrency tests and the benchmarks: a fresh instance
folder and database, prepared through the real command line, served by gunicorn."""
import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Connection, create_engine, make_url, select, text

from meetups.events.models import SEAT_COUNTERS, Meetup
from meetups.registration.seats import COUNTED

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Instance:
    """An instance folder and its database, as `MEETUPS_*` variables for the commands and the server."""

    folder: Path
    database_url: str

    @property
    def env(self) -> dict[str, str]:
        # The developer's own MEETUPS_* settings (SMTP, a database…) must not leak in.
        inherited = {name: value for name, value in os.environ.items() if not name.startswith("MEETUPS_")}
        return {**inherited, "MEETUPS_DATABASE_URL": self.database_url, "MEETUPS_INSTANCE_PATH": str(self.folder),
                "MEETUPS_SECRET_KEY": "live-server-secret", "MEETUPS_RATELIMIT": "off"}

    @property
    def outbox(self) -> Path:
        return self.folder / "outbox"

    def flask(self, *args: str) -> str:
        """`flask --app app ARGS…`; its standard output."""
        done = subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], cwd=PROJECT_ROOT, env=self.env,
                              capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"flask {' '.join(args)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
        return done.stdout

    def prepare(self) -> None:
        """Migrated, with the Chinese gazetteer, as `make run` leaves a new installation."""
        self.flask("db", "upgrade")
        self.flask("cities", "load")

    def create_meetup(self, capacity: int = 30, city: str = "Chengdu", title: str = "", days_from_now: int = 30) -> int:
        starts = (datetime.now() + timedelta(days=days_from_now)).replace(hour=19, minute=0, second=0, microsecond=0)
        args = ["meetups", "create", "--city", city, "--starts-at", starts.isoformat(), "--capacity", str(capacity),
                "--publish", "--json"]
        if title:
            args += ["--title", title]
        return json.loads(self.flask(*args))["id"]

    def staff_token(self, email: str = "door@example.com", role: str = "staff") -> str:
        """A new account with this role and a bearer token for it."""
        self.flask("users", "create", email, "--role", role, "--password", "door-password-1")
        return self.flask("users", "token", email).strip()

    def seat_counters_off(self) -> list[tuple]:
        engine = create_engine(self.database_url)
        try:
            with engine.connect() as connection:
                return seat_counters_off(connection)
        finally:
            engine.dispose()

    def scalar(self, sql: str, **params):
        engine = create_engine(self.database_url)
        try:
            with engine.connect() as connection:
                return connection.execute(text(sql), params).scalar()
        finally:
            engine.dispose()


def seat_counters_off(connection: Connection) -> list[tuple]:
    """Meetups whose kept seat counts (events.models.SEAT_COUNTERS) differ from a recount of the
    rows they count: (id, kept, counted) for each; empty when all is well."""
    meetups = Meetup.__table__.c
    kept = {row[0]: tuple(row[1:]) for row in connection.execute(
        select(meetups.id, *(meetups[name] for name in SEAT_COUNTERS)))}
    counted = {row[0]: tuple(row[1:]) for row in connection.execute(COUNTED)}
    return [(number, kept[number], counted[number]) for number in sorted(kept) if kept[number] != counted[number]]


@contextlib.contextmanager
def sqlite_instance(folder: Path):
    folder.mkdir(parents=True, exist_ok=True)
    yield Instance(folder, f"sqlite:///{folder / 'meetups.sqlite3'}")


@contextlib.contextmanager
def postgres_instance(server_url: str, folder: Path):
    """A database of its own on the server of `server_url`, named after that URL's database and
    dropped afterwards (the app fixture empties its database between tests, under our feet)."""
    url = make_url(server_url)
    name = f"{url.database}_live_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        folder.mkdir(parents=True, exist_ok=True)
        yield Instance(folder, url.set(database=name).render_as_string(hide_password=False))
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextlib.contextmanager
def live_instance(backend: str, folder: Path, postgres_url: str | None = None):
    """`sqlite_instance` or, for backend "postgresql", `postgres_instance` on `postgres_url`'s server."""
    if backend == "sqlite":
        with sqlite_instance(folder) as instance:
            yield instance
    else:
        with postgres_instance(postgres_url, folder) as instance:
            yield instance


@contextlib.contextmanager
def gunicorn(instance: Instance, workers: int = 4, worker_class: str = "sync", threads: int = 1,
             ready_within: float = 60, env: dict[str, str] | None = None, app: str = "app:app"):
    """The app (or another WSGI `app`, e.g. the benchmarks' reference app) in gunicorn on a free
    port; yields its base URL, and stops every process after. `env`: more variables for the
    server (`{"MEETUPS_MAIL_DELIVERY": "background"}`)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))  # gunicorn inherits the bound socket: no race for the port
    listener.listen(2048)
    port = listener.getsockname()[1]
    log = (instance.folder / f"gunicorn-{port}.log").open("wb")
    command = [sys.executable, "-m", "gunicorn", "--bind", f"fd://{listener.fileno()}", "--workers", str(workers),
               "--worker-class", worker_class, "--threads", str(threads), "--backlog", "2048",
               "--timeout", "120", "--graceful-timeout", "5", "--log-level", "warning", app]
    server = subprocess.Popen(command, cwd=PROJECT_ROOT, env={**instance.env, **(env or {})},
                              pass_fds=(listener.fileno(),),
                              stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    listener.close()
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_ready(server, port, ready_within, Path(log.name))
        yield base_url
    finally:
        _stop(server)
        log.close()


def _wait_until_ready(server: subprocess.Popen, port: int, seconds: float, log: Path) -> None:
    """Every worker answers /api/health (each was asked more than once)."""
    deadline, answered = time.monotonic() + seconds, 0
    while answered < 8:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.returncode}:\n{log.read_text()}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"gunicorn did not answer /api/health within {seconds} s:\n{log.read_text()}")
        try:
            status, _body = request("GET", f"http://127.0.0.1:{port}", "/api/health", timeout=5)
            answered = answered + 1 if status == 200 else 0
        except OSError:
            time.sleep(0.1)


def _stop(server: subprocess.Popen) -> None:
    # The master and its workers share the session started for them, and nothing else does.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=15)


def request(method: str, base_url: str, path: str, body=None, timeout: float = 60,
            connection: http.client.HTTPConnection | None = None, token: str | None = None) -> tuple[int, dict]:
    """One JSON request; (status, decoded body). Pass a connection to reuse it (keep-alive), and a
    bearer token for the staff API."""
    own = connection is None
    if own:
        connection = connect(base_url, timeout)
    try:
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        connection.request(method, path, body=payload, headers=headers)
        response = connection.getresponse()
        data = response.read()
        return response.status, json.loads(data) if data else {}
    finally:
        if own:
            connection.close()


def connect(base_url: str, timeout: float = 60) -> http.client.HTTPConnection:
    host, _colon, port = base_url.removeprefix("http://").partition(":")
    return http.client.HTTPConnection(host, int(port), timeout=timeout)
