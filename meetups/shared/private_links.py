"""Tokens of private links (a fan's city request, and the same format as the registration's manage
link): `<row id>-<HMAC of the row's salt>` under the secret key, so a copy of the database alone
opens nothing, and changing the secret key invalidates the links already sent."""
import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable
from typing import TypeVar

from flask import current_app
from flask_babel import gettext as _

from ..errors import DomainError
from ..extensions import db
from .validation import whole_number

Row = TypeVar("Row")


def link_token(purpose: str, row_id: int, salt: str) -> str:
    """`purpose` keeps one kind of link from opening another kind's row of the same id."""
    message = f"{purpose}.{row_id}.{salt}".encode()
    digest = hmac.new(current_app.config["SECRET_KEY"].encode(), message, hashlib.sha256).digest()[:18]
    return f"{row_id}-{base64.urlsafe_b64encode(digest).decode()}"


def token_row_id(token: str) -> int | None:
    """The row a token claims to open, or None when it cannot name one."""
    number, _dash, _signature = (token or "").strip().partition("-")
    return whole_number(number)


def token_matches(token: str, purpose: str, row_id: int, salt: str) -> bool:
    return hmac.compare_digest(link_token(purpose, row_id, salt).encode(), (token or "").strip().encode())


def new_salt() -> str:
    return secrets.token_urlsafe(16)


def row_for_token(model: type[Row], token: str, purpose: str, salt_of: Callable[[Row], str]) -> Row | None:
    """The row the token opens, or None (no such row, or a signature that does not match)."""
    row_id = token_row_id(token)
    row = db.session.get(model, row_id) if row_id is not None else None
    return row if row is not None and token_matches(token, purpose, row_id, salt_of(row)) else None


def row_for_link(model: type[Row], token: str, purpose: str, salt_of: Callable[[Row], str]) -> Row:
    """The row a fan's private link opens; a bad link is the 404 page (or 404 `not_found`)."""
    row = row_for_token(model, token, purpose, salt_of)
    if row is None:
        raise DomainError("not_found", _("This link is not valid (was it copied in full?)."), status=404)
    return row


def keep_private(response):
    """A page opened by a private link: its URL is the fan's key, so it stays out of Referer
    headers, shared caches and search engines."""
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
