"""The scale-out figures: 1 vs 2 instances on one PostgreSQL database, and the races.

The races (``bench.scaleout``) send each one-time item to both instances at once; the rows say
how often an item was used twice, in the answers and in the database afterwards.
"""

from __future__ import annotations

from contextlib import ExitStack
from functools import partial

from bench import issuance, pairing, scaleout
from bench.prepare import Population
from bench.servers import (
    postgres_available,
    running,
    start_sync_server,
    temporary_postgres_database,
)
from bench.session import Session, add_failures_note, cpu_note
from bench.stats import Row, Run, rate_spread


def figure_scaleout(session: Session) -> None:
    """1 vs 2 instances on one PostgreSQL database, then the at-most-once races."""
    if not postgres_available(session.args.postgres_url):
        row = Row("scale-out", "2 instances on one PostgreSQL", verdict="skipped")
        row.notes.append(f"PostgreSQL does not answer at {session.args.postgres_url}.")
        session.rows.append(row)
        return
    from sync_server.host import open_host
    from sync_server.settings import Settings

    p = session.profile
    data_dir = session.workdir / "scale"
    with temporary_postgres_database(session.args.postgres_url) as url, ExitStack() as stack:
        stack.enter_context(session.metering(url))
        host = open_host(Settings(data_dir=data_dir, database_url=url))
        stack.callback(host.db.dispose)
        population = Population(host)
        pair_customers = population.add(p.scale_pair_clients, certificate=True)
        race_customers = population.add(p.races, certificate=True)
        servers = [
            stack.enter_context(
                running(
                    start_sync_server(
                        f"sync-server-{name}",
                        data_dir=data_dir,
                        database_url=url,
                        log_dir=session.workdir,
                    )
                )
            )
            for name in ("a", "b")
        ]
        layouts = {1: servers[:1], 2: servers}
        issued: dict[int, list[Run]] = {1: [], 2: []}
        paired: dict[int, list[Run]] = {1: [], 2: []}
        failures: list[str] = []
        for _ in range(p.runs):
            for count, chosen in layouts.items():  # interleaved, as for status
                urls = [s.url for s in chosen]
                enrolments = issuance.prepare_enrolments(population, p.scale_certs, "ec")
                run, failed = session.measured(
                    servers,
                    partial(issuance.run_issuance, urls, enrolments, concurrency=p.clients),
                )
                issued[count].append(run)
                failures += failed
                run, failed = session.measured(
                    servers,
                    partial(pairing.run_pairing, urls, pair_customers, pairings=p.scale_pairings),
                )
                paired[count].append(run)
                failures += failed
        race_enrolments = issuance.prepare_enrolments(population, p.races, "ec")
        urls = [s.url for s in servers]
        applies = scaleout.race_applies(urls, race_enrolments)
        claims = scaleout.race_claims(urls, race_customers)
        check = scaleout.check_database(
            host, prepared_certificates=len(pair_customers) + len(race_customers)
        )
    _throughput_rows(session, issued, paired)
    _race_row(session, applies, claims, check, failures)


def _throughput_rows(
    session: Session, issued: dict[int, list[Run]], paired: dict[int, list[Run]]
) -> None:
    p = session.profile
    for count in (1, 2):
        where = "1 instance" if count == 1 else "2 instances, round-robin"
        row = Row.from_runs(
            f"scale-out issuance, {where}",
            f"PostgreSQL, K={p.clients}, N={p.scale_certs} ×{p.runs}",
            issued[count],
            target="report",
        )
        if count == 2:
            gain = rate_spread(issued[2]).median / rate_spread(issued[1]).median
            row.beside = f"×{gain:.2f} of 1 instance"
        row.notes.append(cpu_note(issued[count], "servers"))
        session.rows.append(row)
    for count in (1, 2):
        where = "1 instance" if count == 1 else "2 instances, round-robin"
        row = Row.from_runs(
            f"scale-out pairing, {where}",
            f"PostgreSQL, {p.scale_pair_clients} PC+phone pairs, "
            f"{p.scale_pairings} pairings ×{p.runs}",
            paired[count],
            target="report",
        )
        if count == 2:
            gain = rate_spread(paired[2]).median / rate_spread(paired[1]).median
            row.beside = f"×{gain:.2f} of 1 instance"
        row.notes.append(cpu_note(paired[count], "servers"))
        session.rows.append(row)


def _race_row(
    session: Session,
    applies: scaleout.RaceResult,
    claims: scaleout.RaceResult,
    check: scaleout.DatabaseCheck,
    failures: list[str],
) -> None:
    double = applies.double_wins + claims.double_wins + check.double_used
    problems = applies.unexpected + claims.unexpected + failures
    row = Row(
        "scale-out: one-time items used twice",
        f"{applies.items} codes and {claims.items} slots raced on both instances",
        beside=f"{double} used twice (answers and database)",
        target="0",
        verdict="ok" if double == 0 and not problems else "ERROR",
    )
    row.notes.append(
        f"races won twice: {applies.double_wins} codes, {claims.double_wins} slots; "
        f"database after all scale-out runs: "
        f"{check.customers_with_two_certificates} customers with two certificates, "
        f"{check.certificates_from_http} certificates issued for {check.codes_used} used "
        f"codes, {check.claims_ok_in_audit} successful claims for {check.slots_claimed} "
        "claimed slots"
    )
    if applies.no_wins or claims.no_wins:
        row.notes.append(f"races nobody won: {applies.no_wins} codes, {claims.no_wins} slots")
        row.verdict = "ERROR"
    add_failures_note(row, problems)
    session.rows.append(row)
