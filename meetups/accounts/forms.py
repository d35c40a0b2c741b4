"""Login and account forms."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length

from ..shared.validation import column_length
from .models import Role, User
from .services import MIN_PASSWORD_LENGTH

ROLE_LABELS = {
    Role.ADMIN: _l("Admin"),
    Role.PLANNER: _l("Planner"),
    Role.STAFF: _l("Door staff"),
    Role.ENGINEER: _l("Engineer"),
}


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email()])
    password = PasswordField(_l("Password"), validators=[DataRequired()])
    remember = BooleanField(_l("Keep me signed in on this device"))


class CreateUserForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email()])
    name = StringField(_l("Name"), validators=[Length(max=column_length(User.name))])
    role = SelectField(_l("Role"), choices=lambda: [SelectChoice(role.value, ROLE_LABELS[role]) for role in Role])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH)])
