"""Fixtures: an app per test on SQLite and (with MEETUPS_TEST_POSTGRES_URL) PostgreSQL, factories,
a login helper, a CLI runner and a live server for browser tests; the objects and helpers that
several test modules share (one Chengdu, a planner signed in, a meetup tonight, the outbox, a page
as a person reads it). Test modules import from here, never from each other."""
import os
import re
import shutil
import threading
from datetime import timedelta
from email import message_from_bytes
from email.header import decode_header, make_header
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import create_engine, func, select, text
from werkzeug.serving import make_server

from harness.servers import seat_counters_off
from meetups import create_app
from meetups.accounts.services import create_user
from meetups.checkin.services import check_in_registration
from meetups.cities.models import City, CityName
from meetups.cities.services import _name_rows, load_gazetteer
from meetups.events.models import Meetup
from meetups.extensions import db
from meetups.feedback.services import record_note
from meetups.registration.services import register
from meetups.shared.mail import outbox_path
from meetups.shared.timeutil import utcnow

from .city_world import build_world

POSTGRES_URL = os.environ.get("MEETUPS_TEST_POSTGRES_URL")
CHROMIUM = "/usr/bin/chromium"
BACKENDS = [
    "sqlite",
    pytest.param(
        "postgresql",
        marks=pytest.mark.skipif(not POSTGRES_URL,
                                 reason="PostgreSQL tests run where MEETUPS_TEST_POSTGRES_URL is set"),
    ),
]


def _config(url: str, instance: Path, **extra) -> dict:
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": url,
        "SECRET_KEY": "test-secret-key",
        "INSTANCE_PATH": str(instance),
        "RATELIMIT": "off",
        **extra,
    }


def _migrated_sqlite(directory: Path, with_gazetteer: bool) -> Path:
    database = directory / "meetups.sqlite3"
    app = create_app(_config(f"sqlite:///{database}", directory / "instance"))
    with app.app_context():
        upgrade()
        if with_gazetteer:
            load_gazetteer("CN")
        db.session.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        db.session.remove()
        db.engine.dispose()
    return database


@pytest.fixture(scope="session")
def sqlite_templates(tmp_path_factory):
    """Migrated databases made once per run; each test gets its own copy."""
    templates = {}

    def template(with_gazetteer: bool) -> Path:
        if with_gazetteer not in templates:
            folder = tmp_path_factory.mktemp("gazetteer" if with_gazetteer else "empty")
            templates[with_gazetteer] = _migrated_sqlite(folder, with_gazetteer)
        return templates[with_gazetteer]

    return template


@pytest.fixture(scope="session")
def postgres_database(tmp_path_factory):
    """The PostgreSQL test database, emptied and migrated once per run."""
    engine = create_engine(POSTGRES_URL)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    app = create_app(_config(POSTGRES_URL, tmp_path_factory.mktemp("pg-instance")))
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return POSTGRES_URL


def _empty_postgres(app) -> None:
    with app.app_context():
        db.session.remove()
        tables = [t.name for t in db.metadata.sorted_tables]
        with db.engine.begin() as connection:
            connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        db.engine.dispose()


class OneContextPerRequest(FlaskClient):
    """The `app` fixture keeps an app context open for the test body (factories, queries); a
    request must not reuse it, or `g` (the locale, the signed-in user) and the database session
    would leak from one request into the next. Each request gets its own, as in production."""

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture(params=BACKENDS)
def app(request, tmp_path, sqlite_templates):
    wants_gazetteer = "gazetteer" in request.fixturenames
    if request.param == "sqlite":
        database = tmp_path / "meetups.sqlite3"
        shutil.copy(sqlite_templates(wants_gazetteer), database)
        url = f"sqlite:///{database}"
    else:
        url = request.getfixturevalue("postgres_database")
    app = create_app(_config(url, tmp_path / "instance"))
    app.backend = request.param
    app.test_client_class = OneContextPerRequest
    with app.app_context():
        if request.param == "postgresql" and wants_gazetteer:
            load_gazetteer("CN")
        yield app
        db.session.remove()
        with db.engine.connect() as connection:
            counters_off = seat_counters_off(connection)
    if request.param == "postgresql":
        _empty_postgres(app)
    else:
        with app.app_context():
            db.engine.dispose()
    # However the test changed seats, the meetups' counters say what a recount says.
    assert counters_off == [], "a meetup's seat counters differ from a recount of its registrations"


