"""``sync-server backup DIR`` and ``restore DIR``: a consistent copy, and only a sound one back.

A backup folder (0700, every file 0600)::

    manifest.json     what the rest is: format, time, database kind and schema revision, the
                      rows in every table, the CA's fingerprint, each file's size and SHA-256
    certsync.db       SQLite: made by SQLite's online backup API, one consistent snapshot taken
                      while the server keeps writing (WAL readers do not block writers)
    database.pgdump   PostgreSQL: ``pg_dump --format=custom`` of an exported snapshot; the row
                      counts are read in that same snapshot, so they describe the dump exactly
    ca.key.pem        the CA key as it is on disk (still encrypted if it was)
    ca.cert.pem, ca.chain.pem (if any)

``restore`` checks everything before it writes anything: the manifest, every checksum, no file
missing or added, the database kind, a schema revision this version knows, the CA (the backup's
own, and the operator's if ``SYNC_CA_*_FILE`` name one), and an empty target (a data folder with
nothing in it, or a PostgreSQL database with no tables). After writing it counts the rows again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy import URL, make_url, text
from sqlalchemy import inspect as sa_inspect

from sync_client.fsio import fsync_directory, write_file_atomic
from sync_client.protocol import format_time
from sync_server import schema
from sync_server.ca import CERT_FILE, CHAIN_FILE, KEY_FILE
from sync_server.db import Database
from sync_server.errors import ConfigCode, ConfigError
from sync_server.settings import Settings

FORMAT = "certsync-backup"
VERSION = 1
MANIFEST = "manifest.json"
SQLITE_FILE = "certsync.db"
PG_FILE = "database.pgdump"
CHUNK = 1 << 20


@dataclass(frozen=True)
class Summary:
    directory: Path
    kind: str
    revision: str
    counts: Mapping[str, int]


def _damaged(message: str) -> ConfigError:
    return ConfigError(f"The backup is damaged: {message}", code=ConfigCode.BACKUP_DAMAGED)


def _mismatch(message: str) -> ConfigError:
    return ConfigError(f"The backup does not fit here: {message}", code=ConfigCode.BACKUP_MISMATCH)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _ca_files(settings: Settings) -> dict[str, Path]:
    """The CA files this instance loads, by the name they get in a backup."""
    if settings.ca_key_file is not None and settings.ca_cert_file is not None:
        files = {KEY_FILE: settings.ca_key_file, CERT_FILE: settings.ca_cert_file}
        if settings.ca_chain_file is not None:
            files[CHAIN_FILE] = settings.ca_chain_file
        return files
    files = {name: settings.data_dir / name for name in (KEY_FILE, CERT_FILE, CHAIN_FILE)}
    if not files[CHAIN_FILE].exists():
        del files[CHAIN_FILE]
    return files


def _fingerprint(cert_pem: bytes) -> tuple[str, str]:
    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
    except ValueError:
        raise _damaged("ca.cert.pem is not a PEM certificate.") from None
    der = cert.public_bytes(serialization.Encoding.DER)
    return hashlib.sha256(der).hexdigest(), cert.subject.rfc4514_string()


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq URI without the password, and the environment that carries it (never argv)."""
    parsed: URL = make_url(url).set(drivername="postgresql")
    env = dict(os.environ)
    if parsed.password is not None:
        env["PGPASSWORD"] = str(parsed.password)
    return parsed.set(password=None).render_as_string(hide_password=False), env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise ConfigError(
            f"{name} is not on PATH: install PostgreSQL's client tools (the same major version "
            "as the server), or see docs/OPERATIONS.md for doing it by hand.",
            code=ConfigCode.PG_TOOL_MISSING,
        )
    return found


def _run(args: list[str], env: dict[str, str], what: str) -> None:
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
        raise ConfigError(f"{what} failed: {lines[-1] if lines else done.returncode}", code=(
            ConfigCode.BACKUP_FAILED if what.startswith("pg_dump") else ConfigCode.RESTORE_FAILED
        ))  # fmt: skip


def _count_rows(connection: Any) -> dict[str, int]:
    names = sorted(set(sa_inspect(connection).get_table_names()) - {schema.VERSION_TABLE})
    return {
        # The names come from the database's own catalogue, quoted: no outside text.
        name: int(connection.execute(text(f'SELECT COUNT(*) FROM "{name}"')).scalar())  # noqa: S608
        for name in names
    }


def _usable(db: Database, settings: Settings) -> schema.SchemaStatus:
    status = schema.inspect(db)
    if status.state in (schema.State.CURRENT, schema.State.BEHIND, schema.State.LEGACY):
        return status
    problem = schema.refusal(db, status, data_dir=settings.data_dir)
    assert problem is not None
    raise problem


# -- backup -----------------------------------------------------------------------------


