"""Flask extensions, created unbound and initialised in create_app()."""
import functools
import math
import time

from flask import abort, current_app, request
from flask_babel import Babel
from flask_babel import gettext as _
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Stable constraint names so that migrations can alter constraints on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
csrf = CSRFProtect()
login_manager = LoginManager()
babel = Babel()


class RateLimits:
    """Per-IP limits on the views `limited` marks (MEETUPS_RATELIMIT): one fixed-window count per
    POST, kept in MEETUPS_RATELIMIT_STORAGE_URL (in memory, or Redis shared by every server
    process: one round trip), through the `limits` library. Nothing runs on any other request.
    (Flask-Limiter did the same with ~0.4 ms more CPU per request: README, "Benchmarks".)"""

    KEY = "meetups.rate_limits"

    def init_app(self, app) -> None:
        try:
            limit = parse(app.config["PUBLIC_WRITE_LIMIT"])
        except ValueError:
            raise ValueError(f"MEETUPS_RATELIMIT must be a limit like '30 per minute' or 'off', "
                             f"not {app.config['PUBLIC_WRITE_LIMIT']!r}.") from None
        storage = storage_from_string(app.config["RATELIMIT_STORAGE_URI"]) if app.config["RATELIMIT_ENABLED"] else None
        app.extensions[self.KEY] = (FixedWindowRateLimiter(storage), limit) if storage is not None else None

    def limited(self, view):
        """The view's POSTs count against the client address's limit, refused ones too; over it,
        429 (a JSON error under /api/) with a Retry-After of the seconds left in the window."""

        @functools.wraps(view)
        def counted(*args, **kwargs):
            limits = current_app.extensions[self.KEY]
            if limits is not None and request.method == "POST":
                strategy, limit = limits
                scope = (request.remote_addr or "127.0.0.1", request.endpoint)
                if not strategy.hit(limit, *scope):
                    reset = strategy.get_window_stats(limit, *scope).reset_time
                    abort(429, description=_("Too many attempts from your address: please wait a minute "
                                             "and try again."),
                          retry_after=max(1, math.ceil(reset - time.time())))
            return view(*args, **kwargs)

        return counted


limiter = RateLimits()
