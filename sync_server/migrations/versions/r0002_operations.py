"""Operations: last login, short serials, an index-backed CRL and its shared state.

Revision ID: 0002
Revises: 0001

- ``customer.last_login_at``, filled from each customer's newest login session.
- ``certificate.serial_tail``: the last 6 hex digits customers read out, filled from ``serial``
  and indexed, for ``admin revoke`` by short serial.
- ``ix_certificate_revoked``: a partial index on the revoked rows only, holding what the CRL
  lists, so building the CRL never reads the whole table.
- ``crl_state``: the revocation count that tells every instance its cached CRL is stale, and
  the CRL number, seeded above the time-based numbers that 0.1 put into its CRLs.
"""

from __future__ import annotations

import time

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

BATCH = 1000
_REVOKED = "revoked_at IS NOT NULL"


def upgrade() -> None:
    op.add_column("customer", sa.Column("last_login_at", sa.DateTime(timezone=True)))
    op.execute(
        "UPDATE customer SET last_login_at = (SELECT MAX(login_session.created_at) "
        "FROM login_session WHERE login_session.customer_id = customer.id)"
    )

    op.add_column(
        "certificate",
        sa.Column("serial_tail", sa.String(6), nullable=False, server_default=""),
    )
    bind = op.get_bind()
    certificate = sa.table("certificate", sa.column("serial", sa.String), sa.column("serial_tail"))
    serials = [row[0] for row in bind.execute(sa.select(certificate.c.serial))]
    update = (
        sa.update(certificate)
        .where(certificate.c.serial == sa.bindparam("s"))
        .values(serial_tail=sa.bindparam("t"))
    )
    for start in range(0, len(serials), BATCH):
        chunk = serials[start : start + BATCH]
        bind.execute(update, [{"s": s, "t": f"{int(s) & 0xFFFFFF:06X}"} for s in chunk])
    op.create_index("ix_certificate_serial_tail", "certificate", ["serial_tail"])
    op.create_index(
        "ix_certificate_revoked",
        "certificate",
        ["revoked_at", "serial", "revocation_reason"],
        sqlite_where=sa.text(_REVOKED),
        postgresql_where=sa.text(_REVOKED),
    )

    crl_state = op.create_table(
        "crl_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("revocations", sa.BigInteger(), nullable=False),
        sa.Column("crl_number", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    revoked = bind.execute(
        sa.text("SELECT COUNT(*) FROM certificate WHERE revoked_at IS NOT NULL")
    ).scalar()
    op.bulk_insert(
        crl_state, [{"id": 1, "revocations": int(revoked or 0), "crl_number": int(time.time()) + 1}]
    )


def downgrade() -> None:
    op.drop_table("crl_state")
    op.drop_index("ix_certificate_revoked", table_name="certificate")
    op.drop_index("ix_certificate_serial_tail", table_name="certificate")
    # Plain ALTER TABLE … DROP COLUMN (SQLite 3.35+, PostgreSQL): batch mode would copy the
    # customer table and trip the foreign keys that point at it.
    op.execute("ALTER TABLE certificate DROP COLUMN serial_tail")
    op.execute("ALTER TABLE customer DROP COLUMN last_login_at")
