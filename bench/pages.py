"""The pages fans open first, as a promo post sends thousands of them at once: the home page
listing the upcoming meetups and a meetup's page with its registration form, served by gunicorn
with 4 workers in production settings to wrk. Target: each costs at most 2 ms of server CPU
(gunicorn and the app, SQLite inside them) plus database CPU, with no statement per listed
meetup (seat counts are the meetups' kept counters). And a ticket's QR image, drawn once and
then served from instance/qr-cache/: at most 5 ms."""
from contextlib import ExitStack
from datetime import timedelta

from bench import _wrk
from bench._statements import in_app, per_request
from bench.registration_rush import SERVER_ENV
from harness.servers import gunicorn

MEETUPS = 35  # as many as the home page listed when it cost 8–11 ms
CITIES = ("Chengdu", "Shanghai", "Beijing", "Shenzhen", "Hangzhou", "Wuhan", "Nanjing")
CONNECTIONS = 32
SECONDS = 5
WORKERS = 4
CPU_BUDGET_MS = {"home page": 2.0, "meetup page": 2.0, "ticket QR image": 5.0}


def run(argv: list[str]) -> bool:
    return _wrk.run_on_backends("pages", argv, _pages, WORKERS)


def _pages(backend: str, options, postgres_url: str | None, verdicts: _wrk.Verdicts) -> None:
    print(f"  {backend}: gunicorn {options.workers} sync workers, {MEETUPS} upcoming meetups, "
          f"{CONNECTIONS} connections, {SECONDS} s a load", flush=True)
    database = backend == "postgresql"
    with ExitStack() as stack:
        instance = stack.enter_context(_wrk.prepared_instance("pages", backend, postgres_url))
        meetup_ids, ticket_ref = in_app(instance, SERVER_ENV, _listed_meetups)
        url = stack.enter_context(gunicorn(instance, workers=options.workers, env=SERVER_ENV))
        pages = {"home page": _wrk.Endpoint("home page", "/"),
                 "meetup page": _wrk.Endpoint("meetup page", f"/meetups/{meetup_ids[0]}"),
                 "ticket QR image": _wrk.Endpoint("ticket QR image", f"/tickets/{ticket_ref}.png")}
        for endpoint in pages.values():
            _wrk.run(url, endpoint, CONNECTIONS, "warm", 0, 2, database)  # untimed
        for label, endpoint in pages.items():
            loads = []
            for number in range(1, options.rounds + 1):
                print(f"  {label}, round {number}: {_wrk.load_average()}", flush=True)
                loads.append(_wrk.run(url, endpoint, CONNECTIONS, f"{label}{number}", 0, SECONDS, database))
                print(f"    {loads[-1].rate:7.1f} req/s p99 {loads[-1].p99:5.1f} ms", flush=True)
            best = max(loads, key=lambda load: load.rate)
            own = best.ms(best.server_cpu + best.database_cpu)
            print(f"  {label:<28} CPU per request: server {best.ms(best.server_cpu):.2f} ms + database "
                  f"{best.ms(best.database_cpu):.2f} ms + client (wrk) {best.ms(best.client_cpu):.2f} ms")
            verdicts.judge(f"{label}: server + database CPU per view", own <= CPU_BUDGET_MS[label],
                           f"{own:.2f} ms (budget {CPU_BUDGET_MS[label]:.1f} ms; p50 {best.p50:.1f} ms)")
            failed = sum(load.failed for load in loads)
            verdicts.judge(f"{label}: every answer 2xx", failed == 0, f"{failed} failed")
        per_request(instance, backend, SERVER_ENV, {
            "home page": ("GET", "/", None, None),
            "meetup page": ("GET", f"/meetups/{meetup_ids[0]}", None, None)})


def _listed_meetups() -> tuple[list[int], str]:
    """MEETUPS published meetups over the coming weeks in several cities, a few of them filling;
    their ids and the first fan's ticket reference."""
    from meetups.events.services import MeetupDetails, create_meetup
    from meetups.registration.services import register
    from meetups.shared.timeutil import utcnow

    ids = []
    for number in range(MEETUPS):
        starts = (utcnow() + timedelta(days=7 + number)).replace(hour=11, minute=0, second=0, microsecond=0)
        details = MeetupDetails(city=CITIES[number % len(CITIES)], starts_at=starts, capacity=50,
                                title=f"Meetup {number + 1}")
        ids.append(create_meetup(details, publish=True).id)
    refs = [register(meetup_id, name=f"Fan {fan}", email=f"fan{fan}-{meetup_id}@example.com").ticket_ref
            for meetup_id in ids[:5] for fan in range(60)]  # full, with a waiting list
    return ids, refs[0]
