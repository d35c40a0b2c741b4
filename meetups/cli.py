"""Registers every command group with `flask --app app`."""
import click
from flask import current_app


def register_cli(app) -> None:
    from .accounts.cli import users_cli
    from .cities.cli import cities_cli
    from .fans.cli import fans_cli
    from .meetups.cli import meetups_cli

    for group in (cities_cli, fans_cli, users_cli, meetups_cli):
        app.cli.add_command(group)
    app.cli.add_command(demo_command)


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
