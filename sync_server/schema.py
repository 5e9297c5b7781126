"""The database's schema version: where a database stands against the migrations, and upgrading.

    missing   no SQLite file yet                         serve / init create it
    empty     a database with no CertSync tables         serve / init create them
    legacy    CertSync 0.1's tables, before migrations   db upgrade stamps 0001, then upgrades
    behind    an older revision                          db upgrade
    current   the newest revision this version knows     ready
    newer     a revision this version does not know      run the newer CertSync
    foreign   tables, none of them CertSync's            point at the right database

``inspect`` only reads (and never creates a SQLite file); ``upgrade`` runs every missing revision
in one transaction, under PostgreSQL's advisory lock so that instances starting together on an
empty database do not both create it. Alembic is driven from code: no ``alembic.ini``.

A new SQLite file is a copy (SQLite's backup API) of one made by the same revisions once per
process: the result is the same, and running the revisions costs ~15 times the copy, which a
test suite that makes a database per test pays hundreds of times.
"""

from __future__ import annotations

import contextlib
import enum
import functools
import os
import secrets
import sqlite3
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.runtime.environment import EnvironmentContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy import inspect as sa_inspect

from sync_server.db import Database
from sync_server.errors import ConfigCode, ConfigError
from sync_server.migrations.versions.r0001_baseline import TABLES as BASELINE_TABLES

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
BASELINE = "0001"
VERSION_TABLE = "alembic_version"
# Any fixed 64-bit number: the key of the lock that serializes upgrades on PostgreSQL.
_ADVISORY_LOCK = 0x6365727473796E63  # "certsync"


class State(enum.StrEnum):
    MISSING = "missing"
    EMPTY = "empty"
    LEGACY = "legacy"
    BEHIND = "behind"
    CURRENT = "current"
    NEWER = "newer"
    FOREIGN = "foreign"


@dataclass(frozen=True)
class SchemaStatus:
    state: State
    revision: str | None
    head: str

    @property
    def shown_revision(self) -> str:
        if self.revision is not None:
            return self.revision
        return "0.1 (before migrations)" if self.state is State.LEGACY else "none"


@dataclass(frozen=True)
class Revision:
    id: str
    down: str | None
    title: str


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@functools.cache
def _scripts() -> ScriptDirectory:
    # Parsed once per process: reading the revision files is most of what a fresh database's
    # creation costs, and they do not change while the process runs.
    return ScriptDirectory.from_config(_config())


def head_revision() -> str:
    head = _scripts().get_current_head()
    assert head is not None
    return head


@functools.cache
def history() -> tuple[Revision, ...]:
    """Every revision, oldest first."""
    found = [
        Revision(
            script.revision,
            script.down_revision if isinstance(script.down_revision, str) else None,
            (script.doc or "").strip().splitlines()[0] if script.doc else "",
        )
        for script in _scripts().walk_revisions()
    ]
    return tuple(reversed(found))


def _status_on(connection: Connection) -> SchemaStatus:
    head = head_revision()
    tables = set(sa_inspect(connection).get_table_names())
    ours = tables & set(BASELINE_TABLES)
    revision = (
        MigrationContext.configure(connection).get_current_revision()
        if VERSION_TABLE in tables
        else None
    )
    if revision is None:
        if ours:
            return SchemaStatus(State.LEGACY, None, head)
        return SchemaStatus(State.FOREIGN if tables - {VERSION_TABLE} else State.EMPTY, None, head)
    known = {r.id for r in history()}
    if revision == head:
        return SchemaStatus(State.CURRENT, revision, head)
    return SchemaStatus(State.BEHIND if revision in known else State.NEWER, revision, head)


def inspect(db: Database) -> SchemaStatus:
    """Where ``db`` stands; reads only, and leaves a missing SQLite file missing."""
    if db.sqlite_path is not None and not db.sqlite_path.exists():
        return SchemaStatus(State.MISSING, None, head_revision())
    with db.connect() as connection:
        return _status_on(connection)


def refusal(db: Database, status: SchemaStatus, *, data_dir: Path) -> ConfigError | None:
    """Why the server or an admin tool cannot use ``db`` as it stands (``None``: it can)."""
    where = db.description
    if status.state in (State.MISSING, State.EMPTY):
        looked = (
            f"no CertSync database in the data folder {data_dir}"
            if db.is_sqlite
            else (f"no CertSync tables in {where}")
        )
        return ConfigError(
            f"There is {looked}. Point SYNC_DATA_DIR (or SYNC_DATABASE_URL) at the server's, "
            "or create one with `sync-server init`.",
            code=ConfigCode.NO_DATABASE,
        )
    if status.state in (State.LEGACY, State.BEHIND):
        return ConfigError(
            f"{where} is at revision {status.shown_revision}; this CertSync needs {status.head}. "
            "Back it up (`sync-server backup DIR`), then run `sync-server db upgrade`.",
            code=ConfigCode.DATABASE_BEHIND,
        )
    if status.state is State.NEWER:
        return ConfigError(
            f"{where} is at revision {status.revision}, which this CertSync does not know: it was "
            "upgraded by a newer version. Run that version, or restore a backup made for this one.",
            code=ConfigCode.DATABASE_NEWER,
        )
    if status.state is State.FOREIGN:
        return ConfigError(
            f"{where} holds tables that are not CertSync's; point SYNC_DATABASE_URL at the "
            "CertSync database, or at a new empty one.",
            code=ConfigCode.DATABASE_FOREIGN,
        )
    return None


