"""The host's parts, wired once: settings, database, CA and the clock the rules read."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sync_server.ca import CA
from sync_server.db import Database
from sync_server.errors import ConfigError
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
    def crl_url(self) -> str | None:
        if self.settings.public_url is None:
            return None
        return f"{self.settings.public_url}/api/v1/crl"


def open_host(settings: Settings, *, clock: Callable[[], datetime] = utcnow) -> Host:
    """Create the tables, load (or generate) the CA, and check that they belong together."""
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    db = Database(settings.resolved_database_url)
    try:
        db.create_all()
        ca = CA.load_or_create(
            settings.data_dir,
            passphrase=settings.ca_key_passphrase,
            key_file=settings.ca_key_file,
            cert_file=settings.ca_cert_file,
            chain_file=settings.ca_chain_file,
        )
        register_ca(db, ca, now=clock())
    except BaseException:
        db.dispose()  # a refused start leaves no open connections behind
        raise
    return Host(settings=settings, db=db, ca=ca, clock=clock)


def register_ca(db: Database, ca: CA, *, now: datetime) -> None:
    """Bind the database to one CA: a second instance started with another CA refuses to run."""
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
            raise ConfigError(
                f"This database belongs to the CA {record.subject!r} "
                f"(SHA-256 {record.fingerprint_sha256[:16]}…), not to the CA this instance loaded. "
                "Point every instance at the same CA files."
            )
