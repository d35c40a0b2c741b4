"""Demo data for a newcomer's `make run`: a living system, built through the same services."""
import csv
import io
import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select

from .accounts.models import User
from .accounts.services import create_user
from .cities.models import City
from .cities.services import city_count, load_gazetteer
from .events.models import Meetup
from .events.services import MeetupDetails, create_meetup
from .extensions import db
from .fans.models import Fan
from .fans.services import import_fans
from .feedback.models import FeedbackItem, FeedbackVote, FeedbackVoter
from .feedback.services import change_status, record_note
from .planning.ranking import store_host_geometry
from .registration.models import Registration, RegistrationStatus
from .registration.seats import recount
from .registration.services import create_invite_codes, register
from .shared.timeutil import to_local, utcnow

DEMO_FANS = 50_000
DEMO_ACCOUNTS = (
    ("admin@example.com", "admin", "demo-admin-2011", "Lei (admin)"),
    ("planner@example.com", "planner", "demo-planner-2011", "Hong (planner)"),
    ("door@example.com", "staff", "demo-door-2011", "Bin (door staff)"),
    ("engineer@example.com", "engineer", "demo-engineer-2011", "Wanqiang (engineer)"),
)
# Real fan bases cluster in a few cities: these get far more fans than their size alone explains.
HOTSPOTS = {"Beijing": 4.0, "Shenzhen": 5.0, "Guangzhou": 3.0, "Shanghai": 2.5, "Chengdu": 3.5, "Wuhan": 3.0,
            "Hangzhou": 2.5, "Xi’an": 2.0, "Nanjing": 2.0, "Changsha": 2.0}
# (city, days from today, capacity, title)
DEMO_MEETUPS = (
    ("Beijing", -70, 50, "Beijing fan meetup: camera night"),
    ("Shenzhen", -56, 45, "Shenzhen fan meetup: battery life"),
    ("Chengdu", -42, 40, "Chengdu fan meetup"),
    ("Wuhan", 10, 40, "Wuhan fan meetup: meet the system team"),
    ("Hangzhou", 24, 35, "Hangzhou fan meetup"),
)
# Registrations per meetup: past meetups were full; Wuhan is full with a waiting list.
DEMO_REGISTRATIONS = {"Beijing": 50, "Shenzhen": 45, "Chengdu": 40, "Wuhan": 43, "Hangzhou": 12}
DEMO_QUESTIONS = (
    "Will the camera get a night mode?", "电池续航能再长一点吗？", "When does the next beta open?",
    "能不能加一个通话录音？", "Why did the settings menu move?", "希望桌面图标可以自定义大小。", "",
)


# (meetup city, question, answer, category, the earlier note whose item it repeats)
DEMO_NOTES = (
    ("Beijing", "Night photos are blurry indoors", "A new night mode is in testing.", "camera", None),
    ("Beijing", "电池续航能再长一点吗？", "新的省电模式正在开发。", "battery", None),
    ("Beijing", "Can the settings search find every option?", "Yes, from the next beta.", "system", None),
    ("Shenzhen", "Battery drains overnight on standby", "We found a wake-lock bug.", "battery", 1),
    ("Shenzhen", "通话录音什么时候上线？", "在评估各地的法规。", "apps", None),
    ("Shenzhen", "夜景拍照还是有点糊", "夜景模式下个版本更新。", "camera", 0),
    ("Chengdu", "Let me resize desktop icons", "Planned for spring.", "system", None),
    ("Chengdu", "续航太短了", "省电模式下周公测。", "battery", 1),
)
# Items moved along by the product team: (the note whose item it is, status, release)
DEMO_STATUSES = ((0, "shipped", "MIUI 14.0.3"), (1, "in_development", ""), (6, "planned", ""), (4, "under_review", ""))
DEMO_VOTERS = 60


@dataclass
class DemoReport:
    accounts: list[tuple[str, str, str]] = field(default_factory=list)


def load_demo(progress: Callable[[str], None] = lambda _message: None) -> DemoReport:
    if city_count("CN") == 0:
        progress("Loading the city gazetteer…")
        load_gazetteer("CN")
    if db.session.scalar(select(func.count()).select_from(Fan)) < DEMO_FANS:
        progress(f"Importing {DEMO_FANS} synthetic fans…")
        import_fans(io.BytesIO(_synthetic_fans_csv(DEMO_FANS)))
    for email, role, password, name in DEMO_ACCOUNTS:
        if db.session.scalar(select(User.id).where(User.email == email)) is None:
            create_user(email, role, password, name)
    if db.session.scalar(select(func.count()).select_from(Meetup)) == 0:
        progress("Scheduling demo meetups…")
        today = utcnow()
        for city, days, capacity, title in DEMO_MEETUPS:
            local = to_local(today, "Asia/Shanghai").replace(hour=19, minute=0, second=0, microsecond=0, tzinfo=None)
            starts = local + timedelta(days=days)
            meetup = create_meetup(MeetupDetails(city=city, starts_at=starts, capacity=capacity, title=title,
                                                 venue_name="Fan club hall", ends_at=starts + timedelta(hours=3)),
                                   publish=True)
            _demo_registrations(meetup, DEMO_REGISTRATIONS.get(city, 0))
        hangzhou = db.session.scalar(select(Meetup).join(City).where(City.name == "Hangzhou"))
        create_invite_codes(hangzhou.id, 5, label="Honour developers group")
    if db.session.scalar(select(func.count()).select_from(FeedbackItem)) == 0:
        progress("Filling the feedback pool…")
        _demo_feedback()
    if store_host_geometry():
        progress("Stored which candidate city serves each city (the ranking's host assignment)…")
    return DemoReport([(email, role, password) for email, role, password, _name in DEMO_ACCOUNTS])


