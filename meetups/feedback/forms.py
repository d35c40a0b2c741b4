"""The feedback pool's forms. Each checks the CSRF token and the shape of what was sent; the
services judge the rest, so that the pages and the JSON API meet the same rules and messages."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, RadioField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import Optional

from .labels import CATEGORY_LABELS, STATUS_LABELS
from .models import MAX_RELEASE, MAX_SCORE, MAX_TITLE, ItemStatus
from .services import MAX_ANSWER, MAX_DESCRIPTION, MAX_QUESTION


def _category_field(label):
    return SelectField(label, choices=[SelectChoice(value, text) for value, text in CATEGORY_LABELS.items()],
                       default="other", validate_choice=False)


class VoteForm(FlaskForm):
    email = EmailField(_l("Your email (we send a link there: your vote counts once you open it)"),
                       render_kw={"autocomplete": "email", "inputmode": "email", "maxlength": 254})


class NoteForm(FlaskForm):
    question = TextAreaField(_l("Question"), render_kw={"rows": 3, "maxlength": MAX_QUESTION,
                                                        "placeholder": _l("What did the fan ask?")})
    answer = TextAreaField(_l("Answer"), render_kw={"rows": 3, "maxlength": MAX_ANSWER,
                                                    "placeholder": _l("What did the engineer answer?")})
    category = _category_field(_l("Category"))
    asked_by_id = SelectField(_l("Asked by (optional)"), choices=[], validate_choice=False, validators=[Optional()])
    title = StringField(_l("Title of the new item (empty: the question)"), render_kw={"maxlength": MAX_TITLE})
    feedback_item_id = HiddenField()
    client_key = HiddenField()


class ItemForm(FlaskForm):
    title = StringField(_l("Title"), render_kw={"maxlength": MAX_TITLE})
    description = TextAreaField(_l("Description"), render_kw={"rows": 4, "maxlength": MAX_DESCRIPTION})
    category = _category_field(_l("Category"))


class StatusForm(FlaskForm):
    status = SelectField(_l("Status"), validate_choice=False, choices=[
        SelectChoice(value, label) for value, label in STATUS_LABELS.items() if value != ItemStatus.DUPLICATE.value])
    shipped_in = StringField(_l("Shipped in release (for shipped)"), render_kw={"maxlength": MAX_RELEASE,
                                                                               "placeholder": "MIUI 14.0.3"})


class MergeForm(FlaskForm):
    into = StringField(_l("Merge into item number"), render_kw={"inputmode": "numeric", "maxlength": 10})


class RatingForm(FlaskForm):
    score = RadioField(_l("Your rating"),
                       choices=[SelectChoice(str(score), str(score)) for score in range(1, MAX_SCORE + 1)],
                       validate_choice=False)
    comment = TextAreaField(_l("Anything to tell the organisers? (optional)"), render_kw={"rows": 4, "maxlength": 2000})
