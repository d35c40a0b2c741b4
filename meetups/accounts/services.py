"""Creating staff accounts, signing in, and issuing and checking API tokens."""
import functools
import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.util import identity_key
from werkzeug.security import generate_password_hash

from ..errors import DomainError
from ..extensions import db
from ..shared.db import first
from ..shared.timeutil import utcnow
from ..shared.validation import Fields
from .models import ROLE_VALUES, ApiToken, User

MIN_PASSWORD_LENGTH = 8
TOKEN_PREFIX = "mtk_"


@functools.cache
def _dummy_hash() -> str:
    """Hashed once per process, at the first login for an unknown email (not at import: every
    command would pay ~0.1 s for it), so that such a login costs as much as a known one."""
    return generate_password_hash("not a real password")


def create_user(email: str, role: str, password: str, name: str = "") -> User:
    fields = Fields()
    email = fields.email("email", email, required="Give the account's email address.",
                         invalid=f"Not a valid email address: {email!r}.")
    role = fields.choice("role", role, ROLE_VALUES, message=f"The role must be one of {', '.join(ROLE_VALUES)}.")
    password = fields.text("password", password, strip=False)
    if len(password) < MIN_PASSWORD_LENGTH:
        fields.refuse("password", f"The password must be at least {MIN_PASSWORD_LENGTH} characters.")
    name = fields.text("name", name, User.name)
    fields.done(" ".join(fields.errors.values()))  # the command line shows this message
    if db.session.scalar(select(User.id).where(User.email == email)) is not None:
        message = f"There is already an account for {email}."
        raise DomainError("email_taken", message, {"email": message}, 409)
    user = User(email=email, role=role, name=name)
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    return user


def authenticate(email: str, password: str) -> User | None:
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        User(password_hash=_dummy_hash()).check_password(password)
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
# pays for it. A revoked token or a disabled account finds no row.
_users, _tokens = User.__table__, ApiToken.__table__
_CALLER = (select(_tokens.c.id, _tokens.c.last_used_at, *_users.c)
           .join(_users, _users.c.id == _tokens.c.user_id)
           .where(_tokens.c.token_hash == bindparam("token_hash"), _tokens.c.revoked_at.is_(None),
                  _users.c.active.is_(True)))
_USER_COLUMNS = tuple(column.key for column in _users.c)
_TOKEN_USED = update(_tokens).where(_tokens.c.id == bindparam("token_id")).values(last_used_at=bindparam("now"))
# Record use at most this often: a write per scan would slow the door down.
TOKEN_USE_RESOLUTION = timedelta(minutes=5)


def user_for_token(token: str, record_use: bool = True) -> User | None:
    """The active account behind a bearer token that is not revoked; None for anything else. The
    token is random (256 bits), so its SHA-256 is a safe lookup key: no slow hash is needed.
    `record_use`: note when the token was last used (at most every TOKEN_USE_RESOLUTION)."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    found = first(_CALLER, {"token_hash": _token_hash(token)})
    if found is None:
        return None
    token_id, last_used_at, *account = found
    now = utcnow()
    if record_use and (last_used_at is None or now - last_used_at > TOKEN_USE_RESOLUTION):
        db.session.connection().execute(_TOKEN_USED, {"token_id": token_id, "now": now})
        db.session.commit()
    return _account(dict(zip(_USER_COLUMNS, account, strict=True)))


def _account(columns: dict) -> User:
    """The session's User for this row, as if a query had loaded it (without the ORM's loading,
    which costs more than the lookup): the one the session already holds, or a new one attached."""
    held = db.session.identity_map.get(identity_key(User, columns["id"]))
    if held is not None:
        return held
    user = User(**columns)
    make_transient_to_detached(user)  # its values are the database's: nothing to write
    db.session.add(user)
    return user


def list_users() -> list[User]:
    return list(db.session.scalars(select(User).order_by(User.role, User.email)))
