"""Forms and form protections shared by every blueprint."""
from flask import flash
from flask_wtf import FlaskForm

from ..errors import DomainError
from ..extensions import csrf, limiter


class EmptyForm(FlaskForm):
    """A POST-only button (log out, delete…) still carries a CSRF token."""


def public_write(view):
    """Per-IP limit on a public form's POSTs (MEETUPS_RATELIMIT), counting refused attempts too.

    The global CSRF check runs before the limit's decorator would, so a forged or token-less
    POST would go uncounted; such a view is exempt from the global check *because* its FlaskForm
    validates the token itself (validate_on_submit) and re-renders with an error.
    """
    limited = limiter.limited(view)
    csrf.exempt(limited)
    return limited


def show_on_form(form: FlaskForm, error: DomainError, flash_rest: bool = True) -> None:
    """A service's DomainError on the form it came from (after validate_on_submit): each field it
    names gets its message under it; what names no field of the form, or an error naming no field
    at all, goes to `form.form_errors` (so the page answers 422) and, with `flash_rest`, is
    flashed. A page that shows the error's message itself passes `flash_rest=False`."""
    unplaced = []
    for name, message in error.fields.items():
        field = getattr(form, name, None)
        if field is not None and hasattr(field, "errors"):
            field.errors = [*field.errors, message]
        else:
            unplaced.append(message)
    if unplaced or not error.fields:
        if flash_rest:
            flash(" ".join(unplaced) or error.message, "error")
        form.form_errors.append(error.message)
