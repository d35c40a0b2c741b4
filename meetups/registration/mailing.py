"""Fans' registration emails through the mail queue: a service records what to send in its own
transaction (`record`), and after the commit a deliverer claims the rows, composes each email in
the fan's language and sends it (`deliver`), inline or in the background (shared.mail)."""
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, func, insert, or_, select, update
from sqlalchemy.orm import joinedload

from ..events.models import Meetup
from ..extensions import db
from ..shared.db import write_transaction
from ..shared.links import external_url
from ..shared.mail import Mail, Queued, compose, send_each
from ..shared.private_links import link_token
from ..shared.ticket_codes import ticket_code
from ..shared.timeutil import utcnow
from .models import QueuedMail, Registration

MANAGE_LINK = "manage"  # the link's purpose (shared.private_links): a city request's token opens no registration
CLAIM_BATCH = 50
# A claimed mail not marked sent by then (its deliverer died, or sending failed) is tried again.
RETRY_AFTER = timedelta(minutes=5)
# Templates that hand the fan a ticket: pointless, even misleading, once the seat is gone again.
TICKET_MAILS = ("registration_confirmed", "promoted")


@dataclass(frozen=True)
class Outgoing:
    """An email a service decided to send: its template and whom it is about."""

    kind: str
    registration_id: int
    waitlist_position: int | None = None


@dataclass
class Delivery:
    sent: int = 0
    failed: int = 0
    skipped: int = 0  # ticket emails whose registration no longer holds the seat


_RECORD = insert(QueuedMail.__table__)
_queue = QueuedMail.__table__.c


def record(outgoing: list[Outgoing], now: datetime | None = None) -> list[Queued]:
    """Queue the emails in the current transaction (they are sent only if it commits); what to
    pass to `shared.mail.send` after the commit."""
    if not outgoing:
        return []
    now = now or utcnow()
    db.session.connection().execute(_RECORD, [
        {"kind": mail.kind, "registration_id": mail.registration_id, "waitlist_position": mail.waitlist_position,
         "created_at": now, "attempts": 0, "last_error": ""} for mail in outgoing])
    return [QUEUED]


def manage_token(registration_id: int, manage_salt: str) -> str:
    """The secret of the registration's manage link: `<id>-<HMAC of its salt>` (shared.private_links)."""
    return link_token(MANAGE_LINK, registration_id, manage_salt)


def deliver(limit: int | None = None, now: datetime | None = None) -> Delivery:
    """Claim queued emails in batches, send them, mark them sent; until none is left (or `limit`).
    A row is claimed by one deliverer only (an atomic UPDATE), so each email goes out once."""
    delivery = Delivery()
    while limit is None or delivery.sent + delivery.failed + delivery.skipped < limit:
        done = delivery.sent + delivery.failed + delivery.skipped
        batch = CLAIM_BATCH if limit is None else min(CLAIM_BATCH, limit - done)
        claimed = _claim(batch, now or utcnow())
        if not claimed:
            break
        registrations = {registration.id: registration for registration in db.session.scalars(
            select(Registration).options(joinedload(Registration.meetup).joinedload(Meetup.city, innerjoin=True))
            .where(Registration.id.in_({row.registration_id for row in claimed})))}
        mails, skipped = [], []
        for row in claimed:
            registration = registrations[row.registration_id]
            if row.kind in TICKET_MAILS and not registration.is_confirmed:
                skipped.append(row.id)
            else:
                mails.append((row.id, registration_mail(registration, row.kind, row.waitlist_position)))
        db.session.rollback()  # end the read before sending: no transaction waits on the network
        errors = send_each([mail for _id, mail in mails])
        sent = [number for (number, _mail), error in zip(mails, errors, strict=True) if error is None]
        failed = [(number, error) for (number, _mail), error in zip(mails, errors, strict=True) if error is not None]
        _finish(sent, skipped, failed, utcnow())
        delivery.sent += len(sent)
        delivery.skipped += len(skipped)
        delivery.failed += len(failed)
        if failed:
            break  # the server is probably down: the rest wait for the retry
    return delivery


def drain() -> Delivery:
    """Everything queued that is due (the after-commit hook of `shared.mail.deliver_queued`)."""
    return deliver()


QUEUED = Queued(drain)


def pending() -> int:
    """Emails not sent yet (claimed or not)."""
    return db.session.scalar(select(func.count()).select_from(QueuedMail).where(QueuedMail.sent_at.is_(None)))


def registration_mail(registration: Registration, kind: str, waitlist_position: int | None = None) -> Mail:
    meetup = registration.meetup
    confirmed = registration.is_confirmed
    return compose(
        registration.email, kind, registration.locale,
        registration=registration, meetup=meetup, waitlist_position=waitlist_position,
        meetup_url=external_url("registration.meetup", meetup_id=meetup.id),
        manage_url=external_url("registration.manage", token=manage_token(registration.id, registration.manage_salt)),
        ticket_url=external_url("tickets.ticket", ref=registration.ticket_ref) if confirmed else None,
        ticket_code=ticket_code(registration.ticket_ref) if confirmed else None,
    )


def _claim(batch: int, now: datetime) -> list:
    due = and_(_queue.sent_at.is_(None), or_(_queue.claimed_at.is_(None), _queue.claimed_at < now - RETRY_AFTER))
    oldest = select(_queue.id).where(due).order_by(_queue.id).limit(batch)
    if db.session.get_bind().dialect.name == "postgresql":
        oldest = oldest.with_for_update(skip_locked=True)  # two deliverers take different rows
    with write_transaction():
        claimed = db.session.execute(
            update(QueuedMail.__table__).where(_queue.id.in_(oldest.scalar_subquery()), due)
            .values(claimed_at=now, attempts=_queue.attempts + 1)
            .returning(_queue.id, _queue.kind, _queue.registration_id, _queue.waitlist_position)).all()
        db.session.commit()
    return sorted(claimed, key=lambda row: row.id)


_SENT = update(QueuedMail.__table__).where(_queue.id.in_(bindparam("ids", expanding=True)))


def _finish(sent: list[int], skipped: list[int], failed: list[tuple[int, Exception]], now: datetime) -> None:
    if not (sent or skipped or failed):
        return
    with write_transaction():
        if sent:
            db.session.execute(_SENT.values(sent_at=now), {"ids": sent})
        if skipped:
            db.session.execute(_SENT.values(sent_at=now, last_error="not sent: the seat was given up first"),
                               {"ids": skipped})
        for number, error in failed:  # claimed_at stays: tried again after RETRY_AFTER
            db.session.execute(update(QueuedMail.__table__).where(_queue.id == number)
                               .values(last_error=f"{type(error).__name__}: {error}"[:2000]))
        db.session.commit()
