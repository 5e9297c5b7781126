"""A smoke run of the benchmark harness (``python -m bench --smoke``): a few requests per figure.

It proves the harness still runs against the real server and prints its table; it asserts no
timing (benchmarks are not pass/fail, machines are noisy). The harness runs as a user runs it,
as a subprocess from the project root, so its servers, ports and temporary databases are its
own.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT_SECONDS = 120  # --smoke runs in ~30-60 s; the sizes and CRL figures use small tables
SMOKE_SIZES = ("200", "2,000")  # bench/profiles.py: the smoke profile's table_sizes


def run_bench(*args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done


def table_rows(output: str) -> dict[str, list[str]]:
    """The printed table as ``{figure: [cells…]}`` (Markdown pipes)."""
    rows: dict[str, list[str]] = {}
    for line in output.splitlines():
        if line.startswith("| ") and not line.startswith("| figure "):
            cells = [cell.strip() for cell in line.strip("|").split("|")]
            rows[cells[0]] = cells[1:]
    return rows


@pytest.mark.e2e
def test_smoke_run_prints_every_single_instance_figure() -> None:
    output = run_bench("--skip", "scaleout").stdout
    assert "cores" in output.splitlines()[0]
    rows = table_rows(output)
    expected = [
        "issuance: apply over HTTP",
        "issuance peer: cfssl serve, POST /cfssl/sign",
        "CA raw signing (in process)",
        "login (Argon2id, 19 MiB, t=2)",
        "status: GET /certificate/status",
        "bare Starlette endpoint",
        "pairing: open → claimed seen",
        "pairing through the SDK's client (httpx2)",
        "handoff: pc-client pair → mobile-stub pair",
        "handoff peer: wormhole send → wormhole receive",
        "start: python -c pass",
        "CLI start: pc-client",
        "CLI start: mobile-stub",
        "PFX open: load_pfx, RSA-2048, 600,000 iterations",
        "PFX open: load_pfx, RSA-2048, 2,048 iterations",
        "PFX open: load_pfx, EC P-256, 600,000 iterations",
        "PFX open: load_pfx, EC P-256, 2,048 iterations",
        *(
            f"CRL: {what}, {size} certificates"
            for what in ("sign_crl (after a revocation)", "GET /api/v1/crl (served)")
            for size in SMOKE_SIZES
        ),
        *(
            f"size: {path}, {size} customers"
            for path in ("status", "issuance", "renewal", "pairing", "crl")
            for size in SMOKE_SIZES
        ),
    ]
    assert list(rows) == expected
    # A verdict for each, and never a failed request (timings may MISS on a busy machine).
    results = {figure: cells[-1] for figure, cells in rows.items()}
    assert "ERROR" not in results.values(), output
    # The server opens no PFX: the verdict of the default file's row.
    assert results["PFX open: load_pfx, RSA-2048, 600,000 iterations"] == "ok"


@pytest.mark.e2e
@pytest.mark.postgres
def test_smoke_scale_out_uses_nothing_twice() -> None:
    if os.environ.get("CERTSYNC_SKIP_POSTGRES") == "1":
        pytest.skip("CERTSYNC_SKIP_POSTGRES=1")
    rows = table_rows(run_bench("--only", "scaleout").stdout)
    assert rows["scale-out: one-time items used twice"][-1] == "ok", rows
    assert {figure for figure in rows if figure.startswith("scale-out ")} == {
        "scale-out issuance, 1 instance",
        "scale-out issuance, 2 instances, round-robin",
        "scale-out pairing, 1 instance",
        "scale-out pairing, 2 instances, round-robin",
    }
