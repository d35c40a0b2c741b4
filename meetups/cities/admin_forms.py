"""The planner dashboard's forms: the ranking's parameters and the schedule's length and start.

Both are GET forms (a ranking is a bookmarkable view); the services judge the values
(`ranking.parameters_from`, `schedule.propose_schedule`) and their field errors are shown here.
"""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, FloatField, IntegerField, SelectChoice, SelectField

from .ranking import RankingParameters
from .schedule import DEFAULT_SLOTS, MAX_SLOTS

_DEFAULTS = RankingParameters()
_LIMITS = RankingParameters.LIMITS


def _number(kind, label, name: str, description=""):
    least, most = _LIMITS[name]
    default = getattr(_DEFAULTS, name)
    return kind(label, default=int(default) if float(default).is_integer() else default, description=description,
                render_kw={"min": least, "max": most, "inputmode": "decimal" if kind is FloatField else "numeric"})


class RankingForm(FlaskForm):
    class Meta:
        csrf = False  # read-only, sent by GET

    radius_km = _number(FloatField, _l("Radius (km)"), "radius_km",
                        _l("A fan farther than this from every candidate city is unserved."))
    min_population = _number(IntegerField, _l("Minimum population"), "min_population",
                             _l("Smaller cities are not candidate hosts."))
    min_fans = _number(IntegerField, _l("Minimum fans"), "min_fans", _l("Fewer fans: not eligible."))
    cooldown_weeks = _number(IntegerField, _l("Cooldown (weeks)"), "cooldown_weeks",
                             _l("No city twice within this many weeks."))
    by = SelectField(_l("Order by"), default=_DEFAULTS.by,
                     choices=[SelectChoice("density", _l("Fan density")), SelectChoice("fans", _l("Fan count"))])
    top = _number(IntegerField, _l("Rows shown"), "top", _l("0 shows every candidate."))


class ScheduleForm(FlaskForm):
    class Meta:
        csrf = False  # the proposal is read-only; accepting it posts a form with a CSRF token

    count = IntegerField(_l("Meetups"), default=DEFAULT_SLOTS,
                         render_kw={"min": 1, "max": MAX_SLOTS, "inputmode": "numeric"},
                         description=_l("From 1 to %(most)d, one every two weeks.", most=MAX_SLOTS))
    start = DateField(_l("First meetup on"), description=_l("Then every two weeks."))
