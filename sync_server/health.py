"""Whether this instance can serve: ``ping`` for ``/healthz`` (the database answers) and
``readiness`` for ``/readyz`` (the database is at this version's schema, the CA is usable)."""

from __future__ import annotations

from sqlalchemy import text

from sync_server import schema
from sync_server.host import Host


def ping(host: Host) -> None:
    """Raises when the database does not answer."""
    with host.db.read() as session:
        session.exec(text("SELECT 1"))  # type: ignore[call-overload]


def readiness(host: Host) -> dict[str, str]:
    """Each check's verdict, ``ok`` or why not: the database answers at this version's schema
    revision, and the CA is loaded and not expired."""
    checks = {"database": "ok", "ca": "ok"}
    try:
        with host.db.read() as session:
            revision = session.exec(  # type: ignore[call-overload]
                text("SELECT version_num FROM alembic_version")
            ).scalar()
        if revision != schema.head_revision():
            checks["database"] = f"schema revision {revision}, needs {schema.head_revision()}"
    except Exception as exc:
        checks["database"] = f"unreachable ({type(exc).__name__})"
    if host.ca.cert.not_valid_after_utc <= host.now():
        checks["ca"] = "expired"
    return checks
