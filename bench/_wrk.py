"""The load client of the web benchmarks: wrk (compiled, so it takes little of the CPU the server
and the database share with it), driven by a Lua script that writes each request's JSON body and
reports req/s, latency percentiles and non-2xx answers as one JSON line. `Yardstick` runs the
reference app (bench/reference_app.py) and a project endpoint in interleaved rounds and judges
the ratio, the p99 and the CPU per request."""
import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from harness.servers import Instance, live_instance

WRK = shutil.which("wrk")
ROUNDS = 3

# {headers}; {body} and {path}: Lua expressions of `n`, the thread's request number, and `round`
# (the path's evaluated after the body); {limit}: requests after which the run stops (0: none,
# the duration decides).
_SCRIPT = """
local n, answered, ok, stopping = 0, 0, 0, false
local round = "{round}"
local ffi = require("ffi")  -- wrk's Lua is LuaJIT
ffi.cdef("int kill(int pid, int sig); int getpid(void);")
{prelude}
wrk.method = "{method}"
{headers}
function request()
  n = n + 1
  local body = {body}
  return wrk.format(nil, {path}, nil, body)
end
function response(status, headers, body)
  answered = answered + 1
  if status >= 200 and status < 300 then ok = ok + 1 end
  -- wrk runs for its whole duration unless interrupted: its own SIGINT ends the run at once and
  -- still reports, with the time actually taken. (Not through os.execute: system() ignores SIGINT
  -- in the caller while its shell runs.)
  if {limit} > 0 and answered >= {limit} and not stopping then
    stopping = true
    ffi.C.kill(ffi.C.getpid(), 2)
  end
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, ' ..
    '"non2xx": %d, "socket_errors": %d}}\\n', summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), e.status, e.connect + e.read + e.write + e.timeout))
end
"""


@dataclass(frozen=True)
class Load:
    """How a load went: requests answered, seconds, latency percentiles (ms), answers that were
    not 2xx or never came, and the CPU seconds of each party while it ran."""

    requests: int
    seconds: float
    p50: float
    p99: float
    failed: int
    server_cpu: float
    database_cpu: float
    client_cpu: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def ms(self, cpu: float) -> float:
        return cpu / self.requests * 1000


@dataclass
class Endpoint:
    """A load: its path (or `path_lua`, a Lua expression of it), the Lua expression of each JSON
    body (a POST), or none (`body` "nil": a GET), extra headers and Lua prelude."""

    label: str
    path: str
    body: str = "nil"
    headers: dict[str, str] = field(default_factory=dict)
    prelude: str = ""
    path_lua: str = ""

    def script(self, round_name: str, limit: int) -> str:
        posting = self.body != "nil"
        headers = {**({"Content-Type": "application/json"} if posting else {}), **self.headers}
        lines = "\n".join(f'wrk.headers["{name}"] = "{value}"' for name, value in headers.items())
        return _SCRIPT.format(path=self.path_lua or json.dumps(self.path), body=self.body, round=round_name,
                              headers=lines, method="POST" if posting else "GET", prelude=self.prelude, limit=limit)


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f}"


def run(url: str, endpoint: Endpoint, connections: int, round_name: str, limit: int = 0,
        seconds: float = 5, database: bool = False) -> Load:
    """One wrk load (1 thread; `connections` kept open) until `limit` answers or `seconds`."""
    if WRK is None:
        raise SystemExit("the web benchmarks need wrk (Debian: apt-get install wrk)")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(endpoint.script(round_name, limit))
    try:
        before = _cpu(database)
        done = subprocess.run([WRK, "-t1", f"-c{connections}", f"-d{max(1, int(seconds))}s", "--timeout", "10s",
                               "-s", script.name, url], capture_output=True, text=True, check=False)
        after = _cpu(database)
    finally:
        Path(script.name).unlink()
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr}{done.stdout}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return Load(report["requests"], report["duration_us"] / 1e6, report["p50_us"] / 1000, report["p99_us"] / 1000,
                report["non2xx"] + report["socket_errors"], *(after[part] - before[part] for part in range(3)))


def _cpu(database: bool) -> tuple[float, float, float]:
    """CPU seconds so far of the server (gunicorn, with SQLite inside it), the PostgreSQL server
    and the client (wrk: a finished child of this process)."""
    server = sum(_seconds(child) for child in psutil.Process().children(recursive=True) if _is_gunicorn(child))
    postgres = sum(_seconds(process) for process in psutil.process_iter(["name"])
                   if database and process.info["name"] == "postgres")
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return server, postgres, children.ru_utime + children.ru_stime


def _is_gunicorn(process: psutil.Process) -> bool:
    try:
        return "gunicorn" in " ".join(process.cmdline())
    except psutil.Error:
        return False


