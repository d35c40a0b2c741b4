"""`flask feedback …`: ask attendees to rate the meetups that ended (for cron)."""
import click
from flask.cli import AppGroup

from ..errors import DomainError
from .ratings import due_for_ratings, request_ratings

feedback_cli = AppGroup("feedback", help="The feedback pool and meetup ratings.")


@feedback_cli.command("ask-ratings")
def ask_ratings_command() -> None:
    """Email the attendees of every meetup that ended in the last 14 days a link to rate it, once
    per meetup (run it from cron, e.g. hourly)."""
    asked = 0
    for meetup in due_for_ratings():
        try:
            emailed = request_ratings(meetup)
        except DomainError as error:  # another run asked at the same moment
            click.echo(f"meetup {meetup.id}: {error.message}", err=True)
            continue
        asked += 1
        click.echo(f"meetup {meetup.id} ({meetup.title}): emailed {emailed} attendees")
    click.echo(f"asked {asked} meetups")
