"""Baseline: the schema of CertSync 0.1, the last release before migrations.

Revision ID: 0001
Revises: (none)

Written out by hand (from Alembic's autogenerate of that release's models) so that it never
changes when the models do. A database made by 0.1 has exactly these tables and no
``alembic_version``: ``sync-server db upgrade`` checks that, stamps it with this revision and
upgrades it from here.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _time(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _text(name: str, length: int | None = None, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.String(length), nullable=nullable)


def _customer_fk() -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["customer_id"], ["customer.id"])


def _index(table: str, column: str) -> None:
    op.create_index(f"ix_{table}_{column}", table, [column], unique=False)


def upgrade() -> None:
    op.create_table(
        "audit_event",
        sa.Column("id", sa.Integer(), nullable=False),
        _time("at"),
        _text("actor", 100),
        _text("customer_id", 10, nullable=True),
        _text("device_kind", 10, nullable=True),
        _text("action", 40),
        _text("outcome", 40),
        _text("detail", 500),
        sa.PrimaryKeyConstraint("id"),
    )
    _index("audit_event", "at")
    _index("audit_event", "customer_id")
    op.create_table(
        "ca_record",
        sa.Column("id", sa.Integer(), nullable=False),
        _text("fingerprint_sha256", 64),
        _text("subject", 500),
        _time("registered_at"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "customer",
        _text("id", 10),
        _text("name", 200),
        _text("password_hash"),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        _time("locked_until", nullable=True),
        _time("created_at"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "certificate",
        _text("serial", 50),
        _text("customer_id"),
        _text("fingerprint_sha256", 64),
        _time("not_before"),
        _time("not_after"),
        _time("issued_at"),
        _text("issued_via", 10),
        sa.Column("cert_pem", sa.Text(), nullable=False),
        _time("superseded_at", nullable=True),
        _text("superseded_by", 50, nullable=True),
        _time("revoked_at", nullable=True),
        _text("revocation_reason", 40, nullable=True),
        _customer_fk(),
        sa.PrimaryKeyConstraint("serial"),
        sa.UniqueConstraint("fingerprint_sha256"),
    )
    _index("certificate", "customer_id")
    op.create_table(
        "enrollment_code",
        sa.Column("id", sa.Integer(), nullable=False),
        _text("customer_id"),
        _text("code_hash", 64),
        _time("created_at"),
        _time("expires_at"),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        _time("used_at", nullable=True),
        _time("superseded_at", nullable=True),
        _text("issued_by", 100),
        _customer_fk(),
        sa.PrimaryKeyConstraint("id"),
    )
    _index("enrollment_code", "customer_id")
    op.create_table(
        "login_session",
        _text("token_hash", 64),
        _text("customer_id"),
        _text("device_kind", 10),
        _time("created_at"),
        _time("expires_at"),
        _time("ended_at", nullable=True),
        sa.Column("unlock_seed", sa.LargeBinary(), nullable=True),
        _customer_fk(),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    _index("login_session", "customer_id")
    op.create_table(
        "order",
        _text("id", 32),
        _text("customer_id"),
        _text("client_order_id", 32),
        _text("symbol", 12),
        _text("side", 4),
        sa.Column("quantity", sa.Integer(), nullable=False),
        _text("price", 20),
        _time("signed_at"),
        _time("accepted_at"),
        _text("certificate_serial", 50),
        _text("device_kind", 10),
        sa.Column("signature_b64", sa.Text(), nullable=False),
        _customer_fk(),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("customer_id", "client_order_id"),
    )
    _index("order", "customer_id")
    op.create_table(
        "redownload_grant",
        sa.Column("id", sa.Integer(), nullable=False),
        _text("customer_id"),
        _text("opened_by", 100),
        _time("created_at"),
        _time("expires_at"),
        _time("used_at", nullable=True),
        _time("superseded_at", nullable=True),
        _customer_fk(),
        sa.PrimaryKeyConstraint("id"),
    )
    _index("redownload_grant", "customer_id")
    op.create_table(
        "relay_slot",
        _text("id", 22),
        _text("customer_id"),
        _text("certificate_serial", 50),
        _text("state", 10),
        _time("created_at"),
        _time("expires_at"),
        _time("uploaded_at", nullable=True),
        _time("ended_at", nullable=True),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=True),
        _customer_fk(),
        sa.PrimaryKeyConstraint("id"),
    )
    _index("relay_slot", "customer_id")
    _index("relay_slot", "expires_at")
    _index("relay_slot", "state")
    op.create_table(
        "renewal_challenge",
        _text("id", 43),
        _text("customer_id"),
        _text("certificate_serial", 50),
        _text("nonce_b64", 64),
        _time("created_at"),
        _time("expires_at"),
        _time("used_at", nullable=True),
        _text("csr_sha256", 64, nullable=True),
        _text("issued_serial", 50, nullable=True),
        _customer_fk(),
        sa.PrimaryKeyConstraint("id"),
    )
    _index("renewal_challenge", "customer_id")


# Every table and column 0.1 made: what ``db upgrade`` checks before it stamps such a database.
TABLES: dict[str, tuple[str, ...]] = {
    "audit_event": (
        "id", "at", "actor", "customer_id", "device_kind", "action", "outcome", "detail",
    ),
    "ca_record": ("id", "fingerprint_sha256", "subject", "registered_at"),
    "customer": ("id", "name", "password_hash", "failed_logins", "locked_until", "created_at"),
    "certificate": (
        "serial", "customer_id", "fingerprint_sha256", "not_before", "not_after", "issued_at",
        "issued_via", "cert_pem", "superseded_at", "superseded_by", "revoked_at",
        "revocation_reason",
    ),
    "enrollment_code": (
        "id", "customer_id", "code_hash", "created_at", "expires_at", "failed_attempts",
        "used_at", "superseded_at", "issued_by",
    ),
    "login_session": (
        "token_hash", "customer_id", "device_kind", "created_at", "expires_at", "ended_at",
        "unlock_seed",
    ),
    "order": (
        "id", "customer_id", "client_order_id", "symbol", "side", "quantity", "price",
        "signed_at", "accepted_at", "certificate_serial", "device_kind", "signature_b64",
    ),
    "redownload_grant": (
        "id", "customer_id", "opened_by", "created_at", "expires_at", "used_at", "superseded_at",
    ),
    "relay_slot": (
        "id", "customer_id", "certificate_serial", "state", "created_at", "expires_at",
        "uploaded_at", "ended_at", "ciphertext",
    ),
    "renewal_challenge": (
        "id", "customer_id", "certificate_serial", "nonce_b64", "created_at", "expires_at",
        "used_at", "csr_sha256", "issued_serial",
    ),
}  # fmt: skip


def downgrade() -> None:
    for table in (
        "renewal_challenge",
        "relay_slot",
        "redownload_grant",
        "order",
        "login_session",
        "enrollment_code",
        "certificate",
        "customer",
        "ca_record",
        "audit_event",
    ):
        op.drop_table(table)
