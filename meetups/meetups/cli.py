"""`flask meetups …`: create, publish, close and cancel meetups; hand out invite codes; sweep
lapsed offers (for cron)."""
import json
from datetime import datetime

import click
from flask.cli import AppGroup

from ..errors import DomainError
from .services import MeetupDetails, cancel_meetup, close_registration, create_meetup, publish_meetup

meetups_cli = AppGroup("meetups", help="Meetups.")


def _iso(_ctx, _param, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 date and time, e.g. 2026-12-05T19:00") from None


def _run(service, *args):
    try:
        return service(*args)
    except DomainError as error:
        raise click.ClickException(error.message) from None


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
    meetup = _run(create_meetup, details, publish)
    if as_json:
        click.echo(json.dumps({"id": meetup.id}))
    else:
        click.echo(f"created meetup {meetup.id}: {meetup.title} ({meetup.status})")


@meetups_cli.command("publish")
@click.argument("meetup_id", type=int)
def publish_command(meetup_id: int) -> None:
    """Publish a draft, or reopen a closed meetup's registration."""
    meetup = _run(publish_meetup, meetup_id)
    click.echo(f"meetup {meetup.id}: {meetup.status}")


@meetups_cli.command("close")
@click.argument("meetup_id", type=int)
def close_command(meetup_id: int) -> None:
    """Close registration (the meetup stays listed)."""
    meetup = _run(close_registration, meetup_id)
    click.echo(f"meetup {meetup.id}: {meetup.status}")


@meetups_cli.command("cancel")
@click.argument("meetup_id", type=int)
def cancel_command(meetup_id: int) -> None:
    """Cancel a meetup and email everyone registered."""
    meetup = _run(cancel_meetup, meetup_id)
    click.echo(f"meetup {meetup.id}: {meetup.status}")


@meetups_cli.command("codes")
@click.argument("meetup_id", type=int)
@click.option("--count", required=True, type=int, help="How many single-use codes (each holds a seat).")
@click.option("--label", default="", help="Whom they are for (shown to planners).")
def codes_command(meetup_id: int, count: int, label: str) -> None:
    """Create invite codes for a meetup and print them, one a line."""
    from ..registration.services import create_invite_codes, format_code

    for code in _run(create_invite_codes, meetup_id, count, label):
        click.echo(format_code(code.code))


@meetups_cli.command("sweep")
def sweep_command() -> None:
    """Pass lapsed seat offers on and seat the waiting lists (run it from cron, e.g. every 5 minutes)."""
    from ..registration.services import sweep_all

    click.echo(f"promoted {sweep_all()} fans")
