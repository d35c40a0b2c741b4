"""City Meetups: the application factory."""
import os
from pathlib import Path

from flask import Flask, has_request_context, request
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import event

from .config import load_config
from .errors import register_error_handlers
from .extensions import babel, csrf, db, limiter, login_manager, migrate

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: dict | None = None) -> Flask:
    instance = os.environ.get("MEETUPS_INSTANCE_PATH") or str(PROJECT_ROOT / "instance")
    if test_config and "INSTANCE_PATH" in test_config:
        instance = test_config["INSTANCE_PATH"]
    app = Flask(
        __name__,
        instance_path=str(Path(instance).resolve()),
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    load_config(app, test_config)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True)
    limiter.init_app(app)  # before CSRF, so that refused attempts count against the limit too
    csrf.init_app(app)
    babel.init_app(app, locale_selector=_select_locale)
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = _l("Please sign in to open that page.")
    login_manager.login_message_category = "info"

    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            event.listen(db.engine, "connect", _sqlite_pragmas)

    from . import models  # noqa: F401  (every table known to Flask-Migrate)
    from .accounts.api import bp as accounts_api
    from .accounts.views import bp as accounts
    from .checkin.api import bp as checkin_api
    from .checkin.views import bp as door
    from .cities.admin import bp as city_admin
    from .cities.api import bp as cities_api
    from .city_requests.api import bp as city_requests_api
    from .city_requests.views import bp as city_requests
    from .feedback.api import bp as feedback_api
    from .feedback.console import bp as console
    from .feedback.views import bp as feedback
    from .main.views import bp as main
    from .meetups.api import bp as meetups_api
    from .meetups.admin import bp as meetup_admin
    from .meetups.views import bp as meetups
    from .registration.views import bp as registration
    from .tickets.views import bp as tickets

    for blueprint in (main, accounts, accounts_api, cities_api, meetups, meetups_api, meetup_admin, registration,
                      tickets, city_requests, city_requests_api, city_admin, checkin_api,
                      door, feedback, feedback_api, console):
        app.register_blueprint(blueprint)
    # The JSON API authenticates by bearer token; session-backed API calls are checked in
    # accounts.access.api_user instead.
    csrf.exempt(accounts_api)
    csrf.exempt(cities_api)
    csrf.exempt(checkin_api)
    csrf.exempt(feedback_api)  # staff calls: checked in api_user; fans' votes: anonymous, rate-limited
    csrf.exempt(meetups_api)  # anonymous JSON clients: no session to forge, rate-limited instead
    csrf.exempt(city_requests_api)  # the same: anonymous, rate-limited

    from .cli import register_cli

    register_cli(app)
    register_error_handlers(app)

    @app.context_processor
    def template_globals():
        from .accounts.forms import ROLE_LABELS
        from .forms import EmptyForm

        return {
            "languages": app.config["LANGUAGES"],
            "current_locale": str(get_locale()),
            # Emails are rendered outside requests too (the CLI, cron): they need no form.
            "logout_form": EmptyForm() if has_request_context() else None,
            "role_labels": {role.value: label for role, label in ROLE_LABELS.items()},
        }

    @app.template_filter("in_city")
    def in_city(moment, meetup, style: str = "medium") -> str:
        from .timeutil import format_in_zone

        return format_in_zone(moment, meetup.city.timezone, style)

    @app.after_request
    def vary_on_language(response):
        # Pages differ by Accept-Language and the lang cookie: caches must keep them apart.
        response.vary.update(("Accept-Language", "Cookie"))
        return response

    return app


def _select_locale() -> str:
    from flask import current_app

    if not has_request_context():  # the CLI and cron speak the default language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    languages = list(current_app.config["LANGUAGES"])
    chosen = request.args.get("lang") or request.cookies.get("lang")
    if chosen in languages:
        return chosen
    return request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA busy_timeout = 15000")
    mode = cursor.execute("PRAGMA journal_mode").fetchone()[0]
    if mode.lower() not in ("wal", "memory"):
        cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.close()
