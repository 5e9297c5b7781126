"""Login throttling: failure counters per account and source, instead of a lock anyone can set.

Revision ID: 0003
Revises: 0002

- ``login_throttle``: the counters ``sync_server.login_throttle`` keeps (one account from one
  source, one source, one account from everywhere), keyed by the ID as typed and the source.
- A lock that 0002 was still holding (``customer.locked_until`` in the future) is carried over
  as the account's global row, so an upgrade does not set anyone free early. The old columns
  stay as they were, no longer read or written (0001's rows and shape, and backups, unchanged).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_throttle",
        sa.Column("customer_id", sa.String(10), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_started_at", sa.DateTime(timezone=True)),
        sa.Column("blocked_until", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("customer_id", "source"),
    )
    op.create_index("ix_login_throttle_blocked_until", "login_throttle", ["blocked_until"])
    op.execute(
        "INSERT INTO login_throttle (customer_id, source, failures, window_started_at, "
        "blocked_until) SELECT id, '', failed_logins, NULL, locked_until "
        "FROM customer WHERE locked_until IS NOT NULL"
    )


def downgrade() -> None:
    # 0002 reads ``customer.locked_until`` again, which upgrade left as it was.
    op.drop_index("ix_login_throttle_blocked_until", table_name="login_throttle")
    op.drop_table("login_throttle")
