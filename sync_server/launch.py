"""The ``sync-server`` console script: check that the server extra is installed, then run.

The base install (``pip install certsync``) is the two clients; the server's own dependencies
come with ``pip install 'certsync[server]'``. Without them, ``sync-server`` would die on its
first import with a traceback that names a module, not the fix, so this looks for each one
first (``find_spec`` imports nothing, so a complete install starts as fast as before) and
says in one line what to install. The list is the ``server`` extra of ``pyproject.toml``,
as import names; ``tests/test_client_install.py`` checks the two agree.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from importlib.util import find_spec

# Import names of the distributions the ``server`` extra adds (psycopg[binary] is imported as
# psycopg). uvicorn is a base dependency (the page's server); the extra only adds its fast loop.
SERVER_MODULES = ("sqlmodel", "sqlalchemy", "psycopg", "alembic", "prometheus_client", "orjson")
EXIT_CONFIG = 2  # as ``sync_server.cli`` exits for a configuration error


def missing_server_modules() -> list[str]:
    """The server extra's modules that cannot be imported here (none on a complete install)."""
    return [name for name in SERVER_MODULES if not _importable(name)]


def _importable(name: str) -> bool:
    try:
        return find_spec(name) is not None
    except ImportError:  # an import hook that refuses the name says so by raising
        return False


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``sync_server.cli.main(argv)``, or say in one line that the server extra is missing."""
    missing = missing_server_modules()
    if missing:
        print(
            f"error: sync-server needs the server extra ({', '.join(missing)} not installed): "
            "pip install 'certsync[server]'",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    from sync_server.cli import main as run

    return run(argv)
