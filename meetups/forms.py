"""Forms shared by every blueprint."""
from flask_wtf import FlaskForm


class EmptyForm(FlaskForm):
    """A POST-only button (log out, delete…) still carries a CSRF token."""
