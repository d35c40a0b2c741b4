"""Where a load's CPU time goes: the server's processes (gunicorn's master and workers, with the
SQLite engine inside them), the benchmark's own clients (this process) and the PostgreSQL server's
processes, in milliseconds per request.

When every core is busy, as in the benchmarks on the 2-core machine, requests/s is the cores
divided by the CPU time a request costs all of them together. The ratio of an endpoint to the
trivial one then cannot exceed the ratio of their CPU budgets, whatever the locks and the
scheduling do: `ceiling()` prints that bound next to the measured ratio (README, "Benchmarks").
"""
import os
from collections.abc import Callable
from dataclasses import dataclass

import psutil


@dataclass(frozen=True)
class Budget:
    """CPU seconds spent while `requests` requests were answered in `seconds` of wall time."""

    server: float
    clients: float
    database: float
    requests: int
    seconds: float

    def __add__(self, other: "Budget") -> "Budget":
        return Budget(self.server + other.server, self.clients + other.clients, self.database + other.database,
                      self.requests + other.requests, self.seconds + other.seconds)

    def per_request(self, part: float) -> float:
        """Milliseconds of CPU per request."""
        return part / self.requests * 1000

    @property
    def total(self) -> float:
        return self.per_request(self.server + self.clients + self.database)

    @property
    def cores_busy(self) -> float:
        return (self.server + self.clients + self.database) / self.seconds

    def line(self, label: str) -> str:
        return (f"  {label:<34} CPU per request {self.per_request(self.server):5.2f} ms server + "
                f"{self.per_request(self.clients):4.2f} clients + {self.per_request(self.database):4.2f} database = "
                f"{self.total:5.2f} ms ({self.cores_busy:.1f} of {os.cpu_count()} cores busy)")


def ceiling(trivial: Budget, measured: Budget) -> str:
    return (f"  CPU bound on the ratio: {trivial.total:.2f} / {measured.total:.2f} ms = "
            f"{trivial.total / measured.total:.2f} (it binds while the cores are busy)")


class Meter:
    """Reads the CPU time of the three parties before and after a load."""

    def __init__(self, database: bool):
        self.database = database  # whether a PostgreSQL server on this machine serves the app

    def measure(self, work: Callable[[], "object"]):
        """`work()` (a bench Load), with its Budget as the load's `cpu`."""
        before = self._read()
        load = work()
        after = self._read()
        parts = [sum(after[group].get(pid, 0.0) - before[group].get(pid, 0.0) for pid in after[group])
                 for group in ("server", "clients", "database")]
        return load._replace(cpu=Budget(*parts, requests=len(load.answers), seconds=load.seconds))

    def _read(self) -> dict[str, dict[int, float]]:
        me = psutil.Process()
        server = [child for child in me.children(recursive=True) if _is_gunicorn(child)]
        database = [process for process in psutil.process_iter(["name"]) if process.info["name"] == "postgres"] \
            if self.database else []
        return {"server": _cpu_of(server), "clients": _cpu_of([me]), "database": _cpu_of(database)}


def _is_gunicorn(process: psutil.Process) -> bool:
    try:
        return "gunicorn" in " ".join(process.cmdline())
    except psutil.Error:
        return False


def _cpu_of(processes: list[psutil.Process]) -> dict[int, float]:
    """Seconds of CPU (user and system, every thread) by process; a process gone since is left out:
    a server's workers and the database's backends live as long as the load."""
    seconds = {}
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.Error:
            continue
        seconds[process.pid] = times.user + times.system
    return seconds