def _prepare_target(dest: Path) -> bool:
    """Make ``dest`` (0700) or accept it empty; ``True`` if this call created it."""
    if dest.exists():
        if not dest.is_dir() or any(dest.iterdir()):
            raise ConfigError(
                f"{dest} is not an empty folder: back up into a new one.",
                code=ConfigCode.BACKUP_TARGET,
            )
        dest.chmod(0o700)
        return False
    dest.mkdir(parents=True, mode=0o700)
    dest.chmod(0o700)
    return True


def _private_file(path: Path) -> None:
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _backup_sqlite(db: Database, dest: Path) -> dict[str, int]:
    assert db.sqlite_path is not None
    target = dest / SQLITE_FILE
    _private_file(target)
    with (
        contextlib.closing(sqlite3.connect(db.sqlite_path, timeout=30)) as source,
        contextlib.closing(sqlite3.connect(target)) as copy,
    ):
        source.backup(copy)  # all pages in one step: a single snapshot
        ok = copy.execute("PRAGMA integrity_check").fetchone()
        if ok is None or ok[0] != "ok":
            raise ConfigError(
                "The copy failed SQLite's integrity check.", code=ConfigCode.BACKUP_FAILED
            )
        names = [
            r[0]
            for r in copy.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if r[0] != schema.VERSION_TABLE and not r[0].startswith("sqlite_")
        ]
        counts = {
            n: int(copy.execute(f'SELECT COUNT(*) FROM "{n}"').fetchone()[0])  # noqa: S608
            for n in sorted(names)
        }
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
    return counts


def _backup_postgres(db: Database, dest: Path) -> dict[str, int]:
    pg_dump = _tool("pg_dump")
    import psycopg

    uri, env = _libpq(db.url)
    with psycopg.connect(uri, password=env.get("PGPASSWORD")) as conn:
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()
        assert snapshot is not None
        tables = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
        ).fetchall()
        counts: dict[str, int] = {}
        for (name,) in sorted(tables):
            if name != schema.VERSION_TABLE:
                row = conn.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()  # noqa: S608
                counts[name] = int(row[0]) if row else 0
        target = dest / PG_FILE
        _private_file(target)
        # While this transaction stays open, pg_dump reads exactly the rows counted above.
        _run(
            [pg_dump, "--format=custom", "--no-owner", "--no-privileges",
             f"--snapshot={snapshot[0]}", f"--file={target}", f"--dbname={uri}"],
            env,
            "pg_dump",
        )  # fmt: skip
        conn.rollback()
    target.chmod(0o600)
    return counts


def backup(settings: Settings, dest: Path, *, now: datetime) -> Summary:
    """Write a backup of the database and the CA files into ``dest`` (new, or empty)."""
    db = Database(settings.resolved_database_url)
    try:
        status = _usable(db, settings)
        ca_files = _ca_files(settings)
        for path in ca_files.values():
            if not path.is_file():
                raise ConfigError(f"The CA file {path} does not exist.", code=ConfigCode.CA_MISSING)
        fingerprint, subject = _fingerprint(ca_files[CERT_FILE].read_bytes())
        created = _prepare_target(dest)
        try:
            counts = _backup_sqlite(db, dest) if db.is_sqlite else _backup_postgres(db, dest)
            for name, path in ca_files.items():
                write_file_atomic(dest / name, path.read_bytes(), mode=0o600)
            files = {
                p.name: {"sha256": sha256_file(p), "bytes": p.stat().st_size}
                for p in sorted(dest.iterdir())
            }
            manifest = {
                "format": FORMAT,
                "version": VERSION,
                "created_at": format_time(now),
                "database": {
                    "kind": "sqlite" if db.is_sqlite else "postgresql",  # as in Summary
                    "file": SQLITE_FILE if db.is_sqlite else PG_FILE,
                    "revision": status.revision or "0.1",
                    "counts": counts,
                },
                "ca": {"fingerprint_sha256": fingerprint, "subject": subject},
                "files": files,
            }
            body = json.dumps(manifest, indent=2, sort_keys=True).encode() + b"\n"
            write_file_atomic(dest / MANIFEST, body, mode=0o600)  # last: a whole backup only
        except BaseException:
            for path in list(dest.iterdir()):
                path.unlink()
            if created:
                dest.rmdir()
            raise
    finally:
        db.dispose()
    kind = "sqlite" if db.is_sqlite else "postgresql"
    return Summary(dest, kind, status.revision or "0.1", counts)


# -- restore ----------------------------------------------------------------------------


