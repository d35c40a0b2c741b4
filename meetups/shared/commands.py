"""What every `flask …` command shares: a refused service call is the command's error message."""
import click

from ..errors import DomainError


def run_service(service, *args, **kwargs):
    """`service(*args, **kwargs)`; its DomainError becomes a ClickException (its message, exit 1)."""
    try:
        return service(*args, **kwargs)
    except DomainError as error:
        raise click.ClickException(error.message) from None
