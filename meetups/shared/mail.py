"""Outgoing email: through SMTP when MEETUPS_SMTP_HOST is set, otherwise into instance/outbox/
as .eml files (development, the demo and the tests read them there).

Services build their messages, commit, and only then call `send`: a rolled-back change never
mails anyone. Registration emails go through a queue table instead (registration.mailing): the
transaction records what to send, and after the commit `send` hands the queue to its deliverer,
at once (MAIL_DELIVERY "inline", and always outside a request), in a background thread of
the process once it has a quiet moment ("background"), or not at all: `flask mail deliver`, a
process of its own, sends what the servers queue ("cron").
"""
import atexit
import logging
import os
import smtplib
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from email.header import Header
from email.mime.text import MIMEText
from email.utils import formataddr, formatdate, make_msgid, parseaddr
from pathlib import Path

from flask import Flask, current_app, has_request_context
from flask_babel import force_locale, get_locale

from .timeutil import utcnow


@dataclass
class Mail:
    to: str
    subject: str
    body: str


def compose(to: str, template: str, locale: str, **context) -> Mail:
    """Render templates/email/<template>.txt in the recipient's language; its first line is the subject.

    Emails get no page context (the context processors build a logout form, whose CSRF token would
    even put a session cookie on a JSON answer): only `current_locale` besides what is passed."""
    with force_locale(locale):
        email_template = current_app.jinja_env.get_template(f"email/{template}.txt")
        text = email_template.render(current_locale=str(get_locale()), **context)
    subject, _, body = text.strip().partition("\n")
    return Mail(to=to, subject=subject.strip(), body=body.strip() + "\n")


@dataclass(frozen=True)
class Queued:
    """Stands in a service's list of mails for those it recorded in a queue table: once the
    caller has committed, `send` calls `drain` (see `deliver_queued`)."""

    drain: Callable[[], object]


def send(mails: list["Mail | Queued"]) -> None:
    """Call after the commit. Raises on the first message that cannot be sent."""
    for error in send_each([mail for mail in mails if isinstance(mail, Mail)]):
        if error is not None:
            raise error
    for drain in dict.fromkeys(mail.drain for mail in mails if isinstance(mail, Queued)):
        deliver_queued(drain)


def send_each(mails: list[Mail]) -> list[Exception | None]:
    """Sends every message it can; for each, None or what stopped it (a queue retries those)."""
    if not mails:
        return []
    config = current_app.config
    if not config["SMTP_HOST"]:
        outbox = outbox_path()
        outbox.mkdir(parents=True, exist_ok=True)
        for mail in mails:
            name = f"{utcnow():%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}.eml"
            draft = outbox / f".{name}"
            draft.write_bytes(bytes(_message(mail)))
            draft.rename(outbox / name)  # a reader never sees half a message
        return [None] * len(mails)
    errors: list[Exception | None] = []
    try:
        with smtplib.SMTP(config["SMTP_HOST"], config["SMTP_PORT"], timeout=30) as smtp:
            if config["SMTP_STARTTLS"]:
                smtp.starttls()
            if config["SMTP_USER"]:
                smtp.login(config["SMTP_USER"], config["SMTP_PASSWORD"] or "")
            for mail in mails:
                try:
                    smtp.send_message(_message(mail))
                    errors.append(None)
                except smtplib.SMTPRecipientsRefused as error:  # this address only: go on with the rest
                    errors.append(error)
    except (OSError, smtplib.SMTPException) as error:  # the server is gone: the rest wait for a retry
        errors += [error] * (len(mails) - len(errors))
    return errors


# --- delivering a queue after the commit ---------------------------------------------------

# A background deliverer waits for this many seconds without new mail before it starts, so a
# rush's answers are not slowed by its emails; it never waits longer than MAX_DELAY_SECONDS.
QUIET_SECONDS = 1.0
MAX_DELAY_SECONDS = 10.0
_log = logging.getLogger(__name__)


