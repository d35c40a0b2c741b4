"""`flask meetups …`: create, publish and close meetups (registration.cli adds the commands that
move seats: cancel, codes, sweep)."""
import json
from datetime import datetime

import click
from flask.cli import AppGroup

from ..shared.commands import run_service
from .services import MeetupDetails, close_registration, create_meetup, publish_meetup

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
@click.option("--venue-location", default="", help='The venue\'s pin, "LATITUDE,LONGITUDE" (WGS-84).')
@click.option("--opens-at", callback=_iso, help="Registration opens (default: on publication).")
@click.option("--closes-at", callback=_iso, help="Registration closes (default: when the meetup starts).")
@click.option("--codes-release-at", callback=_iso, help="Seats held for invite codes go public (default: the start).")
@click.option("--offer-hours", type=int, help="A freed seat is offered for this long (default: promote at once).")
@click.option("--publish", is_flag=True, help="Publish now (otherwise a draft).")
@click.option("--json", "as_json", is_flag=True, help='Print {"id": …} only.')
def create_command(city, starts_at, ends_at, capacity, title, venue, address, venue_location, opens_at, closes_at,
                   codes_release_at, offer_hours, publish, as_json) -> None:
    """Create a meetup."""
    details = MeetupDetails(city=city, starts_at=starts_at, capacity=capacity, title=title or "", venue_name=venue,
                            venue_address=address, venue_location=venue_location, ends_at=ends_at,
                            registration_opens_at=opens_at, registration_closes_at=closes_at,
                            codes_release_at=codes_release_at, offer_hours=offer_hours)
    meetup = run_service(create_meetup, details, publish)
    if as_json:
        click.echo(json.dumps({"id": meetup.id}))
    else:
        click.echo(f"created meetup {meetup.id}: {meetup.title} ({meetup.status})")


@meetups_cli.command("publish")
@click.argument("meetup_id", type=int)
def publish_command(meetup_id: int) -> None:
    """Publish a draft, or reopen a closed meetup's registration."""
    meetup = run_service(publish_meetup, meetup_id)
    click.echo(f"meetup {meetup.id}: {meetup.status}")


@meetups_cli.command("close")
@click.argument("meetup_id", type=int)
def close_command(meetup_id: int) -> None:
    """Close registration (the meetup stays listed)."""
    meetup = run_service(close_registration, meetup_id)
    click.echo(f"meetup {meetup.id}: {meetup.status}")
