"""The figures against one ``sync-server serve``: issuance, logins, status, pairing.

One server (on SQLite, or on a temporary PostgreSQL database with ``--postgres``) serves all of
them; the population is prepared through the server's own library, untimed.
"""

from __future__ import annotations

import math
from contextlib import ExitStack
from functools import partial
from pathlib import Path

from bench import cfssl_peer, handoff, issuance, pairing, status
from bench.prepare import Population
from bench.servers import ServerProcess, running, start_bare_server, start_sync_server
from bench.session import Session, add_failures_note, cpu_note, plural, verdict
from bench.stats import Row, Run, Spread, p50_spread, p99_spread, rate_spread

TARGET_ISSUANCE_PER_SECOND = 300.0
TARGET_ISSUANCE_SHARE_OF_CFSSL = 0.50  # issue 12
TARGET_STATUS_SHARE = 0.50
TARGET_PAIRING_P50_MS = 5.0  # issue 12, on SQLite, protocol only
TARGET_PAIRING_P99_MS = 20.0


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
        if "handoff" in figures:
            figure_handoff(session, server, population)


def figure_issuance(
    session: Session, server: ServerProcess, population: Population, data_dir: Path
) -> None:
    """Apply over HTTP beside the CA's raw signing rate and cfssl's; then the login rate."""
    p, key = session.profile, session.args.key
    runs, raw_runs, failures = [], [], []
    cfssl_runs: list[Run] = []
    binary = cfssl_peer.cfssl_binary()
    with ExitStack() as stack:
        peer = None
        if binary is not None:
            peer = stack.enter_context(
                running(
                    cfssl_peer.start_cfssl(
                        binary, folder=session.workdir / "cfssl", log_dir=session.workdir
                    )
                )
            )
        for _ in range(p.runs):  # interleaved with cfssl's runs: drift touches both alike
            enrolments = issuance.prepare_enrolments(population, p.certs, key)
            csr_pems = [e.csr_pem for e in enrolments]
            run, failed = session.measured(
                [server],
                partial(issuance.run_issuance, [server.url], enrolments, concurrency=p.clients),
            )
            runs.append(run)
            failures += failed
            if peer is not None:
                run, failed = session.measured(
                    [peer],
                    partial(
                        cfssl_peer.run_cfssl_signing, peer.url, csr_pems, concurrency=p.clients
                    ),
                )
                cfssl_runs.append(run)
                failures += failed
            raw_runs.append(issuance.raw_signing_run(data_dir, csr_pems))
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
    session.rows.append(cfssl_row(session, runs, cfssl_runs))
    session.rows.append(
        Row.from_runs(
            "CA raw signing (in process)",
            f"same CA key, same CSRs, N={p.certs} ×{p.runs}",
            raw_runs,
        )
    )
    figure_logins(session, server, population, http.median)


def cfssl_row(session: Session, runs: list[Run], cfssl_runs: list[Run]) -> Row:
    """cfssl's sign rate beside CertSync's apply: both rates, CPU per certificate, the ratio."""
    p = session.profile
    label = "issuance peer: cfssl serve, POST /cfssl/sign"
    if not cfssl_runs:
        row = Row(label, f"not run: no cfssl binary ({cfssl_peer.INSTALL_HINT})")
        row.verdict = "skipped"
        return row
    ours, theirs = rate_spread(runs).median, rate_spread(cfssl_runs).median
    share = ours / theirs
    row = Row.from_runs(
        label,
        f"Go, no database, K={p.clients}, same {p.certs} CSRs ×{p.runs}",
        cfssl_runs,
        beside=(
            f"CertSync {ours:,.0f}/s = {share:.0%} of cfssl; CPU per certificate "
            f"{cpu_ms_per_op(runs):.2f} vs {cpu_ms_per_op(cfssl_runs):.2f} ms"
        ),
        target=f"CertSync ≥ {TARGET_ISSUANCE_SHARE_OF_CFSSL:.0%} of cfssl",
    )
    if row.verdict != "ERROR":
        row.verdict = verdict(share >= TARGET_ISSUANCE_SHARE_OF_CFSSL)
    row.notes.append(cpu_note(cfssl_runs, servers="cfssl"))
    return row


