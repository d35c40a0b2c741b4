"""Who may open what: one decorator for staff pages, one for the JSON API, one for public routes.

Each decorator records its decision on the view function, so that the test suite can check that
every route of the application is either public on purpose or guarded by a role.
"""
from functools import wraps

from flask import abort, g, request
from flask_login import current_user

from ..errors import json_error
from ..extensions import csrf, login_manager
from .models import Role, User
from .services import user_for_token

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def public(view):
    view.access = "public"
    return view


def roles_required(*roles: Role):
    """Staff pages: anonymous visitors go to the login page, other roles get 403."""

    def decorator(view):
        @wraps(view)
        def guarded(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if roles and not current_user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        guarded.access = tuple(Role(role).value for role in roles) or ("any staff",)
        return guarded

    return decorator


def api_user() -> User | None:
    """The account behind a bearer token, or the signed-in session for the app's own pages."""
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer":
            return None
        # A GET changes nothing, not even the token's last use: that is recorded by the writes.
        return user_for_token(token.strip(), record_use=request.method not in SAFE_METHODS)
    if current_user.is_authenticated:
        # A browser session carries cookies on its own, so it must prove the page sent it.
        if request.method not in SAFE_METHODS:
            csrf.protect()
        return current_user._get_current_object()
    return None


def api_roles_required(*roles: Role):
    """JSON API: no or bad token → 401 `unauthorized`; a role that may not → 403 `forbidden`."""

    def decorator(view):
        @wraps(view)
        def guarded(*args, **kwargs):
            user = api_user()
            if user is None:
                return json_error("unauthorized", "Send Authorization: Bearer <token> (see `users token`).", 401)
            if roles and not user.has_role(*roles):
                return json_error("forbidden", "Your role may not do this.", 403)
            g.api_user = user
            return view(*args, **kwargs)

        guarded.access = tuple(Role(role).value for role in roles) or ("any staff",)
        return guarded

    return decorator


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    from ..extensions import db

    return db.session.get(User, int(user_id))
