"""The database's migrations (Alembic): ``env.py`` and one module per revision in ``versions``.

Run them with ``sync-server db upgrade``; ``sync_server.schema`` drives Alembic from code, so
there is no ``alembic.ini``. The same revisions run on SQLite and PostgreSQL.
"""
