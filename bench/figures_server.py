"""The figures against one ``sync-server serve``: issuance, logins, status, pairing.

One server (on SQLite, or on a temporary PostgreSQL database with ``--postgres``) serves all of
them; the population is prepared through the server's own library, untimed.
"""

from __future__ import annotations

import math
from contextlib import ExitStack
from functools import partial
from pathlib import Path

from bench import issuance, pairing, status
from bench.prepare import Population
from bench.servers import ServerProcess, running, start_bare_server, start_sync_server
from bench.session import Session, add_failures_note, cpu_note, verdict
from bench.stats import Row, Run, p50_spread, p99_spread, rate_spread

TARGET_ISSUANCE_PER_SECOND = 300.0
TARGET_STATUS_SHARE = 0.50
TARGET_PAIRING_P50_MS = 10.0
TARGET_PAIRING_P99_MS = 50.0


def server_figures(session: Session, figures: set[str]) -> None:
    """Issuance, status and pairing against one ``sync-server serve`` (SQLite or PostgreSQL)."""
    data_dir = session.workdir / "main"
    from sync_server.host import open_host
    from sync_server.settings import Settings

    with session.database_url() as url, ExitStack() as stack:
        stack.enter_context(session.metering(url))
        host = open_host(Settings(data_dir=data_dir, database_url=url))
        stack.callback(host.db.dispose)
        population = Population(host)
        server = stack.enter_context(
            running(
                start_sync_server(
                    "sync-server", data_dir=data_dir, database_url=url, log_dir=session.workdir
                )
            )
        )
        if "issuance" in figures:
            figure_issuance(session, server, population, data_dir)
        if "status" in figures:
            figure_status(session, server, population)
        if "pairing" in figures:
            figure_pairing(session, server, population)


def figure_issuance(
    session: Session, server: ServerProcess, population: Population, data_dir: Path
) -> None:
    """Apply over HTTP beside the CA's raw signing rate; then the login rate."""
    p, key = session.profile, session.args.key
    runs, raw_runs, failures = [], [], []
    for _ in range(p.runs):
        enrolments = issuance.prepare_enrolments(population, p.certs, key)
        run, failed = session.measured(
            [server],
            partial(issuance.run_issuance, [server.url], enrolments, concurrency=p.clients),
        )
        runs.append(run)
        failures += failed
        raw_runs.append(issuance.raw_signing_run(data_dir, [e.csr_pem for e in enrolments]))
    raw = rate_spread(raw_runs)
    http = rate_spread(runs)
    row = Row.from_runs(
        "issuance: apply over HTTP",
        f"{session.db_label}, K={p.clients}, N={p.certs} ×{p.runs}, {key.upper()} CSRs",
        runs,
        beside=f"raw CA signing {raw.median:,.0f}/s; HTTP = {http.median / raw.median:.1%}",
        target=f"≥ {TARGET_ISSUANCE_PER_SECOND:.0f}/s",
    )
    if row.verdict != "ERROR":
        row.verdict = verdict(http.median >= TARGET_ISSUANCE_PER_SECOND)
    row.notes.append(cpu_note(runs))
    add_failures_note(row, failures)
    session.rows.append(row)
    session.rows.append(
        Row.from_runs(
            "CA raw signing (in process)",
            f"same CA key, same CSRs, N={p.certs} ×{p.runs}",
            raw_runs,
        )
    )
    figure_logins(session, server, population, http.median)


def figure_logins(
    session: Session, server: ServerProcess, population: Population, apply_rate: float
) -> None:
    """Logins on their own, and what they make of an end-to-end enrolment."""
    p = session.profile
    runs, failures = [], []
    for _ in range(p.runs):
        customers = population.add(p.logins)
        run, failed = session.measured(
            [server],
            partial(
                issuance.run_logins,
                [server.url],
                customers,
                population.password,
                concurrency=p.clients,
            ),
        )
        runs.append(run)
        failures += failed
    login = rate_spread(runs).median
    enrolment = 1 / (1 / login + 1 / apply_rate) if login > 0 and apply_rate > 0 else math.nan
    row = Row.from_runs(
        "login (Argon2id, 19 MiB, t=2)",
        f"{session.db_label}, K={p.clients}, n={p.logins} ×{p.runs}",
        runs,
        beside=f"login + apply end to end ≈ {enrolment:,.0f}/s",
        target="report",
    )
    row.notes.append(cpu_note(runs))
    add_failures_note(row, failures)
    session.rows.append(row)


def figure_status(session: Session, server: ServerProcess, population: Population) -> None:
    """The status endpoint beside the bare endpoint, runs interleaved."""
    p = session.profile
    customers = population.add(p.status_customers, certificate=True)
    status_runs: list[Run] = []
    bare_runs: list[Run] = []
    failures: list[str] = []
    with running(start_bare_server("bare-starlette", log_dir=session.workdir)) as bare:
        for _ in range(p.runs):  # interleaved, so drift touches both alike
            run, failed = session.measured(
                [server],
                lambda: status.run_status(
                    server.url, customers, requests=p.status_requests, concurrency=p.clients
                ),
            )
            status_runs.append(run)
            failures += failed
            run, failed = session.measured(
                [bare],
                lambda: status.run_bare(
                    bare.url, requests=p.status_requests, concurrency=p.clients
                ),
            )
            bare_runs.append(run)
            failures += failed
    share = rate_spread(status_runs).median / rate_spread(bare_runs).median
    row = Row.from_runs(
        "status: GET /certificate/status",
        f"{session.db_label}, K={p.clients}, {p.status_customers} customers, "
        f"{p.status_requests} req ×{p.runs}",
        status_runs,
        beside=f"{share:.0%} of the bare endpoint",
        target=f"≥ {TARGET_STATUS_SHARE:.0%} of bare",
    )
    if row.verdict != "ERROR":
        row.verdict = verdict(share >= TARGET_STATUS_SHARE)
    row.notes.append(cpu_note(status_runs))
    add_failures_note(row, failures)
    bare_row = Row.from_runs(
        "bare Starlette endpoint",
        f"same uvicorn settings, K={p.clients}, {p.status_requests} req ×{p.runs}",
        bare_runs,
    )
    bare_row.notes.append(cpu_note(bare_runs))
    session.rows += [row, bare_row]


def figure_pairing(session: Session, server: ServerProcess, population: Population) -> None:
    """One PC and one phone pairing again and again: the latency a customer sees."""
    p = session.profile
    customers = population.add(1, certificate=True)
    runs, failures = [], []
    for _ in range(p.runs):
        run, failed = session.measured(
            [server],
            lambda: pairing.run_pairing([server.url], customers, pairings=p.pairings),
        )
        runs.append(run)
        failures += failed
    row = Row.from_runs(
        "pairing: open → claimed seen",
        f"{session.db_label}, one PC + one phone, {p.pairings} pairings ×{p.runs}",
        runs,
        target=f"p50 ≤ {TARGET_PAIRING_P50_MS:.0f} ms, p99 ≤ {TARGET_PAIRING_P99_MS:.0f} ms",
    )
    if row.verdict != "ERROR":
        row.verdict = verdict(
            p50_spread(runs).median <= TARGET_PAIRING_P50_MS
            and p99_spread(runs).median <= TARGET_PAIRING_P99_MS
        )
    row.notes.append(cpu_note(runs))
    add_failures_note(row, failures)
    session.rows.append(row)
