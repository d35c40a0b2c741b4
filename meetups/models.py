"""Imports every model, so that migrations and create_all see all tables."""
from .accounts.models import ApiToken, User  # noqa: F401
from .checkin.models import CheckIn, CheckInConflict, CheckInEvent, CheckInNonce  # noqa: F401
from .cities.models import City, CityName  # noqa: F401
from .city_requests.models import CityRequest  # noqa: F401
from .events.models import Meetup  # noqa: F401
from .fans.models import CityFanCount, Fan  # noqa: F401
from .feedback.models import FeedbackItem, FeedbackNote, FeedbackStatusChange, FeedbackVote, FeedbackVoter, MeetupRating  # noqa: F401
from .planning.models import HostAssignment, HostAssignmentSet  # noqa: F401
from .registration.models import InviteCode, QueuedMail, Registration  # noqa: F401
