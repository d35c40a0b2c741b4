"""Outgoing email: through SMTP when MEETUPS_SMTP_HOST is set, otherwise into instance/outbox/
as .eml files (development, the demo and the tests read them there).

Services build their messages, commit, and only then call `send`: a rolled-back change never
mails anyone.
"""
import smtplib
import uuid
from dataclasses import dataclass
from email.header import Header
from email.mime.text import MIMEText
from email.utils import formataddr, formatdate, make_msgid, parseaddr
from pathlib import Path

from flask import current_app
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


def send(mails: list[Mail]) -> None:
    if not mails:
        return
    messages = [_message(mail) for mail in mails]
    config = current_app.config
    if config["SMTP_HOST"]:
        with smtplib.SMTP(config["SMTP_HOST"], config["SMTP_PORT"], timeout=30) as smtp:
            if config["SMTP_STARTTLS"]:
                smtp.starttls()
            if config["SMTP_USER"]:
                smtp.login(config["SMTP_USER"], config["SMTP_PASSWORD"] or "")
            for message in messages:
                smtp.send_message(message)
        return
    outbox = outbox_path()
    outbox.mkdir(parents=True, exist_ok=True)
    for message in messages:
        name = f"{utcnow():%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}.eml"
        draft = outbox / f".{name}"
        draft.write_bytes(bytes(message))
        draft.rename(outbox / name)  # a reader never sees half a message


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
