"""The command line of ``python -m bench``: its arguments, and the profile they choose."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from bench.profiles import FIGURES, PROFILES, Profile

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


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


def chosen_profile(args: argparse.Namespace) -> Profile:
    """The profile the size flag names, with ``--runs``, ``--clients`` and ``--certs`` applied."""
    profile = PROFILES["smoke" if args.smoke else "quick" if args.quick else "default"]
    changes = {
        key: value
        for key, value in (("runs", args.runs), ("clients", args.clients), ("certs", args.certs))
        if value is not None
    }
    return replace(profile, **changes)


def chosen_figures(args: argparse.Namespace) -> set[str]:
    """``--only`` (else every figure) less ``--skip``."""
    return set(args.only or FIGURES) - set(args.skip)
