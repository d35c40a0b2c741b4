"""Imports every model, so that migrations and create_all see all tables."""
from .accounts.models import ApiToken, User  # noqa: F401
from .cities.models import City, CityName  # noqa: F401
from .fans.models import Fan  # noqa: F401
from .meetups.models import Meetup  # noqa: F401
from .registration.models import InviteCode, Registration  # noqa: F401
