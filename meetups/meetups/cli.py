"""`flask meetups create …`."""
import json
from datetime import datetime

import click
from flask.cli import AppGroup

from ..errors import DomainError
from .services import create_meetup

meetups_cli = AppGroup("meetups", help="Meetups.")


def _iso(_ctx, _param, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 date and time, e.g. 2026-12-05T19:00") from None


@meetups_cli.command("create")
@click.option("--city", required=True, help="Any name of a gazetteer city: Chengdu, 成都.")
@click.option("--starts-at", required=True, callback=_iso, help="ISO 8601; without an offset, local time in the city.")
@click.option("--ends-at", callback=_iso, help="ISO 8601, after --starts-at.")
@click.option("--capacity", required=True, type=int, help="30 to 50 seats.")
@click.option("--title")
@click.option("--venue", default="", help="Venue name.")
@click.option("--address", default="", help="Venue address.")
@click.option("--publish", is_flag=True, help="Publish now (otherwise a draft).")
@click.option("--json", "as_json", is_flag=True, help='Print {"id": …} only.')
def create_command(city, starts_at, ends_at, capacity, title, venue, address, publish, as_json) -> None:
    """Create a meetup."""
    try:
        meetup = create_meetup(city, starts_at, capacity, title, venue, address, ends_at, publish)
    except DomainError as error:
        raise click.ClickException(error.message) from None
    if as_json:
        click.echo(json.dumps({"id": meetup.id}))
    else:
        click.echo(f"created meetup {meetup.id}: {meetup.title} ({meetup.status})")