@pytest.fixture
def gazetteer(app):
    """The real Chinese gazetteer (2 106 cities), loaded by the `app` fixture."""
    return app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def csrf_token(client, url: str) -> str:
    page = client.get(url)
    match = _CSRF.search(page.get_data(as_text=True))
    assert match, f"no CSRF token in the form at {url}"
    return match.group(1)


def post_form(client, url: str, data: dict, follow_redirects: bool = False, form_url: str | None = None):
    """Submit a form as a browser would: fetch the page for its CSRF token, then post."""
    token = csrf_token(client, form_url or url)
    return client.post(url, data={"csrf_token": token, **data}, follow_redirects=follow_redirects)


class Auth:
    def __init__(self, client):
        self.client = client

    def login(self, email: str, password: str = "correct horse", follow_redirects: bool = True):
        return post_form(self.client, "/login", {"email": email, "password": password}, follow_redirects)

    def logout(self):
        return post_form(self.client, "/logout", {}, True, form_url="/")


@pytest.fixture
def auth(client):
    return Auth(client)


@pytest.fixture
def make_user(app):
    counter = iter(range(1, 10_000))

    def make(role: str = "planner", email: str | None = None, password: str = "correct horse", name: str = ""):
        return create_user(email or f"{role}{next(counter)}@example.com", role, password, name)

    return make


@pytest.fixture
def make_city(app):
    """A gazetteer city built by hand, for tests that need exact coordinates."""
    counter = iter(range(9_000_001, 9_999_999))

    def make(name="Testville", lat=30.0, lon=104.0, population=1_000_000, name_zh=None, province=None,
             admin1_code="", country_code="CN", timezone="Asia/Shanghai", alternates=()):
        city = City(geonameid=next(counter), name=name, name_zh=name_zh, country_code=country_code,
                    admin1_code=admin1_code, province=province, latitude=lat, longitude=lon,
                    population=population, timezone=timezone)
        db.session.add(city)
        db.session.flush()
        for row in _name_rows(city.geonameid, name, name_zh, list(alternates)):
            db.session.add(CityName(**row))
        db.session.commit()
        return city

    return make


@pytest.fixture
def make_meetup(app, make_city):
    def make(city=None, days_from_now=14, capacity=40, title="Test meetup", status="published", **fields):
        city = city or make_city()
        meetup = Meetup(city=city, title=title, starts_at=utcnow() + timedelta(days=days_from_now),
                        capacity=capacity, status=status, **fields)
        db.session.add(meetup)
        db.session.commit()
        return meetup

    return make


# --- shared objects: one Chengdu, the staff, a meetup tonight ---------------------------------

@pytest.fixture
def chengdu(make_city):
    """Chengdu where the gazetteer has it, with its Chinese name and province."""
    return make_city("Chengdu", lat=30.66667, lon=104.06667, name_zh="成都", province="Sichuan")


@pytest.fixture
def planner(client, auth, make_user):
    """The test client, signed in as a planner (plan@example.com)."""
    make_user("planner", email="plan@example.com")
    auth.login("plan@example.com")
    return client


@pytest.fixture
def engineer(make_user):
    """An engineer's account (eng@example.com), not signed in."""
    return make_user("engineer", email="eng@example.com", name="Engineer Wang")


@pytest.fixture
def staff(make_user):
    """A door staff account (door@example.com, "Door one"), not signed in."""
    return make_user("staff", email="door@example.com", name="Door one")


@pytest.fixture
def meetup(make_meetup, chengdu):
    """Tonight's "Chengdu evening" at the Fan hall, published, starting in a little over an hour."""
    return make_meetup(city=chengdu, title="Chengdu evening", venue_name="Fan hall", days_from_now=0.05)


@pytest.fixture
def city_world(app, make_city):
    """tests/city_world.py's small constructed country, built anew: its cities by key ("chengdu", …)."""
    return build_world(make_city)


