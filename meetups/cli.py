"""Registers every command group with `flask --app app`."""
import click
from flask import current_app


def register_cli(app) -> None:
    from .accounts.cli import users_cli
    from .cities.cli import cities_cli
    from .fans.cli import fans_cli
    from .feedback.cli import feedback_cli
    from .meetups.cli import meetups_cli
    from .registration.cli import mail_cli
    from .tickets.cli import tickets_cli

    for group in (cities_cli, fans_cli, users_cli, meetups_cli, tickets_cli, feedback_cli, mail_cli):
        app.cli.add_command(group)
    app.cli.add_command(demo_command)
    app.cli.add_command(backup_command)


@click.command("demo")
def demo_command() -> None:
    """Load demo data (gazetteer, ~50 000 fans, one account per role, meetups); idempotent."""
    from .demo import load_demo

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
    from pathlib import Path

    from .backup import backup_database
    from .errors import DomainError

    try:
        target = backup_database(Path(directory or Path(current_app.instance_path) / "backups"))
    except DomainError as error:
        raise click.ClickException(error.message) from None
    click.echo(str(target))
