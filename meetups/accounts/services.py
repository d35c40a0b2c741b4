"""Creating staff accounts, signing in, and issuing and checking API tokens."""
import hashlib
import secrets
from datetime import timedelta

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload
from werkzeug.security import generate_password_hash

from ..errors import DomainError
from ..extensions import db
from ..timeutil import utcnow
from .models import ROLE_VALUES, ApiToken, User

MIN_PASSWORD_LENGTH = 8
TOKEN_PREFIX = "mtk_"
# Hashed once, so that a login for an unknown email costs as much as one for a known one.
_DUMMY_HASH = generate_password_hash("not a real password")


def normalise_email(email: str) -> str:
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as error:
        message = f"Not a valid email address: {error}"
        raise DomainError("invalid", message, {"email": message}) from None


def create_user(email: str, role: str, password: str, name: str = "") -> User:
    email = normalise_email(email)
    if role not in ROLE_VALUES:
        message = f"The role must be one of {', '.join(ROLE_VALUES)}."
        raise DomainError("invalid", message, {"role": message})
    if len(password) < MIN_PASSWORD_LENGTH:
        message = f"The password must be at least {MIN_PASSWORD_LENGTH} characters."
        raise DomainError("invalid", message, {"password": message})
    if db.session.scalar(select(User.id).where(User.email == email)) is not None:
        message = f"There is already an account for {email}."
        raise DomainError("email_taken", message, {"email": message}, 409)
    user = User(email=email, role=role, name=name.strip())
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    return user


def authenticate(email: str, password: str) -> User | None:
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        User(password_hash=_DUMMY_HASH).check_password(password)
        return None
    if not user.active or not user.check_password(password):
        return None
    return user


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(email: str) -> str:
    """A new bearer token for the account; only its hash is kept, so show it now or never."""
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise DomainError("unknown_user", f"No account for {email}.", status=404)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    db.session.add(ApiToken(user=user, token_hash=_token_hash(token)))
    db.session.commit()
    return token


# One statement for the token and its account, built once: every API call (each scan at the door)
# pays for it.
_TOKEN_AND_USER = (select(ApiToken).options(joinedload(ApiToken.user))
                   .where(ApiToken.token_hash == bindparam("token_hash")))


def user_for_token(token: str) -> User | None:
    if not token.startswith(TOKEN_PREFIX):
        return None
    api_token = db.session.scalar(_TOKEN_AND_USER, {"token_hash": _token_hash(token)})
    if api_token is None or api_token.revoked_at is not None or not api_token.user.active:
        return None
    now = utcnow()
    # Record use at most every few minutes: a write per scan would slow the door down.
    if api_token.last_used_at is None or now - api_token.last_used_at > timedelta(minutes=5):
        api_token.last_used_at = now
        db.session.commit()
    return api_token.user


def list_users() -> list[User]:
    return list(db.session.scalars(select(User).order_by(User.role, User.email)))
