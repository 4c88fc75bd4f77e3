"""Alembic environment: migrate the connection handed over by `reconciler.store.schema.upgrade`.

The caller opens the connection and its transaction (so lineage creation and the version check share it); this
script only configures Alembic on it. There is no offline (`--sql`) mode.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("couponctl migrations run only through reconciler.store.schema.upgrade")

context.configure(connection=connection, target_metadata=None, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
