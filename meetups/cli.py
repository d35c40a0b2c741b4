"""Registers every command group with `flask --app app`."""
from pathlib import Path

import click
from flask import current_app

from .accounts.cli import users_cli
from .cities.cli import cities_cli
from .demo import load_demo
from .events.cli import meetups_cli
from .fans.cli import fans_cli
from .feedback.cli import feedback_cli
from .planning.cli import COMMANDS as PLANNING_COMMANDS
from .registration.cli import MEETUP_COMMANDS, mail_cli
from .shared.backup import backup_database
from .shared.commands import run_service
from .tickets.cli import tickets_cli


def register_cli(app) -> None:
    # A group's commands may come from the domains above the one that owns it: `cities rank`
    # needs the ranking (planning), `meetups cancel` the seats (registration).
    for command in PLANNING_COMMANDS:
        cities_cli.add_command(command)
    for command in MEETUP_COMMANDS:
        meetups_cli.add_command(command)
    for group in (cities_cli, fans_cli, users_cli, meetups_cli, tickets_cli, feedback_cli, mail_cli):
        app.cli.add_command(group)
    app.cli.add_command(demo_command)
    app.cli.add_command(backup_command)


@click.command("demo")
def demo_command() -> None:
    """Load demo data (gazetteer, ~50 000 fans, one account per role, meetups); idempotent."""
    if current_app.config["ENV_NAME"] == "production":
        raise click.ClickException("The demo has well-known passwords; it is refused when MEETUPS_ENV=production.")
    report = load_demo(progress=lambda message: click.echo(message, err=True))
    click.echo("Demo accounts (email / password):")
    for email, role, password in report.accounts:
        click.echo(f"  {role:<9} {email:<26} {password}")


@click.command("backup")
@click.option("--to", "directory", type=click.Path(file_okay=False), help="Folder for the backup [instance/backups].")
def backup_command(directory: str | None) -> None:
    """Back the database up (SQLite: online copy; PostgreSQL: pg_dump)."""
    target = run_service(backup_database, Path(directory or Path(current_app.instance_path) / "backups"))
    click.echo(str(target))
