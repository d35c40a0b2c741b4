"""Every upgrade keeps the data entered in the version before it."""
from contextlib import contextmanager

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from meetups import create_app
from meetups.extensions import db

from .conftest import _config

CHENGDU = ("INSERT INTO cities (geonameid, name, country_code, admin1_code, latitude, longitude, population, timezone)"
           " VALUES (1815286, 'Chengdu', 'CN', '32', 30.66, 104.07, 7415590, 'Asia/Shanghai')")
MEETUPS = ("INSERT INTO meetups (city_geonameid, title, venue_name, venue_address, starts_at, capacity, status,"
           " created_at)"
           " VALUES (1815286, 'Chengdu meetup', 'Hall', '', '2027-01-09 11:00:00', 40, 'published',"
           " '2026-11-01 08:00:00')")
LI_LEI = ("INSERT INTO registrations (meetup_id, name, email, city_text, phone, question, locale, status, queued_at,"
          " manage_salt, ticket_ref, created_at) VALUES (1, 'Li Lei', 'li@example.com', '', '', '', 'en', 'confirmed',"
          " '2026-11-02 08:00:00', 'salt', 'ref', '2026-11-02 08:00:00')")


@contextmanager
def _database_at(tmp_path, revision: str):
    """An app context on a new SQLite database, migrated up to `revision`."""
    app = create_app(_config(f"sqlite:///{tmp_path / 'old.sqlite3'}", tmp_path / "instance"))
    with app.app_context():
        upgrade(revision=revision)
        yield
        db.session.remove()
        db.engine.dispose()


def test_meetups_made_before_registration_existed_survive_the_upgrade(tmp_path):
    with _database_at(tmp_path, "0001"):
        db.session.execute(text(CHENGDU))
        db.session.execute(text(MEETUPS + ", (1815286, 'Draft', '', '', '2027-02-09 11:00:00', 30, 'draft',"
                                          " '2026-11-02 08:00:00')"))
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
        statuses = db.session.execute(text("SELECT status FROM meetups ORDER BY id")).scalars().all()
        assert statuses == ["published", "draft"]


def test_city_requests_come_and_go_without_touching_registrations(tmp_path):
    with _database_at(tmp_path, "0002"):
        db.session.execute(text(CHENGDU))
        db.session.execute(text(MEETUPS))
        db.session.execute(text(LI_LEI))
        db.session.commit()

        upgrade(revision="0003")
        registrations = "SELECT m.title, r.email, r.status FROM registrations r JOIN meetups m ON m.id = r.meetup_id"
        assert [tuple(row) for row in db.session.execute(text(registrations))] == [
            ("Chengdu meetup", "li@example.com", "confirmed")]
        ask = ("INSERT INTO city_requests (city_geonameid, email, name, locale, created_at, confirmed_at, confirm_salt)"
               " VALUES (1815286, 'fan@example.com', '', 'zh', '2026-11-03 08:00:00', '2026-11-03 09:00:00', 'salt')")
        db.session.execute(text(ask))
        db.session.commit()
        with pytest.raises(IntegrityError):  # one request per email per city, in the database itself
            db.session.execute(text(ask))
        db.session.rollback()

        downgrade(revision="0002")
        assert [tuple(row) for row in db.session.execute(text(registrations))] == [
            ("Chengdu meetup", "li@example.com", "confirmed")]
        upgrade(revision="0003")  # and up again: the table is back, empty
        assert db.session.execute(text("SELECT count(*) FROM city_requests")).scalar() == 0


