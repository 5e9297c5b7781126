"""The host's parts, wired once: settings, database, CA and the clock the rules read."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from sync_server.ca import CA
from sync_server.db import Database
from sync_server.errors import ConfigCode, ConfigError
from sync_server.models import CaRecord, utcnow
from sync_server.settings import Settings


@dataclass(frozen=True)
class Host:
    settings: Settings
    db: Database
    ca: CA
    clock: Callable[[], datetime] = field(default=utcnow)

    def now(self) -> datetime:
        """Aware UTC."""
        return self.clock()

    @property
    def order_audience(self) -> str:
        """The deployment orders are bound to: ``SYNC_ORDER_AUDIENCE``, else derived from the
        CA, which every instance of one deployment shares and no other deployment has."""
        return self.settings.order_audience or f"certsync:{self.ca.fingerprint_sha256}"

    @property
    def crl_url(self) -> str | None:
        if self.settings.public_url is None:
            return None
        return f"{self.settings.public_url}/api/v1/crl"


def open_host(
    settings: Settings, *, clock: Callable[[], datetime] = utcnow, create: bool = True
) -> Host:
    """Load the CA, open the database at the current schema, and check they belong together.

    Everything that can refuse is checked before anything is written, so a refused start leaves
    the disk as it found it: the CA files (or, with ``create``, that there are none to load
    yet), the database's reachability and schema revision, and the CA it was bound to. Then,
    with ``create`` only (``serve``, ``init``), a missing database is created through the
    migrations and a missing CA generated and saved. Without it (``admin``) a data folder with
    no database or no CA is ``no_database`` / ``ca_missing``, naming the folder. A database
    behind this version is refused (``database_behind``) either way: upgrading is an explicit
    ``sync-server db upgrade``, after a backup.
    """
    from sync_server import schema

    ca = CA.load_existing(
        settings.data_dir,
        passphrase=settings.ca_key_passphrase,
        key_file=settings.ca_key_file,
        cert_file=settings.ca_cert_file,
        chain_file=settings.ca_chain_file,
    )
    generated = ca is None
    if ca is None:
        ca = CA.generate()  # kept in memory until every check has passed
    now = clock()
    if ca.cert.not_valid_after_utc <= now:
        raise ConfigError(
            f"The CA certificate expired on {ca.cert.not_valid_after_utc:%Y-%m-%d}: rotate the CA "
            "(docs/OPERATIONS.md).",
            code=ConfigCode.CA_EXPIRED,
        )
    db = Database(settings.resolved_database_url)
    try:
        status = schema.inspect(db)
        problem = schema.refusal(db, status, data_dir=settings.data_dir)
        creating = status.state in (schema.State.MISSING, schema.State.EMPTY)
        if problem is not None and not (create and creating):
            raise problem
        if generated and not create:
            raise ConfigError(
                f"There is no CA in the data folder {settings.data_dir}. Point SYNC_DATA_DIR at "
                "the server's, or create one with `sync-server init`.",
                code=ConfigCode.CA_MISSING,
            )
        if not creating:
            check_ca(db, ca)
        if creating:
            schema.upgrade(db, create=True)
        if generated:
            ca.save(settings.data_dir, passphrase=settings.ca_key_passphrase)
        register_ca(db, ca, now=now)
    except BaseException:
        db.dispose()  # a refused start leaves no open connections behind
        raise
    return Host(settings=settings, db=db, ca=ca, clock=clock)


def _mismatch(record: CaRecord) -> ConfigError:
    return ConfigError(
        f"This database belongs to the CA {record.subject!r} "
        f"(SHA-256 {record.fingerprint_sha256[:16]}…), not to the CA this instance loaded. "
        "Point every instance at the same CA files.",
        code=ConfigCode.CA_MISMATCH,
    )


def check_ca(db: Database, ca: CA) -> None:
    """Refuse (``ca_mismatch``) a database bound to another CA; reads only."""
    with db.read() as session:
        record = session.get(CaRecord, 1)
    if record is not None and record.fingerprint_sha256 != ca.fingerprint_sha256:
        raise _mismatch(record)


def register_ca(db: Database, ca: CA, *, now: datetime) -> None:
    """Bind the database to one CA: a second instance started with another CA refuses to run.

    Two instances starting on a new database at once both find no record and both insert
    one; the second insert fails on the key, and that instance then compares with the record
    the first one wrote (``check_ca``) instead of failing its start.
    """
    try:
        _register_ca_once(db, ca, now=now)
    except IntegrityError:
        check_ca(db, ca)


def _register_ca_once(db: Database, ca: CA, *, now: datetime) -> None:
    with db.write() as session:
        record = session.get(CaRecord, 1)
        if record is None:
            session.add(
                CaRecord(
                    fingerprint_sha256=ca.fingerprint_sha256,
                    subject=ca.cert.subject.rfc4514_string(),
                    registered_at=now,
                )
            )
        elif record.fingerprint_sha256 != ca.fingerprint_sha256:
            raise _mismatch(record)
