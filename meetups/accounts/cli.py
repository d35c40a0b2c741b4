"""`flask users …`: staff accounts and API tokens."""
import click
from flask.cli import AppGroup

from ..shared.commands import run_service
from .models import ROLE_VALUES
from .services import create_user, issue_token, list_users

users_cli = AppGroup("users", help="Staff accounts.")


@users_cli.command("create")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice(ROLE_VALUES))
@click.option("--name", default="", help="Shown to colleagues, e.g. on check-ins.")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def create_command(email: str, role: str, name: str, password: str) -> None:
    """Create a staff account."""
    user = run_service(create_user, email, role, password, name)
    click.echo(f"created {user.email} ({user.role})")


@users_cli.command("token")
@click.argument("email")
def token_command(email: str) -> None:
    """Print a new bearer token for the JSON API (only its hash is stored)."""
    click.echo(run_service(issue_token, email))


@users_cli.command("list")
def list_command() -> None:
    """List staff accounts."""
    for user in list_users():
        click.echo(f"{user.email}\t{user.role}\t{'active' if user.active else 'disabled'}")