def test_fans_imported_before_the_ranking_existed_are_counted_by_the_upgrade(tmp_path):
    with _database_at(tmp_path, "0003"):
        db.session.execute(text(CHENGDU))
        db.session.execute(text(CHENGDU.replace("1815286, 'Chengdu'", "1796236, 'Shanghai'")
                                .replace("30.66, 104.07, 7415590", "31.22, 121.46, 24874500")))
        db.session.execute(text(
            "INSERT INTO fans (handle, email, city_geonameid, created_at, updated_at) VALUES"
            " ('a', 'a@example.com', 1815286, '2026-11-01', '2026-11-01'),"
            " ('b', 'b@example.com', 1815286, '2026-11-01', '2026-11-01'),"
            " ('c', 'c@example.com', 1796236, '2026-11-01', '2026-11-01'),"
            " ('d', 'd@example.com', NULL, '2026-11-01', '2026-11-01')"))
        db.session.commit()

        upgrade(revision="0004")
        counts = db.session.execute(text("SELECT city_geonameid, fans FROM city_fan_counts ORDER BY city_geonameid"))
        assert [tuple(row) for row in counts] == [(1796236, 1), (1815286, 2)]
        upgrade()
        from meetups.planning.ranking import RankingParameters, forget_cached_geometry, rank_cities

        forget_cached_geometry()
        ranking = rank_cities(RankingParameters(min_fans=0))
        assert {row.name: row.fans for row in ranking.rows} == {"Chengdu": 2, "Shanghai": 1}
        assert ranking.fans_without_city == 1

        downgrade(revision="0003")
        assert db.session.execute(text("SELECT count(*) FROM fans")).scalar() == 4


def test_registrations_made_before_check_in_existed_are_checked_in_once_after_the_upgrade(tmp_path):
    with _database_at(tmp_path, "0004"):
        db.session.execute(text(CHENGDU))
        db.session.execute(text(MEETUPS))
        db.session.execute(text(LI_LEI))
        db.session.execute(text(
            "INSERT INTO users (email, name, role, password_hash, active, created_at)"
            " VALUES ('door@example.com', 'Door', 'staff', 'x', TRUE, '2026-11-01 08:00:00')"))
        db.session.commit()

        upgrade(revision="0005")
        registrations = ("SELECT m.title, r.email, r.status, r.ticket_ref"
                         " FROM registrations r JOIN meetups m ON m.id = r.meetup_id")
        assert [tuple(row) for row in db.session.execute(text(registrations))] == [
            ("Chengdu meetup", "li@example.com", "confirmed", "ref")]
        check_in = ("INSERT INTO checkins (meetup_id, registration_id, checked_in_at, recorded_at, user_id, device,"
                    " method) VALUES (1, 1, '2027-01-09 11:05:00', '2027-01-09 11:05:00', 1, 'door-1', 'scan')")
        db.session.execute(text(check_in))
        db.session.commit()
        with pytest.raises(IntegrityError):  # one check-in per registration, in the database itself
            db.session.execute(text(check_in.replace("door-1", "door-2")))
        db.session.rollback()

        downgrade(revision="0004")
        assert [tuple(row) for row in db.session.execute(text(registrations))] == [
            ("Chengdu meetup", "li@example.com", "confirmed", "ref")]
        upgrade(revision="0005")  # and up again: nobody is checked in
        assert db.session.execute(text("SELECT count(*) FROM checkins")).scalar() == 0


def test_requests_waiting_for_confirmation_remember_their_link_was_sent(tmp_path):
    with _database_at(tmp_path, "0005"):
        db.session.execute(text(CHENGDU))
        db.session.execute(text(
            "INSERT INTO city_requests (city_geonameid, email, name, locale, created_at, confirmed_at, confirm_salt)"
            " VALUES (1815286, 'waiting@example.com', '', 'en', '2026-11-03 08:00:00', NULL, 's1'),"
            "        (1815286, 'done@example.com', '', 'zh', '2026-11-03 08:00:00', '2026-11-03 09:00:00', 's2')"))
        db.session.commit()

        upgrade()
        rows = db.session.execute(text("SELECT email, last_sent_at FROM city_requests ORDER BY id"))
        assert [tuple(row) for row in rows] == [("waiting@example.com", "2026-11-03 08:00:00"),
                                                ("done@example.com", None)]
        downgrade(revision="0005")
        assert db.session.execute(text("SELECT count(*) FROM city_requests")).scalar() == 2


