"""The planner's forms: a meetup's settings and a batch of invite codes."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, IntegerField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from ..registration.services import MAX_CODES_AT_ONCE
from ..timeutil import to_local
from .models import MAX_CAPACITY, MIN_CAPACITY, Meetup
from .services import MAX_OFFER_HOURS, MeetupDetails

# What <input type="datetime-local"> sends (seconds only when the browser adds them).
LOCAL_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]


def _moment(label, required: bool = False, description=""):
    validators = [InputRequired()] if required else [Optional()]
    return DateTimeLocalField(label, validators=validators, format=LOCAL_FORMATS, description=description)


class MeetupForm(FlaskForm):
    """Times are local time in the meetup's city; the meetup service checks every rule and
    its field errors are shown next to these fields (the names match MeetupDetails)."""

    city = StringField(_l("City"), validators=[InputRequired(), Length(max=100)],
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
                            description=_l("Between %(least)d and %(most)d fans.", least=MIN_CAPACITY, most=MAX_CAPACITY))
    registration_opens_at = _moment(_l("Registration opens (city time)"), description=_l("Empty: when published."))
    registration_closes_at = _moment(_l("Registration closes (city time)"), description=_l("Empty: when the meetup starts."))
    codes_release_at = _moment(_l("Seats held for invite codes go public at (city time)"),
                               description=_l("Empty: when the meetup starts."))
    offer_hours = IntegerField(_l("Hours to accept a freed seat"), validators=[Optional()],
                               render_kw={"min": 1, "max": MAX_OFFER_HOURS, "inputmode": "numeric"},
                               description=_l("Empty: the first on the waiting list gets a freed seat at once. "
                                              "Otherwise they get an offer for this many hours, then the next in line."))

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
    label = StringField(_l("For whom (optional)"), validators=[Length(max=100)],
                        description=_l("e.g. “Honorary developers” or a fan's forum name."))
