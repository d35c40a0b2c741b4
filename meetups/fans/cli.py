"""`flask fans import FILE.csv`: import the fan base exported from the forum."""
import os
import sys
import tempfile

import click
from flask.cli import AppGroup

from .services import ImportAborted, import_fans

fans_cli = AppGroup("fans", help="The fan base.")


@fans_cli.command("import")
@click.argument("csv_file", metavar="FILE.csv", type=click.Path(exists=True, dir_okay=False))
@click.option("--strict", is_flag=True, help="Any bad row: write nothing and exit 1.")
def import_command(csv_file: str, strict: bool) -> None:
    """Upsert fans by email from a CSV with the header handle,email,city[,province,lat,lon,level,joined_at]."""
    # Rejected rows wait in a temporary file (not in memory) and are listed after the bar.
    with tempfile.TemporaryFile("w+", encoding="utf-8") as rejects, open(csv_file, "rb") as raw:

        def on_reject(line: int, reason: str) -> None:
            rejects.write(f"line {line}: {reason}\n")

        with click.progressbar(length=os.path.getsize(csv_file), label="Importing fans", file=sys.stderr) as bar:
            try:
                report = import_fans(raw, strict=strict, on_reject=on_reject, on_bytes=bar.update)
            except ImportAborted as error:
                click.echo(f"line {error.line}: {error.reason}")
                click.echo("imported 0, updated 0, rejected the whole file: nothing was written", err=True)
                sys.exit(1)
        rejects.seek(0)
        for entry in rejects:
            click.echo(entry, nl=False)

    if report.encoding == "gb18030":
        click.echo("note: the file was read as GB18030 (it is not UTF-8)", err=True)
    for name, (chosen, passed_over, rows, line) in report.ambiguous.items():
        click.echo(
            f"warning: {name!r} is the name of {len(passed_over) + 1} cities; {rows} row(s) from line {line} "
            f"were placed at the larger, {chosen} (not {'; '.join(passed_over)}). Add a province column to choose.",
            err=True,
        )
    click.echo(f"imported {report.imported}, updated {report.updated}, rejected {report.rejected}")
    if not report.written:
        click.echo("--strict: rows were rejected, so nothing was written", err=True)
        sys.exit(1)