def test_meetups_and_registrations_made_before_the_feedback_pool_survive_its_upgrade(tmp_path):
    with _database_at(tmp_path, "0007"):
        db.session.execute(text(CHENGDU))
        db.session.execute(text(MEETUPS))
        db.session.execute(text(LI_LEI))
        db.session.commit()

        upgrade(revision="0008")
        meetups = "SELECT title, capacity, status, ratings_requested_at FROM meetups"
        assert [tuple(row) for row in db.session.execute(text(meetups))] == [("Chengdu meetup", 40, "published", None)]
        db.session.execute(text(
            "INSERT INTO feedback_items (title, description, category, status, created_at)"
            " VALUES ('Battery', '', 'battery', 'new', '2027-01-09 12:00:00')"))
        db.session.execute(text(
            "INSERT INTO feedback_voters (email, locale, confirm_salt, created_at)"
            " VALUES ('fan@example.com', 'en', 's', '2027-01-09 12:00:00')"))
        vote = "INSERT INTO feedback_votes (item_id, voter_id, created_at) VALUES (1, 1, '2027-01-09 12:00:00')"
        db.session.execute(text(vote))
        db.session.commit()
        with pytest.raises(IntegrityError):  # one vote per fan per item, in the database itself
            db.session.execute(text(vote))
        db.session.rollback()
        with pytest.raises(IntegrityError):  # a shipped item names its release
            db.session.execute(text("UPDATE feedback_items SET status = 'shipped'"))
        db.session.rollback()

        downgrade(revision="0007")
        registrations = "SELECT m.title, r.email FROM registrations r JOIN meetups m ON m.id = r.meetup_id"
        assert [tuple(row) for row in db.session.execute(text(registrations))] == [("Chengdu meetup", "li@example.com")]


def test_registrations_made_before_the_mail_queue_existed_survive_it(tmp_path):
    with _database_at(tmp_path, "0006"):
        db.session.execute(text(CHENGDU))
        db.session.execute(text(MEETUPS))
        db.session.execute(text(LI_LEI))
        db.session.commit()

        upgrade(revision="0007")
        registrations = "SELECT email, status, ticket_ref FROM registrations"
        assert [tuple(row) for row in db.session.execute(text(registrations))] == [
            ("li@example.com", "confirmed", "ref")]
        assert db.session.execute(text("SELECT count(*) FROM mail_queue")).scalar() == 0  # nothing is re-sent
        db.session.execute(text("INSERT INTO mail_queue (kind, registration_id, created_at, attempts, last_error)"
                                " VALUES ('promoted', 1, '2026-12-01 08:00:00', 0, '')"))
        db.session.commit()
        with pytest.raises(IntegrityError):  # a queued mail is about a registration that exists
            db.session.execute(text("INSERT INTO mail_queue (kind, registration_id, created_at, attempts, last_error)"
                                    " VALUES ('promoted', 99, '2026-12-01 08:00:00', 0, '')"))
            db.session.commit()
        db.session.rollback()

        downgrade(revision="0006")
        assert [tuple(row) for row in db.session.execute(text(registrations))] == [
            ("li@example.com", "confirmed", "ref")]
        upgrade()
        assert db.session.execute(text("SELECT count(*) FROM mail_queue")).scalar() == 0


def test_meetups_made_before_venue_pins_survive_and_can_be_pinned_after(tmp_path):
    with _database_at(tmp_path, "0008"):
        db.session.execute(text(CHENGDU))
        db.session.execute(text(MEETUPS))
        db.session.execute(text(LI_LEI))
        db.session.commit()

        upgrade(revision="0009")
        pins = "SELECT title, venue_name, venue_latitude, venue_longitude FROM meetups"
        assert [tuple(row) for row in db.session.execute(text(pins))] == [("Chengdu meetup", "Hall", None, None)]
        db.session.execute(text("UPDATE meetups SET venue_latitude = 30.5728, venue_longitude = 104.0668"))
        db.session.commit()
        for half_or_off in ("venue_latitude = NULL", "venue_longitude = NULL", "venue_latitude = 91"):
            with pytest.raises(IntegrityError):  # both or neither, on the globe: in the database itself
                db.session.execute(text(f"UPDATE meetups SET {half_or_off}"))
                db.session.commit()
            db.session.rollback()

        downgrade(revision="0008")
        registrations = "SELECT m.title, r.email FROM registrations r JOIN meetups m ON m.id = r.meetup_id"
        assert [tuple(row) for row in db.session.execute(text(registrations))] == [("Chengdu meetup", "li@example.com")]
        upgrade()
        assert [tuple(row) for row in db.session.execute(text(pins))] == [("Chengdu meetup", "Hall", None, None)]
