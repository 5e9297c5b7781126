"""Alembic's entry point: run the revisions on the connection that ``sync_server.schema`` opened.

No URL and no ``alembic.ini``: ``schema`` opens the connection with the engine set-up the server
uses (on SQLite: ``BEGIN IMMEDIATE``, foreign keys on) inside one transaction and hands it over in
``config.attributes``, so an upgrade either runs whole or changes nothing. Batch mode lets a
revision alter a SQLite table the only way SQLite allows (copy and swap).
"""

from __future__ import annotations

from alembic import context

if context.is_offline_mode():
    raise RuntimeError("CertSync runs its migrations online only: use `sync-server db upgrade`.")

context.configure(
    connection=context.config.attributes["connection"],
    target_metadata=None,
    render_as_batch=True,
)
with context.begin_transaction():
    context.run_migrations()
