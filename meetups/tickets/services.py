"""Which registration a ticket reference names, and whether it is a ticket that admits its holder."""
import enum
import re
from dataclasses import dataclass

from ..events.models import Meetup, MeetupStatus
from ..registration.models import Registration, RegistrationStatus
from ..registration.services import registration_for_ticket
from ..shared.ticket_codes import ticket_code

# What registration.services draws (secrets.token_urlsafe); codes.py accepts the same. Checked
# before any query, so that junk in a URL never reaches the database.
_REF = re.compile(r"[A-Za-z0-9_-]{16,32}")


class TicketState(str, enum.Enum):
    VALID = "valid"  # a confirmed seat at a meetup that takes place: the QR is shown
    NOT_YET = "not_yet"  # on the waiting list or holding an offer: no QR yet
    MEETUP_CANCELLED = "meetup_cancelled"  # the registration stands, the evening does not


@dataclass(frozen=True)
class Ticket:
    registration: Registration
    state: TicketState

    @property
    def meetup(self) -> Meetup:
        return self.registration.meetup

    @property
    def ref(self) -> str:
        return self.registration.ticket_ref

    @property
    def code(self) -> str | None:
        """The signed code the QR shows; only a valid ticket has one."""
        return ticket_code(self.ref) if self.state is TicketState.VALID else None


def find_ticket(ref: str) -> Ticket | None:
    """The ticket behind `/tickets/<ref>`; None when no current registration of a listed meetup
    has this reference (a cancelled registration's reference is redrawn, so its old one is unknown)."""
    if not _REF.fullmatch(ref or ""):
        return None
    registration = registration_for_ticket(ref)
    if registration is None or not registration.meetup.is_listed:
        return None
    if registration.meetup.status == MeetupStatus.CANCELLED.value:
        return Ticket(registration, TicketState.MEETUP_CANCELLED)
    if registration.status == RegistrationStatus.CONFIRMED.value:
        return Ticket(registration, TicketState.VALID)
    if registration.status == RegistrationStatus.CANCELLED.value:
        return None  # cannot happen (the reference is redrawn on cancel), but never a ticket
    return Ticket(registration, TicketState.NOT_YET)
