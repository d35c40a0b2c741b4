"""`flask --app app mail …`: the mail queue from the command line (cron)."""
import click
from flask.cli import AppGroup

from . import mailing

mail_cli = AppGroup("mail", help="Fans' registration emails waiting in the mail queue.")


@mail_cli.command("deliver")
@click.option("--limit", type=click.IntRange(min=1), help="Send at most this many [everything due].")
def deliver_command(limit: int | None) -> None:
    """Send every queued email that is due (those a server process did not get to, and failed
    ones again after a few minutes); each is claimed first, so it is safe beside running servers."""
    delivery = mailing.deliver(limit)
    left = mailing.pending()
    click.echo(f"sent {delivery.sent}, failed {delivery.failed}, skipped {delivery.skipped}; {left} still queued")
    if delivery.failed:
        raise SystemExit(1)
