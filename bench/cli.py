"""``python -m bench``: run every figure against real servers and print one table.

    python -m bench                  the full run (about 2–3 minutes on two cores)
    python -m bench --quick          fewer requests per run (under a minute)
    python -m bench --postgres       the main figures on a temporary PostgreSQL database
    python -m bench --only status,pairing --runs 5 --clients 16

Benchmarks are not pass/fail: a figure that misses its target is marked ``MISS`` and the exit
status stays 0. Failed requests, or a one-time item used twice, are errors (exit status 1).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shlex
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from bench import crl as crl_bench
from bench import issuance, pairing, pfx_open, scaleout, startup, status
from bench.prepare import Population
from bench.servers import (
    BenchError,
    PostgresBackends,
    ServerProcess,
    machine_busy_seconds,
    postgres_available,
    remove_tree,
    running,
    start_bare_server,
    start_sync_server,
    temporary_postgres_database,
)
from bench.stats import (
    Row,
    Run,
    Spread,
    p50_spread,
    p99_spread,
    rate_spread,
    render_table,
)

FIGURES = ("issuance", "status", "pairing", "startup", "pfx", "crl", "scaleout")
SERVER_FIGURES = {"issuance", "status", "pairing"}
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"

TARGET_ISSUANCE_PER_SECOND = 300.0
TARGET_STATUS_SHARE = 0.50
TARGET_PAIRING_P50_MS = 10.0
TARGET_PAIRING_P99_MS = 50.0
TARGET_CLI_EXTRA_MS = 150.0
TARGET_FLAT = 0.15  # issue 12: a path at 100,000 rows within ±15 % of the same at 1,000


@dataclass(frozen=True)
class Profile:
    """How much each figure does per run."""

    runs: int
    clients: int
    certs: int
    logins: int
    status_customers: int
    status_requests: int
    pairings: int
    startup_repeats: int
    pfx_repeats: int
    scale_certs: int
    scale_pairings: int
    scale_pair_clients: int
    races: int


PROFILES = {
    "default": Profile(
        runs=3,
        clients=8,
        certs=1000,
        logins=64,
        status_customers=1000,
        status_requests=6000,
        pairings=200,
        startup_repeats=15,
        pfx_repeats=5,
        scale_certs=600,
        scale_pairings=200,
        scale_pair_clients=8,
        races=100,
    ),
    "quick": Profile(
        runs=3,
        clients=8,
        certs=300,
        logins=16,
        status_customers=300,
        status_requests=1000,
        pairings=40,
        startup_repeats=5,
        pfx_repeats=2,
        scale_certs=200,
        scale_pairings=40,
        scale_pair_clients=8,
        races=20,
    ),
    # A few requests per figure: proves the harness runs, measures nothing.
    "smoke": Profile(
        runs=1,
        clients=2,
        certs=4,
        logins=2,
        status_customers=3,
        status_requests=6,
        pairings=2,
        startup_repeats=1,
        pfx_repeats=1,
        scale_certs=4,
        scale_pairings=2,
        scale_pair_clients=2,
        races=2,
    ),
}


# -- arguments --------------------------------------------------------------------------


def _figures(text: str) -> set[str]:
    chosen = {name.strip() for name in text.split(",") if name.strip()}
    unknown = chosen - set(FIGURES)
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown figure {', '.join(sorted(unknown))}; choose from {', '.join(FIGURES)}"
        )
    return chosen


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="CertSync benchmarks: real servers on loopback, one table of results.",
    )
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="fewer requests (under a minute)")
    size.add_argument("--smoke", action="store_true", help="a few requests: does it run at all")
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="run issuance, status and pairing on a temporary PostgreSQL database",
    )
    parser.add_argument(
        "--postgres-url",
        default=DEFAULT_POSTGRES_URL,
        help="an existing database to connect to for creating and dropping temporary ones "
        "(default: %(default)s)",
    )
    parser.add_argument("--runs", type=_positive, help="timed runs per figure (median reported)")
    parser.add_argument("--clients", type=_positive, help="concurrent clients (K)")
    parser.add_argument("--certs", type=_positive, help="certificates per issuance run (N)")
    parser.add_argument(
        "--key", choices=("ec", "rsa"), default="ec", help="CSR key type (default: ec P-256)"
    )
    parser.add_argument("--only", type=_figures, help=f"comma list of: {', '.join(FIGURES)}")
    parser.add_argument("--skip", type=_figures, default=set(), help="comma list to leave out")
    parser.add_argument("--json", type=Path, help="also write the results as JSON to this file")
    return parser


def _profile(args: argparse.Namespace) -> Profile:
    profile = PROFILES["smoke" if args.smoke else "quick" if args.quick else "default"]
    changes = {
        key: value
        for key, value in (("runs", args.runs), ("clients", args.clients), ("certs", args.certs))
        if value is not None
    }
    return replace(profile, **changes)


# -- helpers ----------------------------------------------------------------------------


def _measured(
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


def _cpu_note(runs: Sequence[Run], servers: str = "server") -> str:
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


def _failures_note(row: Row, failures: Sequence[str]) -> None:
    for failure in list(dict.fromkeys(failures))[:3]:
        row.notes.append(f"failure: {failure}")


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _verdict(ok: bool) -> str:
    return "ok" if ok else "MISS"


@contextmanager
def _database(args: argparse.Namespace) -> Iterator[str | None]:
    """``None`` (SQLite in the data folder) or a temporary PostgreSQL database's URL."""
    if not args.postgres:
        yield None
        return
    with temporary_postgres_database(args.postgres_url) as url:
        yield url


