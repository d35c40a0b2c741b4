"""The manage page's forms: giving up a registration asks for a tick first (no JavaScript needed)."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField
from wtforms.validators import DataRequired


class CancelForm(FlaskForm):
    confirm = BooleanField(_l("Yes, I will not come: give my place to the next fan"),
                           validators=[DataRequired(_l("Tick the box to confirm that you want to cancel."))])
