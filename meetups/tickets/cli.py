"""`flask tickets …`: rotate the ticket signing key; tell what a ticket code belongs to."""
import os
import secrets
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from ..shared.ticket_codes import verify
from ..shared.timeutil import format_in_zone
from .services import TicketState, find_ticket

tickets_cli = AppGroup("tickets", help="Ticket codes and their signing key.")

KEY_FILE = "ticket_key"
PREVIOUS_KEYS_FILE = "ticket_key.previous"


@tickets_cli.command("rotate-key")
def rotate_key_command() -> None:
    """New signing key for tickets; old tickets still verify."""
    if os.environ.get("MEETUPS_TICKET_KEY"):
        raise click.ClickException(
            "The ticket key comes from MEETUPS_TICKET_KEY, so it is rotated there: set MEETUPS_TICKET_KEY "
            "to a new random key, list the old one in TICKET_KEYS_PREVIOUS (instance/config.py, space-separated) "
            "or add it as a line to instance/ticket_key.previous, so that tickets already handed out still "
            "verify, and restart the app."
        )
    instance = Path(current_app.instance_path)
    key_file = instance / KEY_FILE
    current = key_file.read_text().strip() if key_file.exists() else ""
    if current != current_app.config["TICKET_KEY"]:
        raise click.ClickException(
            f"The ticket key is set in instance/config.py (TICKET_KEY), not kept in {key_file}: rotate it "
            "there, list the old key in TICKET_KEYS_PREVIOUS (or as a line of instance/ticket_key.previous), "
            "and restart the app."
        )
    rotate_key(instance)
    click.echo(f"New ticket key written to {key_file}; the old one was added to {instance / PREVIOUS_KEYS_FILE}, "
               "so tickets already handed out still verify.")
    click.echo("Restart the app (every server process): it reads the key at start and signs with the old key "
               "until then. Remove a previous key once the meetups its tickets were for are over.")


def rotate_key(instance: Path) -> None:
    """The current key goes to the end of ticket_key.previous (one per line), then a new key takes
    its place. In this order, a crash in between leaves the old key in both files, never in none."""
    key_file, previous_file = instance / KEY_FILE, instance / PREVIOUS_KEYS_FILE
    old_key = key_file.read_text().strip()
    earlier = previous_file.read_text() if previous_file.exists() else ""
    if earlier and not earlier.endswith("\n"):
        earlier += "\n"
    _write_secret(previous_file, f"{earlier}{old_key}\n")
    _write_secret(key_file, secrets.token_urlsafe(48))


def _write_secret(path: Path, text: str) -> None:
    draft = path.with_name(f".{path.name}.{os.getpid()}")
    draft.write_text(text)
    draft.chmod(0o600)
    os.replace(draft, path)


@tickets_cli.command("verify")
@click.argument("code")
def verify_command(code: str) -> None:
    """Whose ticket CODE is, and whether to admit them."""
    ref = verify(code.strip())
    if ref is None:
        raise click.ClickException(
            "invalid: not a genuine ticket code (mistyped, another format, or signed with a key this app "
            "does not know)."
        )
    ticket = find_ticket(ref)
    if ticket is None:
        raise click.ClickException(
            "revoked: the code is genuine, but its registration was cancelled (or its meetup is not published)."
        )
    registration, meetup = ticket.registration, ticket.meetup
    click.echo(f"registration {registration.id}: {registration.name} <{registration.email}>, {registration.status}")
    click.echo(f"meetup {meetup.id}: {meetup.title} — {meetup.city.name}, "
               f"{format_in_zone(meetup.starts_at, meetup.city.timezone, 'medium')} ({meetup.city.timezone}), "
               f"{meetup.status}")
    if ticket.state is TicketState.VALID:
        click.echo("valid: admit this fan.")
        return
    reason = ("the meetup is cancelled" if ticket.state is TicketState.MEETUP_CANCELLED
              else f"{registration.status}, not confirmed: no seat yet")
    raise click.ClickException(f"not admitted: {reason}.")
