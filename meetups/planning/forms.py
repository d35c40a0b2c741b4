"""The planner's forms: the dashboard's ranking parameters and the schedule's length and start
(GET forms: a ranking is a bookmarkable view; the services judge the values, `ranking.parameters_from`
and `schedule.propose_schedule`, and their field errors are shown here), a meetup's settings and a
batch of invite codes."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    DateTimeLocalField,
    FloatField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional

from ..cities.services import MAX_TYPED_CITY
from ..events.models import MAX_CAPACITY, MAX_OFFER_HOURS, MIN_CAPACITY, Meetup
from ..events.services import MeetupDetails
from ..registration.models import InviteCode
from ..registration.services import MAX_CODES_AT_ONCE
from ..shared.timeutil import to_local
from ..shared.validation import column_length
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


# What <input type="datetime-local"> sends (seconds only when the browser adds them).
LOCAL_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]


def _moment(label, required: bool = False, description=""):
    validators = [InputRequired()] if required else [Optional()]
    return DateTimeLocalField(label, validators=validators, format=LOCAL_FORMATS, description=description)


class MeetupForm(FlaskForm):
    """Times are local time in the meetup's city; the meetup service checks every rule and
    its field errors are shown next to these fields (the names match MeetupDetails)."""

    city = StringField(_l("City"), validators=[InputRequired(), Length(max=MAX_TYPED_CITY)],
                       description=_l("Any gazetteer name, in English or Chinese: Chengdu, 成都."))
    title = StringField(_l("Title"), description=_l("Leave empty for the default, e.g. “Chengdu fan meetup”."))
    venue_name = StringField(_l("Venue"))
    venue_address = TextAreaField(_l("Venue address"), render_kw={"rows": 2})
    venue_location = StringField(
        _l("Venue on the map (latitude, longitude)"), validators=[Length(max=60)],
        render_kw={"inputmode": "decimal", "placeholder": "30.6586, 104.0647", "autocomplete": "off"},
        description=_l("Optional. Paste the point from a map app (GPS coordinates): the ticket's map links and "
                       "“nearest first” then lead to the door instead of the city centre."))
    starts_at = _moment(_l("Starts at (city time)"), required=True)
    ends_at = _moment(_l("Ends at (city time)"))
    capacity = IntegerField(_l("Seats"), validators=[InputRequired()],
                            render_kw={"min": MIN_CAPACITY, "max": MAX_CAPACITY, "inputmode": "numeric"},
                            description=_l("Between %(least)d and %(most)d fans.", least=MIN_CAPACITY,
                                           most=MAX_CAPACITY))
    registration_opens_at = _moment(_l("Registration opens (city time)"), description=_l("Empty: when published."))
    registration_closes_at = _moment(_l("Registration closes (city time)"),
                                     description=_l("Empty: when the meetup starts."))
    codes_release_at = _moment(_l("Seats held for invite codes go public at (city time)"),
                               description=_l("Empty: when the meetup starts."))
    offer_hours = IntegerField(_l("Hours to accept a freed seat"), validators=[Optional()],
                               render_kw={"min": 1, "max": MAX_OFFER_HOURS, "inputmode": "numeric"},
                               description=_l("Empty: the first on the waiting list gets a freed seat at once. "
                                              "Otherwise they get an offer for this many hours, then the next in "
                                              "line."))

    def details(self) -> MeetupDetails:
        return MeetupDetails(
            city=self.city.data or "", title=self.title.data or "", venue_name=self.venue_name.data or "",
            venue_address=self.venue_address.data or "", venue_location=self.venue_location.data or "",
            starts_at=self.starts_at.data, ends_at=self.ends_at.data,
            capacity=self.capacity.data, registration_opens_at=self.registration_opens_at.data,
            registration_closes_at=self.registration_closes_at.data, codes_release_at=self.codes_release_at.data,
            offer_hours=self.offer_hours.data,
        )

    @classmethod
    def for_meetup(cls, meetup: Meetup) -> "MeetupForm":
        """The edit form, its times in the city's zone. The Chinese name goes first: fewer
        cities share one (Taizhou is two cities; 台州 and 泰州 are not)."""
        zone = meetup.city.timezone

        def local(moment):
            return to_local(moment, zone).replace(tzinfo=None) if moment else None

        return cls(
            city=meetup.city.name_zh or meetup.city.name, title=meetup.title, venue_name=meetup.venue_name,
            venue_address=meetup.venue_address, venue_location=location_text(meetup),
            starts_at=local(meetup.starts_at), ends_at=local(meetup.ends_at),
            capacity=meetup.capacity, registration_opens_at=local(meetup.registration_opens_at),
            registration_closes_at=local(meetup.registration_closes_at),
            codes_release_at=local(meetup.codes_release_at), offer_hours=meetup.offer_hours,
        )


def location_text(meetup: Meetup) -> str:
    """The venue's pin as the form shows it (and `venue_point` reads it back)."""
    if not meetup.has_venue_location:
        return ""
    return f"{meetup.venue_latitude:.6f}, {meetup.venue_longitude:.6f}"


class InviteCodesForm(FlaskForm):
    count = IntegerField(_l("How many codes"), validators=[InputRequired()], default=1,
                         render_kw={"min": 1, "max": MAX_CODES_AT_ONCE, "inputmode": "numeric"})
    label = StringField(_l("For whom (optional)"), validators=[Length(max=column_length(InviteCode.label))],
                        description=_l("e.g. “Honorary developers” or a fan's forum name."))