def cpu_ms_per_op(runs: list[Run]) -> float:
    """Median over runs of the server's CPU milliseconds per operation."""
    return Spread.of([r.server_cpu_seconds / r.count * 1000 for r in runs if r.count]).median


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
    # What a login rate costs in hardware: server CPU per login, as cores per 100 logins/s.
    cores_per_100 = cpu_ms_per_op(runs) * 100 / 1000
    row = Row.from_runs(
        "login (Argon2id, 19 MiB, t=2)",
        f"{session.db_label}, K={p.clients}, n={p.logins} ×{p.runs}",
        runs,
        beside=(
            f"{cores_per_100:.1f} cores per 100 logins/s; "
            f"login + apply end to end ≈ {enrolment:,.0f}/s"
        ),
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
    """One PC and one phone pairing again and again: the latency a customer sees. The target
    is the protocol's (lean client, the two devices on one event loop); beside it, runs
    interleaved, the same pairings through the SDK's client (httpx2, a thread per device)."""
    p = session.profile
    customers = population.add(1, certificate=True)
    runs: list[Run] = []
    sdk_runs: list[Run] = []
    failures: list[str] = []
    for _ in range(p.runs):
        run, failed = session.measured(
            [server],
            lambda: pairing.run_pairing_protocol(server.url, customers[0], pairings=p.pairings),
        )
        runs.append(run)
        sdk_run, sdk_failed = session.measured(
            [server],
            lambda: pairing.run_pairing([server.url], customers, pairings=p.pairings),
        )
        sdk_runs.append(sdk_run)
        failures += failed + sdk_failed
    setup = f"{session.db_label}, one PC + one phone, {p.pairings} pairings ×{p.runs}"
    row = Row.from_runs(
        "pairing: open → claimed seen",
        f"{setup}, lean client",
        runs,
        target=f"p50 ≤ {TARGET_PAIRING_P50_MS:.0f} ms, p99 ≤ {TARGET_PAIRING_P99_MS:.0f} ms",
    )
    if row.verdict != "ERROR":
        row.verdict = verdict(
            p50_spread(runs).median <= TARGET_PAIRING_P50_MS
            and p99_spread(runs).median <= TARGET_PAIRING_P99_MS
        )
    row.notes.append(cpu_note(runs))
    sdk_row = Row.from_runs(
        "pairing through the SDK's client (httpx2)",
        f"{setup}, a thread per device",
        sdk_runs,
        target="report",
    )
    sdk_row.notes.append(cpu_note(sdk_runs))
    add_failures_note(row, failures)
    session.rows += [row, sdk_row]


def figure_handoff(session: Session, server: ServerProcess, population: Population) -> None:
    """``pc-client pair`` → ``mobile-stub pair`` as processes, beside magic-wormhole."""
    repeats = session.profile.handoffs
    customer = population.add(1, slip=True)[0]
    devices = handoff.prepare_devices(
        server.url, customer, population.password, session.workdir / "handoff"
    )
    ours, theirs, why_not = handoff.measure_handoffs(devices, repeats)
    size = handoff.pfx_size(devices)
    row = Row(
        "handoff: pc-client pair → mobile-stub pair",
        f"{plural(repeats, 'handoff')}, fresh processes, PFX {size:,} bytes at 600,000 iterations",
        None,
        Spread(ours.p50_ms, ours.latencies[0] * 1000, ours.latencies[-1] * 1000),
        Spread.of([ours.p99_ms]),
        target="report, beside magic-wormhole",
    )
    session.rows.append(row)
    label = "handoff peer: wormhole send → wormhole receive"
    if theirs is None:
        session.rows.append(Row(label, f"not run: {why_not}", verdict="skipped"))
        return
    row.beside = f"×{ours.p50_ms / theirs.p50_ms:.2f} of magic-wormhole's time"
    session.rows.append(
        Row(
            label,
            f"the same {size:,} bytes, own mailbox + transit relay on loopback",
            None,
            Spread(theirs.p50_ms, theirs.latencies[0] * 1000, theirs.latencies[-1] * 1000),
            Spread.of([theirs.p99_ms]),
        )
    )