def _demo_registrations(meetup: Meetup, count: int) -> None:
    """Local fans register: through the service for meetups still to come (their emails land in
    instance/outbox), written straight in as history for past ones."""
    fans = db.session.execute(
        select(Fan.handle, Fan.email).where(Fan.city_geonameid == meetup.city_geonameid).order_by(Fan.id).limit(count)
    ).all()
    for number, (handle, email) in enumerate(fans):
        question = DEMO_QUESTIONS[number % len(DEMO_QUESTIONS)]
        if meetup.starts_at > utcnow():
            register(meetup.id, name=handle, email=email, city=meetup.city.name, question=question)
        else:
            db.session.add(Registration(
                meetup=meetup, name=handle, email=email, city_geonameid=meetup.city_geonameid,
                city_text=meetup.city.name, question=question, status=RegistrationStatus.CONFIRMED.value,
                manage_salt=secrets.token_urlsafe(16), ticket_ref=secrets.token_urlsafe(16),
                queued_at=meetup.starts_at - timedelta(days=7), created_at=meetup.starts_at - timedelta(days=7),
                confirmed_at=meetup.starts_at - timedelta(days=7)))
    recount(meetup, utcnow())
    db.session.commit()


def _demo_feedback() -> None:
    """What the engineers noted at the past meetups, the product team's answers, and fans' votes."""
    engineer = db.session.scalar(select(User).where(User.role == "engineer"))
    meetups = {meetup.city.name: meetup for meetup in db.session.scalars(select(Meetup)) if meetup.starts_at < utcnow()}
    items = []
    for city, question, answer, category, repeats in DEMO_NOTES:
        meetup = meetups[city]
        outcome = record_note(meetup.id, engineer, question=question, answer=answer, category=category,
                              feedback_item_id=items[repeats].id if repeats is not None else None)
        outcome.note.created_at = meetup.starts_at + timedelta(hours=1)  # noted during the evening
        if outcome.created_item:
            outcome.item.created_at = outcome.note.created_at
        items.append(outcome.item)
        db.session.commit()
    for note_number, status, release in DEMO_STATUSES:
        change_status(items[note_number].id, status, engineer, shipped_in=release)
    rng = random.Random(2014)
    distinct = list({item.id: item for item in items}.values())
    for number in range(DEMO_VOTERS):
        moment = utcnow() - timedelta(days=rng.randrange(0, 60))
        voter = FeedbackVoter(email=f"voter{number:03d}@example.com", confirm_salt=secrets.token_urlsafe(16),
                              created_at=moment, confirmed_at=moment)
        db.session.add(voter)
        db.session.flush()
        for item in rng.sample(distinct, rng.randint(1, 3)):
            db.session.add(FeedbackVote(item_id=item.id, voter_id=voter.id, created_at=moment, confirmed_at=moment))
    db.session.commit()


def _synthetic_fans_csv(count: int) -> bytes:
    """Fans spread over Chinese cities by population, boosted in hotspots, with random noise;
    a few give coordinates instead of a city, as forum profiles sometimes do."""
    rng = random.Random(2011)
    cities = db.session.execute(
        select(City.name, City.latitude, City.longitude, City.population).where(City.country_code == "CN")
    ).all()
    weights = [
        (city.population ** 1.15) * HOTSPOTS.get(city.name, 1.0) * rng.lognormvariate(0, 0.8) for city in cities
    ]
    picks = rng.choices(cities, weights=weights, k=count)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["handle", "email", "city", "lat", "lon", "level", "joined_at"])
    start = datetime(2010, 8, 16)
    for number, city in enumerate(picks, start=1):
        joined = (start + timedelta(days=rng.randrange(0, 1500))).date().isoformat()
        level = min(10, int(rng.expovariate(0.5)) + 1)
        if number % 20 == 0:
            lat = round(city.latitude + rng.uniform(-0.2, 0.2), 5)
            lon = round(city.longitude + rng.uniform(-0.2, 0.2), 5)
            writer.writerow([f"mifan{number:05d}", f"fan{number:05d}@example.com", "", lat, lon, level, joined])
        else:
            writer.writerow([f"mifan{number:05d}", f"fan{number:05d}@example.com", city.name, "", "", level, joined])
    return out.getvalue().encode()
