"""City Meetups: the application factory."""
import os
from pathlib import Path

from flask import Flask, current_app, has_request_context, request
from flask.sessions import SecureCookieSessionInterface
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from . import models  # noqa: F401  (every table known to Flask-Migrate)
from .accounts import api as accounts_api
from .accounts import views as accounts_views
from .accounts.forms import ROLE_LABELS
from .checkin import api as checkin_api
from .checkin import views as checkin_views
from .cities.names import local_name, local_province
from .city_requests import api as city_requests_api
from .city_requests import views as city_requests_views
from .cli import register_cli
from .config import load_config
from .errors import register_error_handlers
from .extensions import babel, csrf, db, limiter, login_manager, migrate
from .feedback import api as feedback_api
from .feedback import console as feedback_console
from .feedback import views as feedback_views
from .main import views as main_views
from .planning import api as planning_api
from .planning import meetup_views as planning_meetup_views
from .planning import views as planning_views
from .registration import api as registration_api
from .registration import views as registration_views
from .shared.db import sqlite_pragmas
from .shared.forms import EmptyForm
from .shared.timeutil import format_in_zone
from .tickets import views as tickets_views

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Every blueprint, and whether CSRFProtect checks it: the JSON APIs authenticate by bearer token
# (session-backed API calls are checked in accounts.access.api_user instead), and their anonymous
# writes are rate-limited.
BLUEPRINTS = [
    (main_views.bp, True), (accounts_views.bp, True), (accounts_api.bp, False),
    (registration_views.bp, True), (registration_api.bp, False), (tickets_views.bp, True),
    (city_requests_views.bp, True), (city_requests_api.bp, False),
    (checkin_views.bp, True), (checkin_api.bp, False),
    (feedback_views.bp, True), (feedback_api.bp, False), (feedback_console.bp, True),
    (planning_views.bp, True), (planning_meetup_views.bp, True), (planning_api.bp, False),
]


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

    app.session_interface = CookieSessions()
    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True)
    limiter.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=_select_locale)
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = _l("Please sign in to open that page.")
    login_manager.login_message_category = "info"

    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            sqlite_pragmas(db.engine)

    for blueprint, csrf_checked in BLUEPRINTS:
        app.register_blueprint(blueprint)
        if not csrf_checked:
            csrf.exempt(blueprint)

    register_cli(app)
    register_error_handlers(app)
    _register_template_helpers(app)

    @app.after_request
    def vary_on_language(response):
        # Pages differ by Accept-Language and the lang cookie: caches must keep them apart.
        response.vary.update(("Accept-Language", "Cookie"))
        return response

    return app


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie session, except that a request without the cookie (a fan's API call,
    a door phone's bearer-token scan) gets its empty session without a signer being built."""

    def open_session(self, app: Flask, request):
        if not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)


def _register_template_helpers(app: Flask) -> None:
    @app.context_processor
    def template_globals():
        return {
            "languages": app.config["LANGUAGES"],
            "current_locale": str(get_locale()),
            # Only a signed-in page shows it: building it makes a CSRF token, and so a session
            # cookie, which a fan's first view of the home page has no use for. Emails are
            # rendered outside requests too (the CLI, cron): they need no form.
            "logout_form": EmptyForm() if has_request_context() and current_user.is_authenticated else None,
            "role_labels": {role.value: label for role, label in ROLE_LABELS.items()},
        }

    @app.template_filter("in_city")
    def in_city(moment, meetup, style: str = "medium") -> str:
        return format_in_zone(moment, meetup.city.timezone, style)

    @app.template_filter("local_name")
    def city_name(place) -> str:
        """A city (or ranking row) in the reader's language: 成都 in Chinese, Chengdu otherwise."""
        return local_name(place, str(get_locale() or "en"))

    @app.template_filter("local_province")
    def province_name(place) -> str:
        return local_province(place, str(get_locale() or "en"))


def _select_locale() -> str:
    if not has_request_context():  # the CLI and cron speak the default language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    languages = list(current_app.config["LANGUAGES"])
    chosen = request.args.get("lang") or request.cookies.get("lang")
    if chosen in languages:
        return chosen
    return request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]
