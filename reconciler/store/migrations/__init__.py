"""Alembic migrations of the state schema, run programmatically by `reconciler.store.schema` (no alembic.ini)."""
