"""Every upgrade keeps the data entered in the version before it."""
from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from meetups import create_app
from meetups.extensions import db

from .conftest import _config


def test_meetups_made_before_registration_existed_survive_the_upgrade(tmp_path):
    app = create_app(_config(f"sqlite:///{tmp_path / 'old.sqlite3'}", tmp_path / "instance"))
    with app.app_context():
        upgrade(revision="0001")
        db.session.execute(text(
            "INSERT INTO cities (geonameid, name, country_code, admin1_code, latitude, longitude, population, timezone)"
            " VALUES (1815286, 'Chengdu', 'CN', '32', 30.66, 104.07, 7415590, 'Asia/Shanghai')"))
        db.session.execute(text(
            "INSERT INTO meetups (city_geonameid, title, venue_name, venue_address, starts_at, capacity, status, created_at)"
            " VALUES (1815286, 'Chengdu meetup', 'Hall', '', '2027-01-09 11:00:00', 40, 'published', '2026-11-01 08:00:00'),"
            "        (1815286, 'Draft', '', '', '2027-02-09 11:00:00', 30, 'draft', '2026-11-02 08:00:00')"))
        db.session.commit()

        upgrade()
        rows = db.session.execute(text("SELECT title, capacity, status, published_at FROM meetups ORDER BY id")).all()
        assert [tuple(row) for row in rows] == [
            ("Chengdu meetup", 40, "published", "2026-11-01 08:00:00"),
            ("Draft", 30, "draft", None),
        ]
        assert db.session.execute(text("SELECT count(*) FROM registrations")).scalar() == 0

        db.session.execute(text("UPDATE meetups SET status = 'closed' WHERE title = 'Chengdu meetup'"))
        db.session.commit()
        downgrade(revision="0001")  # and back: a closed meetup was a published one
        assert db.session.execute(text("SELECT status FROM meetups ORDER BY id")).scalars().all() == ["published", "draft"]
        db.session.remove()
        db.engine.dispose()
