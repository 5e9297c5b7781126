"""``python -m bench``: run every figure against real servers and print one table.

    python -m bench                  the full run (about 2–3 minutes on two cores)
    python -m bench --quick          fewer requests per run (under a minute)
    python -m bench --postgres       the main figures on a temporary PostgreSQL database
    python -m bench --only status,pairing --runs 5 --clients 16

Benchmarks are not pass/fail: a figure that misses its target is marked ``MISS`` and the exit
status stays 0. Failed requests, or a one-time item used twice, are errors (exit status 1).
"""

from __future__ import annotations

import json
import math
import os
import platform
import shlex
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from importlib.util import find_spec
from pathlib import Path

from bench.figures_local import figure_crl, figure_pfx, figure_sizes, figure_startup
from bench.figures_scaleout import figure_scaleout
from bench.figures_server import server_figures
from bench.options import build_parser, chosen_figures, chosen_profile
from bench.profiles import SERVER_FIGURES
from bench.servers import BenchError, postgres_available, remove_tree
from bench.session import Session
from bench.stats import Row, render_table


def _header(argv: Sequence[str], load_before: float) -> str:
    cores = os.cpu_count() or 0
    command = shlex.join(["python", "-m", "bench", *argv])
    return (
        f"CertSync benchmarks, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC — {cores} cores, "
        f"{platform.machine()}, Python {platform.python_version()}, {platform.system()}, "
        f"load average before the run {load_before:.2f}; {_uvicorn_stack()}\n"
        f"command: {command}  (ops/s and ms: median of runs, (min–max) over runs)"
    )


def _uvicorn_stack() -> str:
    """What uvicorn's ``loop="auto"``/``http="auto"`` pick here (both servers use them)."""
    loop = "uvloop" if find_spec("uvloop") else "asyncio"
    http = "httptools" if find_spec("httptools") else "h11"
    return f"uvicorn on {loop} + {http}"


def _write_json(path: Path, header: str, rows: Sequence[Row]) -> None:
    data = {"header": header, "cores": os.cpu_count(), "rows": [asdict(r) for r in rows]}
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    profile = chosen_profile(args)
    figures = chosen_figures(args)
    if args.postgres and not postgres_available(args.postgres_url):
        print(f"error: PostgreSQL does not answer at {args.postgres_url}", file=sys.stderr)
        return 2
    # Other work on the machine skews every figure: say how busy it was.
    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else math.nan
    workdir = Path(tempfile.mkdtemp(prefix="certsync-bench-"))
    session = Session(args, profile, workdir)
    try:
        if figures & SERVER_FIGURES:
            server_figures(session, figures)
        if "startup" in figures:
            figure_startup(session)
        if "pfx" in figures:
            figure_pfx(session)
        if "crl" in figures:
            figure_crl(session)
        if "sizes" in figures:
            figure_sizes(session)
        if "scaleout" in figures:
            figure_scaleout(session)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        remove_tree(workdir)
    header = _header(argv, load_before)
    print(render(session.rows, header))
    if args.json is not None:
        _write_json(args.json, header, session.rows)
    return 1 if any(r.verdict == "ERROR" for r in session.rows) else 0


def render(rows: Sequence[Row], header: str) -> str:
    """The table and its notes, as printed."""
    return render_table(rows, header=header)
