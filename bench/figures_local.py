"""The figures that need no server running: CLI start-up, opening a PFX, the CRL.

Each runs in this process or in fresh processes of its own and appends its rows to the session.
"""

from __future__ import annotations

from bench import crl as crl_bench
from bench import pfx_open, sizes, startup
from bench.session import Session, plural, verdict
from bench.stats import Row, Spread

TARGET_CLI_EXTRA_MS = 150.0
TARGET_FLAT = 0.15  # issue 12: a path at 100,000 rows within ±15 % of the same at 1,000


def figure_startup(session: Session) -> None:
    """``pc-client --help`` and ``mobile-stub --help`` beside ``python -c pass``."""
    repeats = session.profile.startup_repeats
    result = startup.measure_startup(repeats)
    base = result.runs.get(startup.BASELINE)
    for name in (startup.BASELINE, *startup.CLIS):
        label = f"CLI start: {name}" if name != startup.BASELINE else f"start: {name}"
        setup = f"{plural(repeats, 'run')}, a fresh process each"
        if name in result.missing:
            row = Row(label, setup, verdict="skipped")
            row.notes.append(f"cannot run yet ({result.missing[name]})")
            session.rows.append(row)
            continue
        run = result.runs[name]
        row = Row(label, setup, None, Spread.of(run.latencies), Spread.of([run.p99_ms]))
        row.p50 = Spread(run.p50_ms, run.latencies[0] * 1000, run.latencies[-1] * 1000)
        if name != startup.BASELINE and base is not None:
            extra = run.p50_ms - base.p50_ms
            row.beside = f"+{extra:.0f} ms over bare Python"
            row.target = f"≤ +{TARGET_CLI_EXTRA_MS:.0f} ms"
            row.verdict = verdict(extra <= TARGET_CLI_EXTRA_MS)
        session.rows.append(row)


KEY_NAMES = {"rsa": "RSA-2048", "ec": "EC P-256"}


def figure_pfx(session: Session) -> None:
    """Opening the default PFX beside one at 2,048 iterations, RSA (the default) and EC."""
    repeats = session.profile.pfx_repeats
    runs = pfx_open.measure_pfx_open(repeats)
    offenders = pfx_open.server_opens_pfx()
    for (kind, iterations), run in runs.items():
        row = Row(
            f"PFX open: load_pfx, {KEY_NAMES[kind]}, {iterations:,} iterations",
            f"{plural(repeats, 'open')}, the key + 2 certificates",
            None,
            Spread(run.p50_ms, run.latencies[0] * 1000, run.latencies[-1] * 1000),
            Spread.of([run.p99_ms]),
            target="report; never on the server",
        )
        if (kind, iterations) == next(iter(runs)):  # the default file: RSA, 600,000
            row.beside = (
                "server opens no PFX (no PKCS#12 code in sync_server/)"
                if not offenders
                else f"PKCS#12 code in sync_server/{', '.join(offenders)}"
            )
            row.verdict = verdict(not offenders)
        session.rows.append(row)


def figure_crl(session: Session) -> None:
    """Signing and serving the CRL at 1,000 and 100,000 certificates (50 revoked)."""
    table_sizes = session.profile.table_sizes
    figures = crl_bench.measure_crl(session.profile.pfx_repeats + 2, table_sizes)
    small, large = table_sizes
    for label, runs in (("sign_crl (after a revocation)", figures.signing),
                        ("GET /api/v1/crl (served)", figures.serving)):  # fmt: skip
        for size in table_sizes:
            run = runs[size]
            row = Row(
                f"CRL: {label}, {size:,} certificates",
                f"{plural(run.count, 'call')}, {crl_bench.REVOKED} revoked, in process",
                None,
                Spread(run.p50_ms, run.latencies[0] * 1000, run.latencies[-1] * 1000),
                Spread.of([run.p99_ms]),
            )
            if size == large:
                ratio = run.p50_ms / runs[small].p50_ms
                row.beside = f"×{ratio:.2f} of {small:,} certificates"
                # Flat: no slower than +15 % (faster is the noise of a warmer process).
                row.target = f"≤ ×{1 + TARGET_FLAT:.2f}"
                row.verdict = verdict(ratio <= 1 + TARGET_FLAT)
            session.rows.append(row)


def figure_sizes(session: Session) -> None:
    """The hot paths at 1,000 and 100,000 customers: the larger as a multiple of the smaller."""
    repeats = session.profile.size_repeats
    table_sizes = session.profile.table_sizes
    figures = sizes.measure_sizes(repeats, table_sizes)
    small, large = table_sizes
    for path, runs in figures.items():
        for size in table_sizes:
            run = runs[size]
            row = Row(
                f"size: {path}, {size:,} customers",
                f"{plural(run.count, 'call')}, in process, SQLite",
                None,
                Spread(run.p50_ms, run.latencies[0] * 1000, run.latencies[-1] * 1000),
                Spread.of([run.p99_ms]),
            )
            if size == large:
                ratio = run.p50_ms / runs[small].p50_ms
                row.beside = f"×{ratio:.2f} of {small:,} customers"
                row.target = f"×1 ± {TARGET_FLAT:.0%}"
                row.verdict = verdict(abs(ratio - 1) <= TARGET_FLAT)
            session.rows.append(row)
