"""The machine's PostgreSQL for the server tests: a new database per use, dropped afterwards.

Reachable at 127.0.0.1:5432 with trust auth (or at ``CERTSYNC_TEST_POSTGRES``); when it is not,
the tests fail, unless ``CERTSYNC_SKIP_POSTGRES=1`` says to skip them (as in test_postgres.py).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest

SERVER = os.environ.get("CERTSYNC_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432")


def _admin() -> psycopg.Connection[tuple[object, ...]]:
    try:
        return psycopg.connect(f"{SERVER}/postgres", autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        if os.environ.get("CERTSYNC_SKIP_POSTGRES") == "1":
            pytest.skip("PostgreSQL is not reachable and CERTSYNC_SKIP_POSTGRES=1")
        pytest.fail(f"PostgreSQL is not reachable at {SERVER} ({exc}).", pytrace=False)


def new_name() -> str:
    return f"certsync_test_{secrets.token_hex(6)}"


@contextmanager
def fresh_database() -> Iterator[str]:
    """The URL of a new, empty database, dropped (with its connections) at the end."""
    name = new_name()
    with _admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{SERVER}/{name}"
    finally:
        drop_database(name)


def drop_database(name: str) -> None:
    with _admin() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_script(url: str, sql: str) -> None:
    """Run a plain ``pg_dump`` script (its psql meta-commands, such as ``\\restrict``, left out)."""
    body = "\n".join(line for line in sql.splitlines() if not line.startswith("\\"))
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(body.encode())


@pytest.fixture
def pg_url() -> Iterator[str]:
    with fresh_database() as url:
        yield url
