"""The door scan against the yardstick: gunicorn with 4 workers in production settings, 4 door
phones (wrk connections) scanning without pause with a bearer token, every scan with its own
nonce as the door screen sends it, at 20 meetups of 50 seats (so that a round admits 1 000).
The mix of a real door: for every 4 scans, 2 first scans of a ticket (admitted), 1 repeat
(already checked in: a second phone, a fan scanning twice) and 1 code that is not a ticket
(invalid). Rounds interleaved with the reference app's INSERT + COMMIT
(bench/reference_app.py); the check-ins are cleared between rounds, untimed."""
from contextlib import ExitStack

from sqlalchemy import create_engine, text

from bench import _wrk
from bench._statements import per_request
from bench.reference_app import create_table
from bench.registration_rush import FAN_BODY, SERVER_ENV
from harness.servers import gunicorn, request

MEETUPS, SEATS = 20, 50
TICKETS = MEETUPS * SEATS  # confirmed registrations; every round admits each of them once
SCANS = 2 * TICKETS  # a round: TICKETS first scans, TICKETS / 2 repeats, TICKETS / 2 invalid codes
CONNECTIONS = 4  # door phones scanning without pause: more than any real door
WORKERS = 4
TARGET_RATIO = 0.7
TARGET_P99_MS = {"sqlite": 20, "postgresql": 30}
CPU_BUDGET_MS = {"sqlite": 0.9, "postgresql": 1.4}  # server + database, per scan
POSTGRES_BUDGET_MS = 0.35
# The Lua that picks each scan's code: request n of the round is a first scan (n % 4 = 1 or 2,
# the next ticket), a repeat (3: the ticket scanned just before) or an invalid code (0).
# `door` is the meetup of the ticket scanned last (an invalid code is scanned at that door too).
PRELUDE = """
local tickets = {{{tickets}}}
local first_scans, door = 0, tickets[1][1]
function scan(n)
  local kind, ticket = n % 4, nil
  if kind == 0 then return "MT1.not-a-ticket-" .. n end
  if kind == 3 then ticket = tickets[(math.max(first_scans, 1) - 1) % #tickets + 1]
  else
    first_scans = first_scans + 1
    ticket = tickets[(first_scans - 1) % #tickets + 1]
  end
  door = ticket[1]
  return ticket[2]
end
"""
SCAN_BODY = """'{"code": "' .. scan(n) .. '", "nonce": "' .. round .. '-' .. n .. '", "device": "bench"}'"""
SCAN_PATH = '"/api/meetups/" .. door .. "/checkins"'


def run(argv: list[str]) -> bool:
    return _wrk.run_on_backends("checkin", argv, _door, WORKERS)


def _door(backend: str, options, postgres_url: str | None, verdicts: _wrk.Verdicts) -> None:
    print(f"  {backend}: gunicorn {options.workers} sync workers, {CONNECTIONS} door phones, {TICKETS:,} tickets, "
          f"{SCANS:,} scans a round (half admitted, a quarter repeats, a quarter invalid)", flush=True)
    database = backend == "postgresql"
    with ExitStack() as stack:
        instance = stack.enter_context(_wrk.prepared_instance("checkin", backend, postgres_url))
        create_table(instance.database_url)
        meetups = [instance.create_meetup(capacity=SEATS, title=f"Door {number}", days_from_now=1)
                    for number in range(MEETUPS)]
        token = instance.staff_token()
        url = stack.enter_context(gunicorn(instance, workers=options.workers, env=SERVER_ENV))
        reference_url = stack.enter_context(gunicorn(instance, workers=options.workers, env=SERVER_ENV,
                                                     app="bench.reference_app:create_app()"))
        tickets = [(meetup_id, code) for meetup_id in meetups for code in _tickets(url, meetup_id)]
        door = _wrk.Endpoint("door", "", SCAN_BODY, headers={"Authorization": f"Bearer {token}"},
                             prelude=PRELUDE.format(tickets=", ".join(f'{{{meetup_id}, "{code}"}}'
                                                                      for meetup_id, code in tickets)),
                             path_lua=SCAN_PATH)
        reference = _wrk.Endpoint("reference app", "/entries", FAN_BODY)
        admitted: list[int] = []

        def scans(name: str):
            _forget_check_ins(instance)
            load = _wrk.run(url, door, CONNECTIONS, name, SCANS, 60, database)
            admitted.append(instance.scalar("SELECT count(*) FROM checkins"))
            return load

        print("  warm-up (untimed): one round of each", flush=True)
        scans("warm")
        _wrk.run(reference_url, reference, CONNECTIONS, "warm", SCANS, 60, database)
        references, projects = _wrk.interleaved(
            lambda number: _wrk.run(reference_url, reference, CONNECTIONS, f"ref{number}", SCANS, 60, database),
            lambda number: scans(f"door{number}"), options.rounds)
        _wrk.report("door scan", references, projects, verdicts, TARGET_RATIO, TARGET_P99_MS[backend],
                    CPU_BUDGET_MS[backend], POSTGRES_BUDGET_MS if database else None)
        verdicts.judge("door: every ticket admitted exactly once a round", set(admitted) == {TICKETS},
                       f"checked in after each round: {admitted}")
        bearer = {"Authorization": f"Bearer {token}"}
        _forget_check_ins(instance)
        (meetup_id, first), (_same, second) = tickets[:2]
        scan = f"/api/meetups/{meetup_id}/checkins"
        per_request(instance, backend, SERVER_ENV, {
            "scan that admits": ("POST", scan, {"code": first, "nonce": "counted-0", "device": "bench"},
                                 {"code": second, "nonce": "counted-1", "device": "bench"}, bearer),
            "scan already checked in": ("POST", scan, {"code": first, "nonce": "counted-2", "device": "bench"},
                                        {"code": first, "nonce": "counted-3", "device": "bench"}, bearer),
            "scan of an invalid code": ("POST", scan, {"code": "MT1.x", "nonce": "counted-4", "device": "bench"},
                                        {"code": "MT1.y", "nonce": "counted-5", "device": "bench"}, bearer)})


def _tickets(url: str, meetup_id: int) -> list[str]:
    """SEATS fans register for the meetup through the API: its seats taken, their ticket codes."""
    codes = []
    for number in range(SEATS):
        status, body = request("POST", url, f"/api/meetups/{meetup_id}/registrations",
                               {"name": f"Fan {number}", "email": f"door{meetup_id}-{number}@example.com"})
        if status != 201 or body.get("status") != "confirmed":
            raise RuntimeError(f"registration {number} failed: {status} {body}")
        codes.append(body["ticket_code"])
    return codes


def _forget_check_ins(instance) -> None:
    engine = create_engine(instance.database_url)
    try:
        with engine.begin() as connection:
            for table in ("checkins", "checkin_events", "checkin_nonces"):
                connection.execute(text(f"DELETE FROM {table}"))
    finally:
        engine.dispose()