def _seconds(process: psutil.Process) -> float:
    try:
        times = process.cpu_times()
    except psutil.Error:
        return 0.0
    return times.user + times.system


@dataclass
class Verdicts:
    """Targets, each printed PASS/FAIL as it is judged; `passed` is whether all were met."""

    failed: list[str] = field(default_factory=list)

    def judge(self, label: str, met: bool, detail: str) -> None:
        print(f"  {'PASS' if met else 'FAIL'}  {label}: {detail}", flush=True)
        if not met:
            self.failed.append(label)

    @property
    def passed(self) -> bool:
        return not self.failed


def interleaved(reference: Callable[[int], Load], project: Callable[[int], Load],
                rounds: int = ROUNDS) -> tuple[list[Load], list[Load]]:
    """Reference, project, reference, project…: a slow spell of the machine hits both."""
    references, projects = [], []
    for number in range(1, rounds + 1):
        print(f"  round {number}: {load_average()}", flush=True)
        references.append(reference(number))
        projects.append(project(number))
        print(f"    reference {references[-1].rate:7.1f} req/s p99 {references[-1].p99:5.1f} ms | "
              f"project {projects[-1].rate:7.1f} req/s p99 {projects[-1].p99:5.1f} ms", flush=True)
    return references, projects


def report(label: str, references: list[Load], projects: list[Load], verdicts: Verdicts, ratio_target: float,
           p99_target: float, cpu_budget: float, postgres_budget: float | None) -> None:
    """Best and median of each, the ratio of the bests, p99 and CPU per request, judged."""
    best_reference, best = max(references, key=lambda load: load.rate), max(projects, key=lambda load: load.rate)
    for name, loads in (("reference app", references), (label, projects)):
        rates = [load.rate for load in loads]
        print(f"  {name:<28} best {max(rates):7.1f} req/s, median {statistics.median(rates):7.1f} req/s")
    for name, load in (("reference app", best_reference), (label, best)):
        print(f"  {name:<28} CPU per request: server {load.ms(load.server_cpu):.2f} ms + database "
              f"{load.ms(load.database_cpu):.2f} ms + client (wrk) {load.ms(load.client_cpu):.2f} ms")
    ratio = best.rate / best_reference.rate
    verdicts.judge(f"{label}: ratio to the reference app", ratio >= ratio_target,
                   f"{ratio:.2f} (target ≥ {ratio_target:.2f})")
    p99 = statistics.median(load.p99 for load in projects)
    verdicts.judge(f"{label}: p99", p99 < p99_target, f"{p99:.1f} ms, median of {len(projects)} rounds "
                                                     f"(target < {p99_target:.0f} ms)")
    own = best.ms(best.server_cpu + best.database_cpu)
    floor = best_reference.ms(best_reference.server_cpu + best_reference.database_cpu)
    verdicts.judge(f"{label}: server + database CPU per request", own <= cpu_budget,
                   f"{own:.2f} ms (budget {cpu_budget:.2f} ms; the reference app's own: {floor:.2f} ms)")
    if postgres_budget is not None:
        database = best.ms(best.database_cpu)
        verdicts.judge(f"{label}: PostgreSQL server CPU per request", database <= postgres_budget,
                       f"{database:.2f} ms (budget {postgres_budget:.2f} ms)")
    failed = sum(load.failed for load in projects + references)
    verdicts.judge(f"{label}: every answer 2xx", failed == 0, f"{failed} failed")


def run_on_backends(name: str, argv: list[str], bench: Callable, workers: int) -> bool:
    """A web benchmark's `run`: its options (--rounds, --workers), then `bench(backend, options,
    postgres_url, verdicts)` on SQLite, and on PostgreSQL when MEETUPS_BENCH_POSTGRES_URL is set;
    whether every target was met."""
    parser = argparse.ArgumentParser(prog=f"python -m bench {name} --")
    parser.add_argument("--rounds", type=int, default=ROUNDS, help=f"rounds (default {ROUNDS})")
    parser.add_argument("--workers", type=int, default=workers, help=f"gunicorn workers (default {workers})")
    options = parser.parse_args(argv)
    postgres_url = os.environ.get("MEETUPS_BENCH_POSTGRES_URL")
    if not postgres_url:
        print("  (PostgreSQL too when MEETUPS_BENCH_POSTGRES_URL is set)")
    verdicts = Verdicts()
    for backend in ["sqlite"] + (["postgresql"] if postgres_url else []):
        bench(backend, options, postgres_url, verdicts)
    return verdicts.passed


@contextmanager
def prepared_instance(name: str, backend: str, postgres_url: str | None) -> Iterator[Instance]:
    """A fresh instance of its own (a temporary folder; on PostgreSQL a database of its own),
    migrated and with the gazetteer, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-{backend}-") as folder, \
            live_instance(backend, Path(folder), postgres_url) as instance:
        instance.prepare()
        yield instance