# -- the figures ------------------------------------------------------------------------


class Bench:
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
        """``_measured`` with this session's PostgreSQL meter, if a PostgreSQL run is on."""
        return _measured(servers, action, self.database)

    def _meter(self, url: str | None) -> None:
        self.database = (
            None if url is None else PostgresBackends(self.args.postgres_url, url.rsplit("/", 1)[1])
        )

    def server_figures(self, figures: set[str]) -> None:
        """Issuance, status and pairing against one ``sync-server serve`` (SQLite or PostgreSQL)."""
        data_dir = self.workdir / "main"
        from sync_server.host import open_host
        from sync_server.settings import Settings

        with _database(self.args) as url, ExitStack() as stack:
            self._meter(url)
            stack.callback(self._meter, None)
            host = open_host(Settings(data_dir=data_dir, database_url=url))
            stack.callback(host.db.dispose)
            population = Population(host)
            server = stack.enter_context(
                running(
                    start_sync_server(
                        "sync-server", data_dir=data_dir, database_url=url, log_dir=self.workdir
                    )
                )
            )
            if "issuance" in figures:
                self.figure_issuance(server, population, data_dir)
            if "status" in figures:
                self.figure_status(server, population)
            if "pairing" in figures:
                self.figure_pairing(server, population)

    def figure_issuance(
        self, server: ServerProcess, population: Population, data_dir: Path
    ) -> None:
        """Apply over HTTP beside the CA's raw signing rate; then the login rate."""
        p, key = self.profile, self.args.key
        runs, raw_runs, failures = [], [], []
        for _ in range(p.runs):
            enrolments = issuance.prepare_enrolments(population, p.certs, key)
            run, failed = self.measured(
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
            f"{self.db_label}, K={p.clients}, N={p.certs} ×{p.runs}, {key.upper()} CSRs",
            runs,
            beside=f"raw CA signing {raw.median:,.0f}/s; HTTP = {http.median / raw.median:.1%}",
            target=f"≥ {TARGET_ISSUANCE_PER_SECOND:.0f}/s",
        )
        if row.verdict != "ERROR":
            row.verdict = _verdict(http.median >= TARGET_ISSUANCE_PER_SECOND)
        row.notes.append(_cpu_note(runs))
        _failures_note(row, failures)
        self.rows.append(row)
        self.rows.append(
            Row.from_runs(
                "CA raw signing (in process)",
                f"same CA key, same CSRs, N={p.certs} ×{p.runs}",
                raw_runs,
            )
        )
        self.figure_logins(server, population, http.median)

    def figure_logins(
        self, server: ServerProcess, population: Population, apply_rate: float
    ) -> None:
        """Logins on their own, and what they make of an end-to-end enrolment."""
        p = self.profile
        runs, failures = [], []
        for _ in range(p.runs):
            customers = population.add(p.logins)
            run, failed = self.measured(
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
            f"{self.db_label}, K={p.clients}, n={p.logins} ×{p.runs}",
            runs,
            beside=f"login + apply end to end ≈ {enrolment:,.0f}/s",
            target="report",
        )
        row.notes.append(_cpu_note(runs))
        _failures_note(row, failures)
        self.rows.append(row)

    def figure_status(self, server: ServerProcess, population: Population) -> None:
        """The status endpoint beside the bare endpoint, runs interleaved."""
        p = self.profile
        customers = population.add(p.status_customers, certificate=True)
        status_runs: list[Run] = []
        bare_runs: list[Run] = []
        failures: list[str] = []
        with running(start_bare_server("bare-starlette", log_dir=self.workdir)) as bare:
            for _ in range(p.runs):  # interleaved, so drift touches both alike
                run, failed = self.measured(
                    [server],
                    lambda: status.run_status(
                        server.url, customers, requests=p.status_requests, concurrency=p.clients
                    ),
                )
                status_runs.append(run)
                failures += failed
                run, failed = self.measured(
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
            f"{self.db_label}, K={p.clients}, {p.status_customers} customers, "
            f"{p.status_requests} req ×{p.runs}",
            status_runs,
            beside=f"{share:.0%} of the bare endpoint",
            target=f"≥ {TARGET_STATUS_SHARE:.0%} of bare",
        )
        if row.verdict != "ERROR":
            row.verdict = _verdict(share >= TARGET_STATUS_SHARE)
        row.notes.append(_cpu_note(status_runs))
        _failures_note(row, failures)
        bare_row = Row.from_runs(
            "bare Starlette endpoint",
            f"same uvicorn settings, K={p.clients}, {p.status_requests} req ×{p.runs}",
            bare_runs,
        )
        bare_row.notes.append(_cpu_note(bare_runs))
        self.rows += [row, bare_row]

    def figure_pairing(self, server: ServerProcess, population: Population) -> None:
        """One PC and one phone pairing again and again: the latency a customer sees."""
        p = self.profile
        customers = population.add(1, certificate=True)
        runs, failures = [], []
        for _ in range(p.runs):
            run, failed = self.measured(
                [server],
                lambda: pairing.run_pairing([server.url], customers, pairings=p.pairings),
            )
            runs.append(run)
            failures += failed
        row = Row.from_runs(
            "pairing: open → claimed seen",
            f"{self.db_label}, one PC + one phone, {p.pairings} pairings ×{p.runs}",
            runs,
            target=f"p50 ≤ {TARGET_PAIRING_P50_MS:.0f} ms, p99 ≤ {TARGET_PAIRING_P99_MS:.0f} ms",
        )
        if row.verdict != "ERROR":
            row.verdict = _verdict(
                p50_spread(runs).median <= TARGET_PAIRING_P50_MS
                and p99_spread(runs).median <= TARGET_PAIRING_P99_MS
            )
        row.notes.append(_cpu_note(runs))
        _failures_note(row, failures)
        self.rows.append(row)

    def figure_startup(self) -> None:
        """``pc-client --help`` and ``mobile-stub --help`` beside ``python -c pass``."""
        result = startup.measure_startup(self.profile.startup_repeats)
        base = result.runs.get(startup.BASELINE)
        for name in (startup.BASELINE, *startup.CLIS):
            label = f"CLI start: {name}" if name != startup.BASELINE else f"start: {name}"
            setup = f"{_plural(self.profile.startup_repeats, 'run')}, a fresh process each"
            if name in result.missing:
                row = Row(label, setup, verdict="skipped")
                row.notes.append(f"cannot run yet ({result.missing[name]})")
                self.rows.append(row)
                continue
            run = result.runs[name]
            row = Row(label, setup, None, Spread.of(run.latencies), Spread.of([run.p99_ms]))
            row.p50 = Spread(run.p50_ms, run.latencies[0] * 1000, run.latencies[-1] * 1000)
            if name != startup.BASELINE and base is not None:
                extra = run.p50_ms - base.p50_ms
                row.beside = f"+{extra:.0f} ms over bare Python"
                row.target = f"≤ +{TARGET_CLI_EXTRA_MS:.0f} ms"
                row.verdict = _verdict(extra <= TARGET_CLI_EXTRA_MS)
            self.rows.append(row)

    def figure_pfx(self) -> None:
        """Opening the default PFX beside one at 2,048 iterations."""
        runs = pfx_open.measure_pfx_open(self.profile.pfx_repeats)
        offenders = pfx_open.server_opens_pfx()
        for iterations, run in runs.items():
            row = Row(
                f"PFX open: load_pfx, {iterations:,} iterations",
                f"{_plural(self.profile.pfx_repeats, 'open')}, EC key + 2 certificates",
                None,
                Spread(run.p50_ms, run.latencies[0] * 1000, run.latencies[-1] * 1000),
                Spread.of([run.p99_ms]),
                target="report; never on the server",
            )
            if iterations == max(runs):
                row.beside = (
                    "server opens no PFX (no PKCS#12 code in sync_server/)"
                    if not offenders
                    else f"PKCS#12 code in sync_server/{', '.join(offenders)}"
                )
                row.verdict = _verdict(not offenders)
            self.rows.append(row)

    def figure_crl(self) -> None:
        """Signing and serving the CRL at 1,000 and 100,000 certificates (50 revoked)."""
        figures = crl_bench.measure_crl(self.profile.pfx_repeats + 2)
        small, large = crl_bench.SIZES
        for label, runs in (("sign_crl (after a revocation)", figures.signing),
                            ("GET /api/v1/crl (served)", figures.serving)):  # fmt: skip
            for size in crl_bench.SIZES:
                run = runs[size]
                row = Row(
                    f"CRL: {label}, {size:,} certificates",
                    f"{_plural(run.count, 'call')}, {crl_bench.REVOKED} revoked, in process",
                    None,
                    Spread(run.p50_ms, run.latencies[0] * 1000, run.latencies[-1] * 1000),
                    Spread.of([run.p99_ms]),
                )
                if size == large:
                    ratio = run.p50_ms / runs[small].p50_ms
                    row.beside = f"×{ratio:.2f} of {small:,} certificates"
                    # Flat: no slower than +15 % (faster is the noise of a warmer process).
                    row.target = f"≤ ×{1 + TARGET_FLAT:.2f}"
                    row.verdict = _verdict(ratio <= 1 + TARGET_FLAT)
                self.rows.append(row)

    def figure_scaleout(self) -> None:
        """1 vs 2 instances on one PostgreSQL database, then the at-most-once races."""
        if not postgres_available(self.args.postgres_url):
            row = Row("scale-out", "2 instances on one PostgreSQL", verdict="skipped")
            row.notes.append(f"PostgreSQL does not answer at {self.args.postgres_url}.")
            self.rows.append(row)
            return
        from sync_server.host import open_host
        from sync_server.settings import Settings

        p = self.profile
        data_dir = self.workdir / "scale"
        with temporary_postgres_database(self.args.postgres_url) as url, ExitStack() as stack:
            self._meter(url)
            stack.callback(self._meter, None)
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
                            log_dir=self.workdir,
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
                    run, failed = self.measured(
                        servers,
                        partial(issuance.run_issuance, urls, enrolments, concurrency=p.clients),
                    )
                    issued[count].append(run)
                    failures += failed
                    run, failed = self.measured(
                        servers,
                        partial(
                            pairing.run_pairing, urls, pair_customers, pairings=p.scale_pairings
                        ),
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
        self._scaleout_rows(issued, paired, applies, claims, check, failures)

    def _scaleout_rows(
        self,
        issued: dict[int, list[Run]],
        paired: dict[int, list[Run]],
        applies: scaleout.RaceResult,
        claims: scaleout.RaceResult,
        check: scaleout.DatabaseCheck,
        failures: list[str],
    ) -> None:
        p = self.profile
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
            row.notes.append(_cpu_note(issued[count], "servers"))
            self.rows.append(row)
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
            row.notes.append(_cpu_note(paired[count], "servers"))
            self.rows.append(row)
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
        _failures_note(row, problems)
        self.rows.append(row)


# -- main -------------------------------------------------------------------------------


def _header(argv: Sequence[str], load_before: float) -> str:
    cores = os.cpu_count() or 0
    command = shlex.join(["python", "-m", "bench", *argv])
    return (
        f"CertSync benchmarks, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC — {cores} cores, "
        f"{platform.machine()}, Python {platform.python_version()}, {platform.system()}, "
        f"load average before the run {load_before:.2f}\n"
        f"command: {command}  (ops/s and ms: median of runs, (min–max) over runs)"
    )


def _write_json(path: Path, header: str, rows: Sequence[Row]) -> None:
    data = {"header": header, "cores": os.cpu_count(), "rows": [asdict(r) for r in rows]}
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    profile = _profile(args)
    figures = (args.only or set(FIGURES)) - args.skip
    if args.postgres and not postgres_available(args.postgres_url):
        print(f"error: PostgreSQL does not answer at {args.postgres_url}", file=sys.stderr)
        return 2
    # Other work on the machine skews every figure: say how busy it was.
    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else math.nan
    workdir = Path(tempfile.mkdtemp(prefix="certsync-bench-"))
    bench = Bench(args, profile, workdir)
    try:
        if figures & SERVER_FIGURES:
            bench.server_figures(figures)
        if "startup" in figures:
            bench.figure_startup()
        if "pfx" in figures:
            bench.figure_pfx()
        if "crl" in figures:
            bench.figure_crl()
        if "scaleout" in figures:
            bench.figure_scaleout()
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        remove_tree(workdir)
    header = _header(argv, load_before)
    print(render(bench.rows, header))
    if args.json is not None:
        _write_json(args.json, header, bench.rows)
    return 1 if any(r.verdict == "ERROR" for r in bench.rows) else 0


def render(rows: Sequence[Row], header: str) -> str:
    """The table and its notes, as printed."""
    return render_table(rows, header=header)
