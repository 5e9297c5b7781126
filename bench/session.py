"""One benchmark session: its folder, profile and rows, and how a timed action is metered.

Every figure module (``figures_server``, ``figures_local``, ``figures_scaleout``) takes a
``Session``, runs its timed actions through ``Session.measured`` (which adds the CPU time the
servers, the PostgreSQL backends and the whole machine spent) and appends its ``Row``s.
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from bench.profiles import Profile
from bench.servers import (
    PostgresBackends,
    ServerProcess,
    machine_busy_seconds,
    temporary_postgres_database,
)
from bench.stats import Row, Run, Spread


def measured(
    servers: Sequence[ServerProcess],
    action: Callable[[], tuple[Run, list[str]]],
    database: PostgresBackends | None = None,
) -> tuple[Run, list[str]]:
    """Run ``action`` and add the CPU time the servers, the database and the machine spent."""
    before = sum(s.cpu_seconds() for s in servers)
    database_before = {} if database is None else database.snapshot()
    machine_before = machine_busy_seconds()
    run, failures = action()
    run = replace(
        run,
        server_cpu_seconds=sum(s.cpu_seconds() for s in servers) - before,
        machine_busy_seconds=machine_busy_seconds() - machine_before,
        database_cpu_seconds=(
            math.nan if database is None else database.seconds_since(database_before)
        ),
    )
    return run, failures


def cpu_note(runs: Sequence[Run], servers: str = "server") -> str:
    """The note under a figure: how many cores each side was busy (medians of runs)."""

    def median(values: list[float]) -> float:
        return Spread.of([v for v in values if not math.isnan(v)]).median

    server = median([r.server_cpu_share for r in runs])
    per_op = median([r.server_cpu_seconds / r.count * 1000 for r in runs if r.count])
    client = median([r.client_cpu_share for r in runs])
    database = median([r.database_cpu_share for r in runs])
    machine = median([r.machine_busy_share for r in runs])
    postgres = "" if math.isnan(database) else f"PostgreSQL backends {database:.2f}, "
    # /proc counts in clock ticks (10 ms): over a short run the shares are coarse.
    coarse = " (runs under 1 s: coarse)" if median([r.seconds for r in runs]) < 1 else ""
    return (
        f"CPU, in cores (median of runs): {servers} {server:.2f} ({per_op:.2f} ms per operation), "
        f"{postgres}load generator {client:.2f}, whole machine {machine:.2f} of {os.cpu_count()}"
        f"{coarse}"
    )


def add_failures_note(row: Row, failures: Sequence[str]) -> None:
    """The first three distinct failures, as notes under ``row``."""
    for failure in list(dict.fromkeys(failures))[:3]:
        row.notes.append(f"failure: {failure}")


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISS"


class Session:
    """One benchmark session: a temporary folder, a profile, and the rows found so far."""

    def __init__(self, args: argparse.Namespace, profile: Profile, workdir: Path) -> None:
        self.args = args
        self.profile = profile
        self.workdir = workdir
        self.rows: list[Row] = []
        self.db_label = "PostgreSQL" if args.postgres else "SQLite"
        self.database: PostgresBackends | None = None  # set while a PostgreSQL run is on

    def measured(
        self, servers: Sequence[ServerProcess], action: Callable[[], tuple[Run, list[str]]]
    ) -> tuple[Run, list[str]]:
        """``measured`` with this session's PostgreSQL meter, if a PostgreSQL run is on."""
        return measured(servers, action, self.database)

    @contextmanager
    def metering(self, url: str | None) -> Iterator[None]:
        """Meter the PostgreSQL backends of ``url``'s database (nothing for SQLite) until exit."""
        self.database = (
            None if url is None else PostgresBackends(self.args.postgres_url, url.rsplit("/", 1)[1])
        )
        try:
            yield
        finally:
            self.database = None

    @contextmanager
    def database_url(self) -> Iterator[str | None]:
        """``None`` (SQLite in the data folder) or a temporary PostgreSQL database's URL."""
        if not self.args.postgres:
            yield None
            return
        with temporary_postgres_database(self.args.postgres_url) as url:
            yield url
