"""The application factory, configuration and the web shell."""
import pytest

from meetups import create_app
from meetups.config import ConfigError
from meetups.extensions import db
from meetups.registration.services import register


def test_home_page_shows_empty_state(client):
    page = client.get("/")
    assert page.status_code == 200
    assert "No meetups are scheduled yet." in page.get_data(as_text=True)


def test_home_page_lists_published_upcoming_meetups_only(client, make_meetup):
    make_meetup(title="Soon in Testville", days_from_now=5)
    make_meetup(title="Draft meetup", status="draft")
    make_meetup(title="Last month", days_from_now=-30)
    body = client.get("/").get_data(as_text=True)
    assert "Soon in Testville" in body
    assert "Draft meetup" not in body
    assert "Last month" not in body


def test_the_home_page_cards_follow_every_change_they_show(client, make_meetup):
    """The cards are kept rendered (registration.cards): each change a card shows renders it anew."""
    meetup = make_meetup(title="Chengdu evening", capacity=30)
    others = [make_meetup(title=f"Other {number}") for number in range(3)]
    assert "30 seats left" in client.get("/").get_data(as_text=True)
    register(meetup.id, name="Li", email="li@example.com")
    body = client.get("/").get_data(as_text=True)
    assert "29 seats left" in body and "30 seats left" not in body
    meetup.title = "Chengdu night"
    db.session.commit()
    body = client.get("/").get_data(as_text=True)
    assert "Chengdu night" in body and "Chengdu evening" not in body
    assert "剩余 29 个名额" in client.get("/?lang=zh").get_data(as_text=True)
    assert "29 seats left" in client.get("/?lang=en").get_data(as_text=True)
    assert all(other.title in body for other in others)
    assert body.index("Chengdu night") < body.index("Other 0")  # soonest first, as before


def test_unknown_page_is_a_friendly_404(client):
    page = client.get("/no-such-page")
    assert page.status_code == 404
    assert "This page does not exist" in page.get_data(as_text=True)


def test_unknown_api_path_is_a_json_404(client):
    answer = client.get("/api/no-such-thing")
    assert answer.status_code == 404
    assert answer.get_json()["error"]["code"] == "not_found"


def test_server_error_shows_the_500_page(app, client):
    @app.route("/boom")
    def boom():
        raise RuntimeError("boom")

    app.testing = False  # let the error handler answer instead of re-raising
    page = client.get("/boom")
    assert page.status_code == 500
    assert "Something went wrong on our side" in page.get_data(as_text=True)


def test_production_refuses_to_start_without_secret_key(monkeypatch, tmp_path):
    monkeypatch.setenv("MEETUPS_ENV", "production")
    monkeypatch.delenv("MEETUPS_SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="MEETUPS_SECRET_KEY is required"):
        create_app({"INSTANCE_PATH": str(tmp_path), "SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_production_starts_with_secret_key(monkeypatch, tmp_path):
    monkeypatch.setenv("MEETUPS_ENV", "production")
    monkeypatch.setenv("MEETUPS_SECRET_KEY", "a-long-secret-from-the-environment")
    app = create_app({"INSTANCE_PATH": str(tmp_path), "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["SECRET_KEY"] == "a-long-secret-from-the-environment"
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert not (tmp_path / "secret_key").exists()


def test_development_key_is_created_once_in_the_instance_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("MEETUPS_SECRET_KEY", raising=False)
    monkeypatch.delenv("MEETUPS_ENV", raising=False)
    first = create_app({"INSTANCE_PATH": str(tmp_path), "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    second = create_app({"INSTANCE_PATH": str(tmp_path), "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert len(first.config["SECRET_KEY"]) >= 40
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_environment_and_instance_config_are_read(monkeypatch, tmp_path):
    (tmp_path / "config.py").write_text("RATELIMIT = '5 per minute'\nCUSTOM_KEY = 'from instance'\n")
    monkeypatch.setenv("MEETUPS_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("MEETUPS_DATABASE_URL", f"sqlite:///{tmp_path}/other.sqlite3")
    monkeypatch.delenv("MEETUPS_RATELIMIT", raising=False)
    app = create_app()
    assert app.instance_path == str(tmp_path)
    assert app.config["CUSTOM_KEY"] == "from instance"
    assert app.config["PUBLIC_WRITE_LIMIT"] == "5 per minute"
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("other.sqlite3")


def test_default_database_is_sqlite_in_the_instance_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("MEETUPS_DATABASE_URL", raising=False)
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/meetups.sqlite3"


def test_sqlite_runs_in_wal_mode_with_foreign_keys(app):
    if app.backend != "sqlite":
        pytest.skip("SQLite pragmas")
    from sqlalchemy import text

    from meetups.extensions import db

    assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    assert db.session.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_a_first_view_of_the_home_page_sets_no_cookie(client, make_meetup):
    """A fan arriving from a promo post gets the page, not a session (no form on it needs one)."""
    make_meetup(title="Chengdu evening")
    page = client.get("/")
    assert "Chengdu evening" in page.get_data(as_text=True) and "Set-Cookie" not in page.headers


def test_the_session_cookie_is_read_only_when_it_is_sent(client, make_meetup):
    """An API call brings no cookie and gets none back; a browser's session still round-trips."""
    meetup = make_meetup()
    answer = client.post(f"/api/meetups/{meetup.id}/registrations", json={"name": "Li", "email": "li@example.com"})
    assert answer.status_code == 201 and "Set-Cookie" not in answer.headers
    client.get("/login")  # the form's CSRF token lives in the session
    assert client.get_cookie("session") is not None
    with client.session_transaction() as session:
        assert "csrf_token" in session  # the signed cookie is opened again
    client.set_cookie("session", "tampered")
    assert client.get("/").status_code == 200  # a bad signature: an empty session, not an error