@pytest.fixture
def ticket_key_from_instance(monkeypatch):
    """A developer's MEETUPS_TICKET_KEY must not decide which key the tests sign with. (Modules that
    sign tickets use it: `pytestmark = pytest.mark.usefixtures("ticket_key_from_instance")`.)"""
    monkeypatch.delenv("MEETUPS_TICKET_KEY", raising=False)
    monkeypatch.delenv("MEETUPS_TICKET_KEYS_PREVIOUS", raising=False)


def stopped_after_two_sleeps(monkeypatch) -> list[int]:
    """The sleeps of a command running as a service (`--every N`), recorded as it takes them;
    the second one stops it (KeyboardInterrupt, as Ctrl-C would)."""
    rounds = []

    def sleep(seconds):
        rounds.append(seconds)
        if len(rounds) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr("meetups.registration.cli.time.sleep", sleep)
    return rounds


def limited_app(app, **config):
    """A second app on the same database and instance folder as `app`, with `config` on top
    (a rate limit, its storage)."""
    return create_app(_config(app.config["SQLALCHEMY_DATABASE_URI"], Path(app.instance_path), **config))


@pytest.fixture
def limited_client(app):
    """A second app on the same database with a limit of 3 public writes a minute per address."""
    limited = limited_app(app, RATELIMIT="3 per minute")
    yield limited.test_client()
    with limited.app_context():
        db.engine.dispose()


# --- shared helpers: fans, feedback notes, the outbox, pages --------------------------------

def register_fans(meetup, count: int, prefix: str = "fan", start: int = 0, **fields):
    """`count` fans register one after another: "fan 0" <fan0@example.com>, "fan 1" … (another
    `prefix` for another crowd, numbered from `start`); their outcomes, in order."""
    return [register(meetup.id, name=f"{prefix} {number}", email=f"{prefix}{number}@example.com", **fields)
            for number in range(start, start + count)]


def inside(meetup, staff, name="Li Lei", email="li@example.com", locale="en", question=""):
    """A fan registered and checked in at the door."""
    outcome = register(meetup.id, name=name, email=email, locale=locale, question=question)
    check_in_registration(meetup.id, outcome.registration.id, user=staff)
    return outcome.registration


def note(meetup, engineer, question="Battery drains overnight", **fields):
    """An engineer's note of a question asked at `meetup` (a new feedback item unless linked)."""
    return record_note(meetup.id, engineer, question=question, answer=fields.pop("answer", "We are on it"), **fields)


def mails_to(app, address):
    """The messages in the outbox (of the app whose context is open) addressed to `address`, oldest first."""
    found = []
    for path in sorted((outbox_path()).glob("*.eml")):
        message = message_from_bytes(path.read_bytes())
        if message["To"] == address:
            found.append(message)
    return found


def body(message) -> str:
    return message.get_payload(decode=True).decode()


def subject(message) -> str:
    """The subject as the fan reads it (RFC 2047 encoded words decoded)."""
    return str(make_header(decode_header(message["Subject"])))


def page_text(response) -> str:
    """The page as a person reads it: tags dropped, whitespace collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def page_html(response) -> str:
    """The page's HTML, tags and all."""
    return response.get_data(as_text=True)


def meetup_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Meetup))


@pytest.fixture
def live_server(app):
    """The app served over HTTP from a thread, for a real browser."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


# Browser tests: Debian's Chromium through pytest-playwright, where it is installed.
@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    }


def pytest_collection_modifyitems(config, items):
    if os.path.exists(CHROMIUM):
        return
    skip = pytest.mark.skip(reason=f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium)")
    for item in items:
        if "page" in getattr(item, "fixturenames", ()):
            item.add_marker(skip)


def pytest_terminal_summary(terminalreporter):
    """One line per reason a test was skipped, instead of one line per test."""
    reasons: dict[str, int] = {}
    for report in terminalreporter.stats.get("skipped", []):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        reason = reason.removeprefix("Skipped: ")
        reasons[reason] = reasons.get(reason, 0) + 1
    for reason, count in sorted(reasons.items()):
        terminalreporter.write_line(f"skipped {count}: {reason}")
