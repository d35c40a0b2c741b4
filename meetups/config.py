"""Settings: defaults, then instance/config.py, then MEETUPS_* environment variables."""
import os
import secrets
from pathlib import Path

DEFAULT_RATELIMIT = "30 per minute"
MAIL_DELIVERIES = ("inline", "background", "cron")  # shared.mail.deliver_queued


class ConfigError(RuntimeError):
    """The configuration cannot be used; the message says what to set."""


def instance_path_from_env() -> str:
    return os.path.abspath(os.environ.get("MEETUPS_INSTANCE_PATH", "instance"))


def load_config(app, test_config=None) -> None:
    app.config.from_mapping(
        ENV_NAME="development",
        SQLALCHEMY_DATABASE_URI=None,
        SECRET_KEY=None,
        RATELIMIT="default",
        RATELIMIT_STORAGE_URI="memory://",
        BABEL_DEFAULT_LOCALE="en",
        BABEL_TRANSLATION_DIRECTORIES=str(Path(app.root_path) / "translations"),
        LANGUAGES={"en": "English", "zh": "中文"},
        WTF_CSRF_TIME_LIMIT=None,
        TICKET_KEY=None,
        TICKET_KEYS_PREVIOUS=None,
        BASE_URL=None,
        MAIL_FROM="City Meetups <meetups@localhost>",
        SMTP_HOST=None,
        SMTP_PORT=587,
        SMTP_USER=None,
        SMTP_PASSWORD=None,
        SMTP_STARTTLS=True,
        MAIL_DELIVERY=None,  # "inline", "background" or "cron"; by default background in production
        MAX_CONTENT_LENGTH=16 * 1024 * 1024,
    )
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
    else:
        app.config.from_mapping(test_config)

    env = os.environ
    for variable, key in (
        ("MEETUPS_DATABASE_URL", "SQLALCHEMY_DATABASE_URI"),
        ("MEETUPS_SECRET_KEY", "SECRET_KEY"),
        ("MEETUPS_ENV", "ENV_NAME"),
        ("MEETUPS_RATELIMIT", "RATELIMIT"),
        ("MEETUPS_RATELIMIT_STORAGE_URL", "RATELIMIT_STORAGE_URI"),
        ("MEETUPS_TICKET_KEY", "TICKET_KEY"),
        ("MEETUPS_TICKET_KEYS_PREVIOUS", "TICKET_KEYS_PREVIOUS"),
        ("MEETUPS_BASE_URL", "BASE_URL"),
        ("MEETUPS_MAIL_FROM", "MAIL_FROM"),
        ("MEETUPS_SMTP_HOST", "SMTP_HOST"),
        ("MEETUPS_SMTP_PORT", "SMTP_PORT"),
        ("MEETUPS_SMTP_USER", "SMTP_USER"),
        ("MEETUPS_SMTP_PASSWORD", "SMTP_PASSWORD"),
        ("MEETUPS_SMTP_STARTTLS", "SMTP_STARTTLS"),
        ("MEETUPS_MAIL_DELIVERY", "MAIL_DELIVERY"),
    ):
        if test_config is not None and key in test_config:
            continue  # a test's explicit setting beats the developer's shell
        if env.get(variable):
            app.config[key] = env[variable]

    if app.config["ENV_NAME"] not in ("development", "production"):
        raise ConfigError(
            f"MEETUPS_ENV must be 'development' or 'production', not {app.config['ENV_NAME']!r}."
        )
    production = app.config["ENV_NAME"] == "production"

    if not app.config["SQLALCHEMY_DATABASE_URI"]:
        database = Path(app.instance_path) / "meetups.sqlite3"
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{database}"

    if not app.config["SECRET_KEY"]:
        if production:
            raise ConfigError(
                "MEETUPS_SECRET_KEY is required when MEETUPS_ENV=production: set it to a long "
                'random string, e.g. python3 -c "import secrets; print(secrets.token_urlsafe(48))"'
            )
        app.config["SECRET_KEY"] = instance_secret(Path(app.instance_path), "secret_key")
    if not app.config["TICKET_KEY"]:
        # Not the session key: rotating one must not touch the other (README, "Ticket codes").
        app.config["TICKET_KEY"] = instance_secret(Path(app.instance_path), "ticket_key")
    app.config["SMTP_PORT"] = int(app.config["SMTP_PORT"])
    app.config["MAIL_DELIVERY"] = app.config["MAIL_DELIVERY"] or ("background" if production else "inline")
    if app.config["MAIL_DELIVERY"] not in MAIL_DELIVERIES:
        raise ConfigError("MEETUPS_MAIL_DELIVERY must be 'inline', 'background' or 'cron', "
                          f"not {app.config['MAIL_DELIVERY']!r}.")
    if isinstance(app.config["SMTP_STARTTLS"], str):
        app.config["SMTP_STARTTLS"] = app.config["SMTP_STARTTLS"].lower() not in ("0", "off", "false", "no")

    limit = app.config["RATELIMIT"]
    app.config["RATELIMIT_ENABLED"] = limit != "off"
    app.config["PUBLIC_WRITE_LIMIT"] = DEFAULT_RATELIMIT if limit in ("default", "off") else limit

    if production:  # production is served over HTTPS (see README): cookies never travel in clear
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["REMEMBER_COOKIE_SECURE"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"


def instance_secret(instance: Path, name: str) -> str:
    """A random key kept in the instance folder, so that it survives restarts."""
    key_file = instance / name
    if not key_file.exists():
        instance.mkdir(parents=True, exist_ok=True)
        # Write aside, then link into place: two processes starting at once agree on one key
        # and neither can read a half-written file.
        draft = instance / f".{name}.{os.getpid()}"
        draft.write_text(secrets.token_urlsafe(48))
        draft.chmod(0o600)
        try:
            os.link(draft, key_file)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return key_file.read_text().strip()
