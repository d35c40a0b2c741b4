"""What every `flask …` command shares: a refused service call is the command's error message."""
import click

from ..errors import DomainError


def run_service(service, *args, **kwargs):
    """`service(*args, **kwargs)`; its DomainError becomes a ClickException (exit 1) whose message
    also names each refused field the error's own message does not already say."""
    try:
        return service(*args, **kwargs)
    except DomainError as error:
        details = "; ".join(f"{name}: {message}" for name, message in error.fields.items()
                            if message not in error.message)
        raise click.ClickException(f"{error.message} ({details})" if details else error.message) from None
