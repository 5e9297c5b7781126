#!/usr/bin/env python3
"""One entry point for newcomers and CI: installs into ./.venv on first use, then runs.

    python3 dev.py serve [ARGS...]   the server on its embedded SQLite + CA, with a demo customer
    python3 dev.py test [ARGS...]    the whole test suite (pytest; ARGS go to pytest)
    python3 dev.py check [--no-tests]  ruff, mypy --strict, and mypy over tests/ (lighter)
    python3 dev.py bench [ARGS...]   the benchmarks (see docs/PERFORMANCE.md)
    python3 dev.py i18n              extract, update and compile the message catalogue
    python3 dev.py lock [ARGS...]    re-resolve requirements/dev.lock (ARGS go to `uv pip
                                     compile`, e.g. --upgrade or --upgrade-package NAME)

Needs only Python 3.11+. The install is exact: every package at the version and hash written
in requirements/dev.lock (the server, the clients and the tools: `.[server,dev]`), then this
project itself, editable, without dependencies. It is redone when pyproject.toml or the lock
changes. After changing dependencies in pyproject.toml, run `python3 dev.py lock` and commit
the lock with it; the other commands refuse a lock that does not match pyproject.toml.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".certsync-installed"
PYPROJECT = ROOT / "pyproject.toml"
LOCK = ROOT / "requirements" / "dev.lock"
TESTS = ROOT / "tests"
# What the lock covers: one resolution for every platform, from the oldest Python we support.
LOCK_EXTRAS = ("server", "dev")
LOCK_PYTHON = "3.11"
DIGEST_PREFIX = "# pyproject.toml dependencies sha256: "

# mypy over tests/: the configured strict profile, less what test code need not carry
# (annotations on every helper and fixture, typed calls into pytest's untyped corners); the
# bodies of unannotated functions are still checked. Errors in the packages under test are
# reported by the strict run, so imports are followed silently here.
TEST_MYPY_FLAGS = (
    "--check-untyped-defs",
    "--allow-untyped-defs",
    "--allow-incomplete-defs",
    "--allow-untyped-calls",
    "--allow-any-generics",
    "--no-warn-return-any",
    "--no-warn-unused-ignores",
    "--follow-imports=silent",
)

COMMANDS = ("serve", "test", "check", "bench", "i18n", "lock")


def dependencies_digest() -> str:
    """The SHA-256 of pyproject.toml's dependency tables (what the lock was resolved from)."""
    import tomllib

    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    tables = {
        "requires-python": project.get("requires-python"),
        "dependencies": project.get("dependencies", []),
        "optional-dependencies": project.get("optional-dependencies", {}),
    }
    return hashlib.sha256(json.dumps(tables, sort_keys=True).encode()).hexdigest()


def lock_digest() -> str | None:
    if not LOCK.exists():
        return None
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        if line.startswith(DIGEST_PREFIX):
            return line.removeprefix(DIGEST_PREFIX).strip()
    return None


def check_python() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036  (dev.py may be run by an older python3)
        sys.exit("CertSync needs Python 3.11 or newer.")


def ensure_venv() -> None:
    if not (BIN / "python").exists():
        print("Creating .venv …", flush=True)
        venv.create(VENV, with_pip=True)


def pip(*args: str) -> None:
    command = [str(BIN / "python"), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    subprocess.run([*command, *args], check=True)


def ensure_installed() -> None:
    check_python()
    if lock_digest() != dependencies_digest():
        sys.exit(
            f"{LOCK.relative_to(ROOT)} does not match the dependencies in pyproject.toml: "
            "run `python3 dev.py lock` and commit the lock with the change."
        )
    wanted = hashlib.sha256(PYPROJECT.read_bytes() + LOCK.read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    ensure_venv()
    print("Installing CertSync and its dependencies (requirements/dev.lock) into .venv …")
    # Hash-checking mode: every package at exactly the locked version and file.
    pip("--require-hashes", "-r", str(LOCK))
    pip("--no-deps", "-e", str(ROOT))
    STAMP.write_text(wanted)


def lock(extra_args: list[str]) -> int:
    """Resolve pyproject.toml's dependencies (with LOCK_EXTRAS) into requirements/dev.lock."""
    check_python()
    ensure_venv()
    if not (BIN / "uv").exists():
        import tomllib

        dev = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
        uv = next(s for s in dev["optional-dependencies"]["dev"] if s.startswith("uv"))
        pip(uv)
    LOCK.parent.mkdir(exist_ok=True)
    command = [str(BIN / "uv"), "pip", "compile", "--quiet", str(PYPROJECT.relative_to(ROOT))]
    for extra in LOCK_EXTRAS:
        command += ["--extra", extra]
    command += [
        "--universal",
        f"--python-version={LOCK_PYTHON}",
        "--generate-hashes",
        "--custom-compile-command=python3 dev.py lock",
        f"--output-file={LOCK.relative_to(ROOT)}",
        *extra_args,
    ]
    done = subprocess.run(command, cwd=ROOT)
    if done.returncode != 0:
        return done.returncode
    # Record what was resolved, so the other commands can tell a stale lock.
    lines = LOCK.read_text(encoding="utf-8").splitlines()
    lines = [line for line in lines if not line.startswith(DIGEST_PREFIX)]
    header = next(i for i, line in enumerate(lines) if not line.startswith("#"))
    lines.insert(header, DIGEST_PREFIX + dependencies_digest())
    LOCK.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {LOCK.relative_to(ROOT)}")
    return 0


def test_mypy_groups() -> list[tuple[Path, list[str]]]:
    """tests/ as mypy can read it: its top level (with its packages, e.g. tests/server), then
    each folder that is not a package (pytest puts each on sys.path, so every one has its own
    ``conftest`` and helpers, importable by their bare names: one mypy run per folder)."""
    folders = sorted(d for d in TESTS.iterdir() if d.is_dir() and any(d.glob("*.py")))
    top = [str(f) for f in sorted(TESTS.glob("*.py"))]
    top += [str(d) for d in folders if (d / "__init__.py").exists()]
    groups = [(TESTS, top)]
    groups += [(d, [str(d)]) for d in folders if not (d / "__init__.py").exists()]
    return groups


def check(args: list[str], env: dict[str, str]) -> int:
    ruff = subprocess.run([str(BIN / "ruff"), "check", "."], cwd=ROOT, env=env)
    fmt = subprocess.run([str(BIN / "ruff"), "format", "--check", "."], cwd=ROOT, env=env)
    mypy = subprocess.run([str(BIN / "mypy")], cwd=ROOT, env=env)
    failed = ruff.returncode or fmt.returncode or mypy.returncode
    if "--no-tests" not in args:
        for folder, paths in test_mypy_groups():
            path = os.pathsep.join([str(folder), str(TESTS), str(ROOT)])
            print(f"mypy (tests profile): {folder.relative_to(ROOT)}", flush=True)
            done = subprocess.run(
                [str(BIN / "mypy"), *TEST_MYPY_FLAGS, *paths],
                cwd=ROOT,
                env=dict(env, MYPYPATH=path),
            )
            failed = failed or done.returncode
    return failed


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in COMMANDS:
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    if command == "lock":
        return lock(rest)
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
        return check(rest, env)
    return subprocess.run(args, cwd=ROOT, env=env).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
