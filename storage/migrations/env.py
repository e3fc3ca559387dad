"""Alembic's environment: run by `trust-lesson migrate` with an open connection.

The connection is handed over in ``config.attributes["connection"]`` (see storage.migrate), so
the same code migrates SQLite and PostgreSQL, sync or async drivers alike.
"""

from __future__ import annotations

from alembic import context

from storage.models import Base

config = context.config
connection = config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # SQLite cannot ALTER most things: batch mode rebuilds the table instead.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