def deliver_queued(drain: Callable[[], object]) -> None:
    """After a commit that queued mail: `drain()` (claims, sends and marks what is queued) now,
    or, in a request, wakes this process's background deliverer for it (MAIL_DELIVERY
    "background") or leaves it to `flask mail deliver` ("cron")."""
    app = current_app._get_current_object()
    delivery = app.config.get("MAIL_DELIVERY", "inline")
    if delivery == "inline" or not has_request_context():
        drain()  # the CLI and cron exit soon: nothing may wait for a thread
    elif delivery == "background":
        BackgroundDeliverer.of(app, drain).wake()


class BackgroundDeliverer:
    """A daemon thread per process and queue. What it has not sent when the process ends stays
    queued for the next wake in any process, or for `flask mail deliver` from cron."""

    def __init__(self, app: Flask, drain: Callable[[], object]):
        self.app, self.drain, self.pid = app, drain, os.getpid()
        self.woken = threading.Condition()
        self.first_wake = self.last_wake = None
        self.busy = False
        self.thread = threading.Thread(target=self._run, name="mail-deliverer", daemon=True)
        self.thread.start()
        atexit.register(self.finish)

    @classmethod
    def of(cls, app: Flask, drain: Callable[[], object]) -> "BackgroundDeliverer":
        deliverers = app.extensions.setdefault("meetups.mail_deliverers", {})
        deliverer = deliverers.get(drain)
        if deliverer is None or deliverer.pid != os.getpid():  # threads do not survive a fork
            with _new_deliverer:
                deliverer = deliverers.get(drain)
                if deliverer is None or deliverer.pid != os.getpid():
                    deliverer = deliverers[drain] = cls(app, drain)
        return deliverer

    def wake(self) -> None:
        with self.woken:
            self.last_wake = time.monotonic()
            if self.first_wake is None:  # otherwise the thread is already counting down: let it sleep
                self.first_wake = self.last_wake
                self.woken.notify()

    def finish(self, seconds: float = 5.0) -> None:
        """At exit: deliver what this process was woken for, within `seconds`."""
        if self.pid != os.getpid():
            return
        deadline = time.monotonic() + seconds
        with self.woken:
            if self.first_wake is not None:
                self.first_wake = self.last_wake = -MAX_DELAY_SECONDS  # due now
                self.woken.notify()
            while (self.first_wake is not None or self.busy) and time.monotonic() < deadline:
                self.woken.wait(0.05)

    def _run(self) -> None:
        while True:
            with self.woken:
                while True:
                    if self.first_wake is not None:
                        now = time.monotonic()
                        due = min(self.last_wake + QUIET_SECONDS, self.first_wake + MAX_DELAY_SECONDS)
                        if now >= due:
                            break
                        self.woken.wait(due - now)
                    else:
                        self.woken.wait()
                self.first_wake = self.last_wake = None
                self.busy = True
            try:
                with self.app.app_context():
                    self.drain()
            except Exception:  # noqa: BLE001 — the rows stay queued; the next wake or cron retries
                _log.exception("mail delivery failed; the mail stays queued")
            finally:
                with self.woken:
                    self.busy = False
                    self.woken.notify_all()


_new_deliverer = threading.Lock()


def outbox_path() -> Path:
    return Path(current_app.instance_path) / "outbox"


def _message(mail: Mail) -> MIMEText:
    # email.message.EmailMessage parses every header it is given, which costs a millisecond a
    # message; the classic API writes the same standard message. ASCII stays as it is, anything
    # else is encoded (RFC 2047 headers, a base64 body).
    message = MIMEText(mail.body, "plain", "us-ascii" if mail.body.isascii() else "utf-8")
    name, address = parseaddr(current_app.config["MAIL_FROM"])
    message["From"] = formataddr((name, address), charset="utf-8")
    message["To"] = _header(mail.to)
    message["Subject"] = _header(mail.subject)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="city-meetups")
    return message


def _header(text: str) -> str | Header:
    return text if text.isascii() else Header(text, "utf-8")
