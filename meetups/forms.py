"""Forms and form protections shared by every blueprint."""
from flask import current_app
from flask_wtf import FlaskForm

from .extensions import csrf, limiter


class EmptyForm(FlaskForm):
    """A POST-only button (log out, delete…) still carries a CSRF token."""


def public_write(view):
    """Per-IP limit on a public form's POSTs (MEETUPS_RATELIMIT), counting refused attempts too.

    The global CSRF check runs before Flask-Limiter's decorator would, so a forged or token-less
    POST would go uncounted; such a view is exempt from the global check *because* its FlaskForm
    validates the token itself (validate_on_submit) and re-renders with an error.
    """
    limited = limiter.limit(lambda: current_app.config["PUBLIC_WRITE_LIMIT"], methods=["POST"])(view)
    csrf.exempt(limited)
    return limited
