"""`flask cities rank` (the cities ranked for the next meetup) and `flask cities hosts` (store the
ranking's host assignment): commands of the gazetteer's `cities` group, added to it by meetups.cli."""
import json
import unicodedata

import click

from ..shared.commands import run_service
from .ranking import RankingParameters, parameters_from, rank_cities, store_host_geometry

_DEFAULTS = RankingParameters()


def _geometry_options(command):
    """The options the host assignment depends on, the same for `rank` and `hosts`."""
    for option in reversed((
        click.option("--radius-km", default=_DEFAULTS.radius_km, show_default=True,
                     help="A fan this close to a host is served by it."),
        click.option("--min-population", default=_DEFAULTS.min_population, show_default=True,
                     help="Smallest candidate host."),
        click.option("--merge-km", default=_DEFAULTS.merge_km, show_default=True,
                     help="A city this close to a more populous candidate is part of it."),
    )):
        command = option(command)
    return command


@click.command("rank")
@_geometry_options
@click.option("--min-fans", default=_DEFAULTS.min_fans, show_default=True, help="Fewer fans: not eligible.")
@click.option("--cooldown-weeks", default=_DEFAULTS.cooldown_weeks, show_default=True,
              help="No second meetup in a city within this many weeks before or after today.")
@click.option("--by", type=click.Choice(["density", "fans"]), default=_DEFAULTS.by, show_default=True,
              help="Order: fans per 100 000 inhabitants, or fans.")
@click.option("--top", default=_DEFAULTS.top, show_default=True, help="Rows shown (0: all).")
@click.option("--json", "as_json", is_flag=True, help="Print only the JSON document (as GET /api/cities/ranking).")
def rank_command(as_json: bool, **options) -> None:
    """Rank the candidate host cities by fan density (README, "Choosing the next city: the ranking")."""
    ranking = rank_cities(run_service(parameters_from, options))
    if as_json:
        click.echo(json.dumps(ranking.as_json(), ensure_ascii=False, indent=2))
        return
    click.echo(f"{'#':>3}  {'city':<24} {'province':<18} {'population':>11} {'fans':>8} {'/100k':>8}  "
               f"{'requests':>8}  {'last meetup':<11}  eligible")
    for row in ranking.shown:
        name = _pad(f"{row.name} {row.name_zh or ''}".strip(), 24)
        verdict = "yes" if row.eligible else f"no: {row.reason_text}"
        click.echo(f"{row.rank:>3}  {name} {(row.province or '')[:18]:<18} {row.population:>11,} {row.fans:>8,} "
                   f"{row.density_per_100k:>8.2f}  {row.requests:>8}  "
                   f"{row.last_meetup_on.isoformat() if row.last_meetup_on else '-':<11}  {verdict}")
    click.echo(f"{ranking.candidates} candidate cities; {ranking.unserved_fans:,} fans live beyond every candidate"
               + (f" (most in {', '.join(c.name for c in ranking.unserved_cities[:5])})"
                  if ranking.unserved_cities else "")
               + (f"; {ranking.fans_without_city:,} fans have no known city" if ranking.fans_without_city else ""))


def _pad(text: str, width: int) -> str:
    """Left-aligned in `width` terminal columns: Chinese characters take two."""
    used = sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)
    return text + " " * max(1, width - used)


@click.command("hosts")
@_geometry_options
def hosts_command(**options) -> None:
    """Work out which candidate city serves each gazetteer city and store it, so that every server
    process reads it instead of measuring (run it after `cities load`; the ranking works without
    it, measuring once per process)."""
    stored = store_host_geometry(run_service(parameters_from, options))
    click.echo("host assignment stored" if stored else "the stored host assignment is current")


COMMANDS = (rank_command, hosts_command)