def read_manifest(src: Path) -> dict[str, Any]:
    """The manifest of the backup in ``src``, with every file checked against it."""
    try:
        manifest = json.loads((src / MANIFEST).read_text("utf-8"))
    except FileNotFoundError:
        raise _damaged(f"{src} has no {MANIFEST}.") from None
    except (OSError, UnicodeDecodeError, ValueError):
        raise _damaged(f"{MANIFEST} cannot be read as JSON.") from None
    try:
        if manifest["format"] != FORMAT or manifest["version"] != VERSION:
            raise _mismatch(f"it is not a {FORMAT} version {VERSION}.")
        files: dict[str, dict[str, Any]] = manifest["files"]
        database = manifest["database"]
        expected = {database["file"], CERT_FILE, KEY_FILE}
        str(manifest["ca"]["fingerprint_sha256"]), dict(database["counts"])
    except (KeyError, TypeError):
        raise _damaged(f"{MANIFEST} lacks what a CertSync backup records.") from None
    present = {p.name for p in src.iterdir()} - {MANIFEST}
    if missing := sorted((expected | set(files)) - present):
        raise _damaged(f"{', '.join(missing)} is missing.")
    if extra := sorted(present - set(files)):
        raise _damaged(f"{', '.join(extra)} is not in the manifest.")
    for name, facts in files.items():
        path = src / name
        if path.stat().st_size != facts.get("bytes") or sha256_file(path) != facts.get("sha256"):
            raise _damaged(f"{name} does not match its SHA-256 in the manifest.")
    fingerprint, _ = _fingerprint((src / CERT_FILE).read_bytes())
    if fingerprint != manifest["ca"]["fingerprint_sha256"]:
        raise _damaged("ca.cert.pem is not the CA the manifest names.")
    return dict(manifest)


def _check_fit(settings: Settings, db: Database, manifest: Mapping[str, Any]) -> None:
    kind = manifest["database"]["kind"]
    here = "sqlite" if db.is_sqlite else "postgresql"
    if kind != here:
        raise _mismatch(f"it holds a {kind} database, and this instance uses {here}.")
    revision = manifest["database"]["revision"]
    if revision != "0.1" and revision not in {r.id for r in schema.history()}:
        raise _mismatch(f"its schema revision {revision} is newer than this CertSync knows.")
    if settings.ca_cert_file is not None:
        try:
            ours, _ = _fingerprint(settings.ca_cert_file.read_bytes())
        except OSError as exc:
            raise ConfigError(
                f"The CA file {settings.ca_cert_file} cannot be read: {exc.strerror}.",
                code=ConfigCode.CA_UNREADABLE,
            ) from None
        if ours != manifest["ca"]["fingerprint_sha256"]:
            raise _mismatch(f"it belongs to the CA {manifest['ca']['subject']!r}, not to "
                            f"the one in {settings.ca_cert_file}.")  # fmt: skip


def _require_empty(settings: Settings, db: Database) -> None:
    if db.is_sqlite:
        folder = settings.data_dir
        if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
            raise ConfigError(
                f"The data folder {folder} is not empty: restore into a new or empty one.",
                code=ConfigCode.RESTORE_TARGET_NOT_EMPTY,
            )
        return
    status = schema.inspect(db)
    if status.state is not schema.State.EMPTY:
        raise ConfigError(
            f"{db.description} is not empty: restore into a new database (createdb).",
            code=ConfigCode.RESTORE_TARGET_NOT_EMPTY,
        )
    if settings.ca_key_file is None:
        present = [n for n in (KEY_FILE, CERT_FILE) if (settings.data_dir / n).exists()]
        if present:
            raise ConfigError(
                f"The data folder {settings.data_dir} already holds {', '.join(present)}.",
                code=ConfigCode.RESTORE_TARGET_NOT_EMPTY,
            )


def _copy_private(source: Path, target: Path) -> None:
    temp = target.with_name(f".{target.name}.restoring")
    _private_file(temp)
    try:
        with source.open("rb") as reader, temp.open("r+b") as writer:
            shutil.copyfileobj(reader, writer, CHUNK)
            writer.flush()
            os.fsync(writer.fileno())
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        raise
    fsync_directory(target.parent)


@contextlib.contextmanager
def _opened(url: str) -> Iterator[Database]:
    db = Database(url)
    try:
        yield db
    finally:
        db.dispose()


def restore(settings: Settings, src: Path) -> Summary:
    """Put the backup in ``src`` into this instance's empty data folder / database."""
    manifest = read_manifest(src)
    database = manifest["database"]
    with _opened(settings.resolved_database_url) as db:
        _check_fit(settings, db, manifest)
        _require_empty(settings, db)
        if settings.ca_key_file is None:
            settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            for name, mode in ((KEY_FILE, 0o600), (CERT_FILE, 0o644), (CHAIN_FILE, 0o644)):
                if (src / name).exists():
                    write_file_atomic(
                        settings.data_dir / name, (src / name).read_bytes(), mode=mode
                    )
        if db.is_sqlite:
            assert db.sqlite_path is not None
            _copy_private(src / SQLITE_FILE, db.sqlite_path)
        else:
            uri, env = _libpq(db.url)
            _run(
                [_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error",
                 "--single-transaction", f"--dbname={uri}", str(src / PG_FILE)],
                env,
                "pg_restore",
            )  # fmt: skip
        with db.connect() as connection:
            counts = _count_rows(connection)
    if counts != database["counts"]:
        raise ConfigError(
            "The restored database does not hold the rows the backup recorded.",
            code=ConfigCode.RESTORE_FAILED,
        )
    return Summary(settings.data_dir, database["kind"], database["revision"], counts)
