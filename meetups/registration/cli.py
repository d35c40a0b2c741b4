"""The commands that move seats, added to the `meetups` group by meetups.cli (cancel a meetup,
hand out invite codes, sweep lapsed offers for cron), and `flask mail …`: the mail queue (cron)."""
import time

import click
from flask.cli import AppGroup

from ..extensions import db
from ..shared.commands import run_service
from . import mailing
from .services import cancel_meetup, create_invite_codes, format_code, sweep_all

mail_cli = AppGroup("mail", help="Fans' registration emails waiting in the mail queue.")


@mail_cli.command("deliver")
@click.option("--limit", type=click.IntRange(min=1), help="Send at most this many [everything due].")
@click.option("--every", type=click.IntRange(min=1), metavar="SECONDS",
              help="Deliver again every SECONDS until stopped (the mail service of MEETUPS_MAIL_DELIVERY=cron).")
def deliver_command(limit: int | None, every: int | None) -> None:
    """Send every queued email that is due (those a server process did not get to, and failed
    ones again after a few minutes); each is claimed first, so it is safe beside running servers."""
    while True:
        delivery = mailing.deliver(limit)
        left = mailing.pending()
        click.echo(f"sent {delivery.sent}, failed {delivery.failed}, skipped {delivery.skipped}; {left} still queued")
        if every is None:
            if delivery.failed:
                raise SystemExit(1)
            return
        db.session.remove()  # as `meetups sweep --every`: a fresh session each round
        time.sleep(every)


@click.command("cancel")
@click.argument("meetup_id", type=int)
def cancel_command(meetup_id: int) -> None:
    """Cancel a meetup and email everyone registered."""
    meetup = run_service(cancel_meetup, meetup_id)
    click.echo(f"meetup {meetup.id}: {meetup.status}")


@click.command("codes")
@click.argument("meetup_id", type=int)
@click.option("--count", required=True, type=int, help="How many single-use codes (each holds a seat).")
@click.option("--label", default="", help="Whom they are for (shown to planners).")
def codes_command(meetup_id: int, count: int, label: str) -> None:
    """Create invite codes for a meetup and print them, one a line."""
    for code in run_service(create_invite_codes, meetup_id, count, label):
        click.echo(format_code(code.code))


@click.command("sweep")
@click.option("--every", type=click.IntRange(min=1), metavar="SECONDS",
              help="Sweep again every SECONDS until stopped (a service of its own, instead of cron).")
def sweep_command(every: int | None) -> None:
    """Pass lapsed seat offers on and seat the waiting lists (freed seats, released invite-code
    holds): run it from cron every minute, or keep `--every 60` running. Pages never do it."""
    while True:
        click.echo(f"promoted {sweep_all()} fans")
        if every is None:
            return
        db.session.remove()  # a fresh session each round: nothing read in one round is kept
        time.sleep(every)


MEETUP_COMMANDS = (cancel_command, codes_command, sweep_command)