def _check_legacy(connection: Connection) -> None:
    inspector = sa_inspect(connection)
    present = set(inspector.get_table_names())
    for table, columns in BASELINE_TABLES.items():
        if table not in present:
            raise ConfigError(
                f"The database has some of CertSync 0.1's tables but not {table}: it is not a "
                "database CertSync made. Restore a backup instead.",
                code=ConfigCode.DATABASE_FOREIGN,
            )
        found = {c["name"] for c in inspector.get_columns(table)}
        missing = [c for c in columns if c not in found]
        if missing:
            raise ConfigError(
                f"The table {table} lacks {', '.join(missing)}: it is not the schema CertSync 0.1 "
                "made. Restore a backup instead.",
                code=ConfigCode.DATABASE_FOREIGN,
            )


def _run_upgrade(connection: Connection) -> None:
    """``alembic upgrade head`` on ``connection``, with the revisions parsed once per process
    (``command.upgrade`` would parse them again on every call: most of a new database's cost)."""
    scripts = _scripts()

    def steps(revision: Any, _context: MigrationContext) -> Any:
        return scripts._upgrade_revs("head", revision)

    with EnvironmentContext(_config(connection), scripts, fn=steps, destination_rev="head"):
        scripts.run_env()


_template_lock = threading.Lock()
_template: list[sqlite3.Connection] = []  # the in-memory database at head, made at first use


def _create_sqlite(path: Path) -> None:
    """Make ``path`` a database at head, unless another process made it first."""
    with _template_lock:
        if not _template:
            with tempfile.TemporaryDirectory() as folder:
                made = Database(f"sqlite:///{Path(folder) / 'template.db'}")
                try:
                    with made.connect() as connection:
                        _run_upgrade(connection)
                finally:
                    made.dispose()
                memory = sqlite3.connect(":memory:", check_same_thread=False)
                with contextlib.closing(sqlite3.connect(Path(folder) / "template.db")) as source:
                    source.backup(memory)
                _template.append(memory)
        temp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.new")
        with contextlib.closing(sqlite3.connect(temp)) as target:
            _template[0].backup(target)
    try:
        os.link(temp, path)  # never over a file that appeared meanwhile
    except FileExistsError:
        pass  # made by another process: ``upgrade`` takes it as it finds it
    finally:
        temp.unlink()


def upgrade(db: Database, *, create: bool) -> tuple[SchemaStatus, SchemaStatus]:
    """Run the missing revisions in one transaction; returns the status before and after.

    ``create`` allows making the tables in a missing or empty database (``serve``, ``init``);
    ``db upgrade`` passes ``False`` and so refuses a database that is not there.
    """
    if db.sqlite_path is not None and not db.sqlite_path.exists():
        if not create:
            raise ConfigError(
                f"There is no CertSync database at {db.sqlite_path}: nothing to upgrade. "
                "`sync-server init` creates one.",
                code=ConfigCode.NO_DATABASE,
            )
        db.sqlite_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        _create_sqlite(db.sqlite_path)
        created = SchemaStatus(State.MISSING, None, head_revision())
    else:
        created = None
    with db.connect() as connection:
        if not db.is_sqlite:
            # Held to the end of this transaction: a second instance waits, then finds the work
            # done. (SQLite's BEGIN IMMEDIATE already serializes writers.)
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK})
        before = _status_on(connection)
        problem = refusal(db, before, data_dir=db.sqlite_path.parent if db.sqlite_path else Path())
        if before.state in (State.NEWER, State.FOREIGN) or (
            before.state is State.EMPTY and not create
        ):
            assert problem is not None
            raise problem
        if before.state is State.LEGACY:
            _check_legacy(connection)
        try:
            if before.state is State.LEGACY:
                command.stamp(_config(connection), BASELINE)
            if before.state is not State.CURRENT:
                _run_upgrade(connection)
        except Exception as exc:
            # The transaction rolls back as this leaves ``connect``: the database is as it was.
            raise ConfigError(
                f"The upgrade of {db.description} failed and changed nothing: "
                f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
                code=ConfigCode.UPGRADE_FAILED,
            ) from exc
        after = _status_on(connection)
    return created or before, after
