"""A fan's request for a meetup in their city: one per email per city, counted once the fan has
confirmed it from the link in their email, and no longer once they withdraw it."""
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..cities.models import City
from ..extensions import db
from ..shared.timeutil import utcnow


class CityRequest(db.Model):
    __tablename__ = "city_requests"
    __table_args__ = (
        # Leads with the city, so counting a city's requests reads this index only.
        UniqueConstraint("city_geonameid", "email", name="one_per_email_per_city"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    city_geonameid: Mapped[int] = mapped_column(ForeignKey("cities.geonameid"))
    email: Mapped[str] = mapped_column(String(254))  # lower case
    name: Mapped[str] = mapped_column(String(100), default="")
    locale: Mapped[str] = mapped_column(String(10), default="en")  # the language of the email
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime)  # set by the link's button
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime)
    # When the link was last emailed: asking again sooner sends nothing (services.RESEND_AFTER),
    # so nobody can fill a stranger's inbox by asking for their address over and over.
    last_sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    # The link's token is an HMAC of this under the secret key (city_requests.services): a copy of
    # the database alone confirms or withdraws nobody's request.
    confirm_salt: Mapped[str] = mapped_column(String(32))

    city: Mapped[City] = relationship()

    @property
    def is_confirmed(self) -> bool:
        return self.confirmed_at is not None

    @property
    def is_withdrawn(self) -> bool:
        return self.withdrawn_at is not None

    @property
    def counts(self) -> bool:
        """Whether the request counts for its city (in the planners' ranking)."""
        return self.is_confirmed and not self.is_withdrawn

    def __repr__(self) -> str:
        return f"<CityRequest {self.id} {self.email} {self.city_geonameid}>"
