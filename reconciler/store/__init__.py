"""The state store: SQLAlchemy over SQLite (default) or PostgreSQL. See `api.StateStore` for the interface."""
