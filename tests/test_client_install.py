"""The clients install without the server: nothing in them imports the server or its libraries.

``pip install certsync`` (no ``[server]``) gives ``pc-client`` and ``mobile-stub`` and none of
SQLModel, SQLAlchemy, psycopg, Alembic or prometheus-client. This proves it in a fresh Python
process whose import system refuses those modules (and ``sync_server`` itself), as an install
without them would: both programs answer ``--help``, every module of the three client packages
imports, and ``sync-server`` says in one line which extra to install instead of a traceback.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLIENT_PACKAGES = ("sync_client", "pc_client", "mobile_stub")
SERVER_ONLY = (
    "sync_server",
    "sqlmodel",
    "sqlalchemy",
    "psycopg",
    "alembic",
    "prometheus_client",
    "orjson",
)

# Put first on sys.meta_path: a finder that raises for the refused names (and their submodules)
# the same ModuleNotFoundError an install without them raises.
GUARD = """
import sys

REFUSED = {refused!r}


class RefuseServerModules:
    def find_spec(self, fullname, path=None, target=None):
        if fullname.split(".")[0] in REFUSED:
            raise ModuleNotFoundError(f"No module named {{fullname!r}}", name=fullname)
        return None


sys.meta_path.insert(0, RefuseServerModules())
"""

IMPORT_EVERY_MODULE = """
import importlib
import pkgutil

failed = []
for package_name in {packages!r}:
    package = importlib.import_module(package_name)
    names = [package_name]

    def note(name):
        failed.append(f"{{name}}: {{sys.exc_info()[1]!r}}")

    for info in pkgutil.walk_packages(package.__path__, package_name + ".", onerror=note):
        names.append(info.name)
    for name in names:
        if name.rsplit(".", 1)[-1] == "__main__":  # runs the program when imported
            continue
        try:
            importlib.import_module(name)
        except Exception as exc:
            failed.append(f"{{name}}: {{exc!r}}")
        else:
            print("imported", name)
if failed:
    sys.exit("\\n".join(failed))
"""


def run_guarded(
    code: str, *args: str, refused: tuple[str, ...] = SERVER_ONLY
) -> subprocess.CompletedProcess[str]:
    """``python -c GUARD + code`` from the project root, with the ``refused`` modules refused."""
    return subprocess.run(
        [sys.executable, "-c", GUARD.format(refused=refused) + code, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def run_console_script(
    module: str, *args: str, refused: tuple[str, ...] = SERVER_ONLY
) -> subprocess.CompletedProcess[str]:
    """What the console script ``module:main`` does, with ``args`` as its command line."""
    code = f"from {module} import main\nsys.exit(main())\n"  # main() reads sys.argv[1:]
    return run_guarded(code, *args, refused=refused)


def test_the_guard_refuses_what_an_install_without_the_server_lacks() -> None:
    # Negative control: the guarded process really cannot import the server or its libraries.
    for name in SERVER_ONLY:
        done = run_guarded(f"import {name}")
        assert done.returncode != 0
        assert f"No module named '{name}'" in done.stderr


def test_pc_client_help_runs_without_the_server() -> None:
    done = run_console_script("pc_client.cli", "--help")
    assert done.returncode == 0, done.stderr
    assert "Usage:" in done.stdout


def test_mobile_stub_help_runs_without_the_server() -> None:
    done = run_console_script("mobile_stub.cli", "--help")
    assert done.returncode == 0, done.stderr
    assert "Usage:" in done.stdout


def test_every_client_module_imports_without_the_server() -> None:
    done = run_guarded(IMPORT_EVERY_MODULE.format(packages=CLIENT_PACKAGES))
    assert done.returncode == 0, done.stderr
    imported = {line.removeprefix("imported ") for line in done.stdout.splitlines()}
    # The walk found the packages' modules (so an empty walk cannot pass).
    assert {"sync_client.api", "pc_client.cli", "pc_client.web.app", "mobile_stub.cli"} <= imported
    assert len(imported) > 50


def test_sync_server_without_the_server_extra_says_what_to_install() -> None:
    # The wheel holds sync_server's code; an install without the extra lacks its libraries.
    from sync_server.launch import SERVER_MODULES

    done = run_console_script("sync_server.launch", "--help", refused=SERVER_MODULES)
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr  # one line, no traceback
    assert "pip install 'certsync[server]'" in lines[0]
    assert "sqlmodel" in lines[0]


def test_sync_server_launcher_checks_exactly_the_server_extra() -> None:
    from sync_server.launch import SERVER_MODULES

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extra = project["optional-dependencies"]["server"]

    # "psycopg[binary]>=3.2,<4" -> "psycopg"; "prometheus-client>=…" -> "prometheus_client"
    def import_name(spec: str) -> str:
        return re.split(r"[\[<>=!~; ]", spec, maxsplit=1)[0].replace("-", "_")

    # What the extra adds: "uvicorn[standard]" only widens a base dependency.
    base = {import_name(spec) for spec in project["dependencies"]}
    assert set(SERVER_MODULES) == {import_name(spec) for spec in extra} - base
    assert set(SERVER_MODULES) <= set(SERVER_ONLY)
    # And none of them is a base dependency.
    base = {re.split(r"[\[<>=!~; ]", spec, maxsplit=1)[0] for spec in project["dependencies"]}
    assert not base & {name.replace("_", "-") for name in SERVER_MODULES}
