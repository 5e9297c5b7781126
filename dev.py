#!/usr/bin/env python3
"""One entry point for newcomers and CI: installs into ./.venv on first use, then runs.

    python3 dev.py serve [ARGS...]   the server on its embedded SQLite + CA, with a demo customer
    python3 dev.py test [ARGS...]    the whole test suite (pytest; ARGS go to pytest)
    python3 dev.py check             ruff and mypy --strict
    python3 dev.py bench [ARGS...]   the benchmarks (see docs/PERFORMANCE.md)
    python3 dev.py i18n              extract, update and compile the message catalogue

Needs only Python 3.11+. The install is redone when pyproject.toml changes.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".certsync-installed"


def ensure_installed() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036  (dev.py may be run by an older python3)
        sys.exit("CertSync needs Python 3.11 or newer.")
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    if not (BIN / "python").exists():
        print("Creating .venv …", flush=True)
        venv.create(VENV, with_pip=True)
    print("Installing CertSync and its dependencies into .venv …", flush=True)
    pip = [str(BIN / "python"), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "-e", f"{ROOT}[dev]"], check=True)
    STAMP.write_text(wanted)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("serve", "test", "check", "bench", "i18n"):
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    ensure_installed()
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    if command == "serve":
        args = [str(BIN / "sync-server"), "serve", "--demo", *rest]
    elif command == "test":
        args = [str(BIN / "python"), "-m", "pytest", *rest]
    elif command == "bench":
        args = [str(BIN / "python"), "-m", "bench", *rest]
    elif command == "i18n":
        args = [str(BIN / "python"), str(ROOT / "scripts" / "catalogue.py"), *rest]
    else:
        ruff = subprocess.run([str(BIN / "ruff"), "check", "."], cwd=ROOT, env=env)
        fmt = subprocess.run([str(BIN / "ruff"), "format", "--check", "."], cwd=ROOT, env=env)
        mypy = subprocess.run([str(BIN / "mypy")], cwd=ROOT, env=env)
        return ruff.returncode or fmt.returncode or mypy.returncode
    return subprocess.run(args, cwd=ROOT, env=env).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
