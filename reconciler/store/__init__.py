"""The state store: SQLAlchemy over SQLite (default) or PostgreSQL. See `api.StateStore` for the interface.

store = open_store(settings.state_url)          # migrates, creates the lineage on first open
with store.lock("apply", timeout=settings.state.lock_timeout):
    ...
store.close()
"""

from __future__ import annotations

import sqlite3
import uuid
from contextlib import closing
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool

from reconciler import __version__
from reconciler.errors import StateError
from reconciler.store import locking, schema
from reconciler.store import tables as t
from reconciler.store.store import Backend, SqlStateStore

__all__ = ["NoStateError", "SqlStateStore", "display_url", "open_store", "upgrade_state"]

SQLITE_BUSY_TIMEOUT_MS = 10_000
_SQLITE_MAGIC = b"SQLite format 3\x00"  # the first 16 bytes of every SQLite database file
# Not echoing the text: an unparsable URL may still hold a password.
_INVALID_URL = "invalid state URL in [state] url: expected sqlite:///PATH or postgresql+psycopg://USER@HOST/DB"


class NoStateError(StateError):
    """There is no state at the URL yet (only raised with create=False)."""


def _connect_error(exc: sa.exc.DBAPIError, parsed: sa.URL, shown: str) -> StateError:
    """ "cannot open state at URL: reason", with the password hidden even if the driver echoed it."""
    text = str(exc.orig).strip().splitlines()
    reason = text[0] if text else type(exc.orig).__name__
    if parsed.password:
        reason = reason.replace(str(parsed.password), "***")
    return StateError(f"cannot open state at {shown}: {reason}")


def display_url(url: str) -> str:
    """`url` with any password hidden (never print a state URL any other way)."""
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "<invalid state URL>"


def _backend(url: sa.URL) -> Backend:
    name = url.get_backend_name()
    if name in ("sqlite", "postgresql"):
        return "sqlite" if name == "sqlite" else "postgresql"
    raise StateError(
        f"unsupported state URL {url.render_as_string(hide_password=True)}: use sqlite:///PATH or "
        "postgresql+psycopg://USER@HOST/DB"
    )


def _sqlite_engine(url: sa.URL, *, create: bool) -> Engine:
    database = url.database or ":memory:"
    kwargs: dict[str, Any] = {}
    if database == ":memory:":
        kwargs["poolclass"] = StaticPool  # one connection, or every checkout would see its own empty database
    else:
        path = Path(database)
        if not path.exists():
            if not create:
                raise NoStateError(f"no state at {path}")
            path.parent.mkdir(parents=True, exist_ok=True)
        else:
            _check_sqlite_file(path)
    engine = sa.create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")  # first: switching to WAL may have to wait
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")  # durable across process crashes in WAL mode
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Writers take the write lock up front: a deferred transaction that later upgrades to a writer can fail
        # with "database is locked" at once, without honouring busy_timeout.
        read_only = conn.get_execution_options().get("couponctl_read", False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine


def _not_a_state(shown: str, why: str, advice: str) -> StateError:
    return StateError(f"{shown} is not a couponctl state ({why}); {advice}")


def _check_sqlite_file(path: Path) -> None:
    """Refuse a file that exists but is not an SQLite database: SQLite would silently take a zero-byte file as a
    new, empty database, and a state emptied by `: > state/couponctl.db` must never look like a fresh one."""
    advice = "if you meant a new state, remove it"
    if path.is_dir():
        raise _not_a_state(str(path), "it is a directory", "point [state] url at a file")
    try:
        with path.open("rb") as handle:
            header = handle.read(len(_SQLITE_MAGIC))
    except OSError as exc:
        raise StateError(f"cannot open state at {path}: {exc.strerror}") from None
    if not header:
        raise _not_a_state(str(path), "the file is empty", advice)
    if header != _SQLITE_MAGIC:
        raise _not_a_state(str(path), "the file is not an SQLite database", advice)
    # Read-only look at its tables before SQLAlchemy connects (which would switch a foreign file to WAL mode).
    try:
        with closing(sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)) as db:
            names = [str(r[0]) for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    except sqlite3.DatabaseError as exc:
        raise _not_a_state(str(path), f"SQLite cannot read it: {exc}", advice) from None
    if names and schema.VERSION_TABLE not in names:
        listed = ", ".join(sorted(names)[:5]) + (", ..." if len(names) > 5 else "")
        raise _not_a_state(str(path), f"it has tables ({listed}) but no couponctl schema", advice)


def _check_foreign(conn: Connection, backend: Backend, shown: str) -> None:
    """Refuse a database that holds tables but no couponctl schema: it belongs to something else (a wrong
    `[state] url`), and treating it as a new state would plan every coupon as new."""
    names = sa.inspect(conn).get_table_names()
    if not names:
        return
    listed = ", ".join(sorted(names)[:5]) + (", ..." if len(names) > 5 else "")
    advice = (
        "if you meant a new state, remove it"
        if backend == "sqlite"
        else "if you meant a new state, point [state] url at an empty database"
    )
    raise _not_a_state(shown, f"it has tables ({listed}) but no couponctl schema", advice)


def _postgres_engine(url: sa.URL) -> Engine:
    """An engine on psycopg 3 (the driver couponctl ships with); `postgresql://` means `postgresql+psycopg://`."""
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    if url.drivername != "postgresql+psycopg":
        raise StateError(
            f"unsupported PostgreSQL driver in {url.render_as_string(hide_password=True)}: use "
            "postgresql+psycopg://USER@HOST/DB"
        )
    return sa.create_engine(url)


def _prepare(conn: Connection, backend: Backend, *, create: bool, shown: str, migrate: bool) -> str:
    """Check the schema version, migrate, create the lineage when new; returns the lineage."""
    if backend == "postgresql":
        conn.execute(
            sa.text("SELECT pg_advisory_xact_lock(:k1, :k2)"),
            {"k1": locking.PG_MIGRATION_KEYS[0], "k2": locking.PG_MIGRATION_KEYS[1]},
        )
    revision = schema.current_revision(conn)
    if revision is None and not create:
        raise NoStateError(f"no state at {shown}")
    if revision is None:
        _check_foreign(conn, backend, shown)
        schema.create_current(conn)  # an empty database: the newest schema in one step, not every revision replayed
        revision = schema.head_revision()
    if revision is not None and revision not in schema.known_revisions():
        written_by = None
        if sa.inspect(conn).has_table("meta"):
            written_by = conn.execute(sa.text("SELECT couponctl_version FROM meta WHERE id = 1")).scalar()
        schema.check_not_newer(revision, display_url=shown, written_by=written_by)
    if revision != schema.head_revision():
        if not migrate:
            raise StateError(
                f"the state at {shown} has schema revision {revision}; run `couponctl state upgrade` "
                f"to migrate it to {schema.head_revision()}"
            )
        schema.upgrade(conn)
        conn.execute(sa.update(t.meta).where(t.meta.c.id == 1).values(couponctl_version=__version__))
    lineage = conn.execute(sa.select(t.meta.c.lineage).where(t.meta.c.id == 1)).scalar()
    if lineage is None:
        lineage = str(uuid.uuid4())
        conn.execute(
            sa.insert(t.meta).values(
                id=1, lineage=lineage, serial=0, created_at=locking.utc_now(), couponctl_version=__version__
            )
        )
    return str(lineage)


def _current_lineage(engine: Engine) -> str | None:
    """The lineage when the state exists at the newest revision (the usual case, read without any lock)."""
    with engine.connect() as conn:
        conn.execution_options(couponctl_read=True)
        if schema.current_revision(conn) != schema.head_revision():
            return None
        lineage = conn.execute(sa.select(t.meta.c.lineage).where(t.meta.c.id == 1)).scalar()
        return None if lineage is None else str(lineage)


def open_store(url: str, *, create: bool = True, migrate: bool = True) -> SqlStateStore:
    """Open (and with `create`, create) the state at `url`; pending migrations are applied (unless `migrate` is
    False, which refuses an outdated schema instead). Raises StateVersionError for a state written by a newer
    couponctl and StateError when the database cannot be reached (the message never shows a password)."""
    shown = display_url(url)
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError:
        raise StateError(_INVALID_URL) from None
    backend = _backend(parsed)
    engine = _sqlite_engine(parsed, create=create) if backend == "sqlite" else _postgres_engine(parsed)
    try:
        lineage = _current_lineage(engine)
        if lineage is None:  # new, or at an older revision: check, migrate and create under the write lock
            with engine.begin() as conn:
                lineage = _prepare(conn, backend, create=create, shown=shown, migrate=migrate)
    except sa.exc.DBAPIError as exc:
        engine.dispose()
        raise _connect_error(exc, parsed, shown) from None
    except BaseException:
        engine.dispose()
        raise
    return SqlStateStore(engine, backend=backend, lineage=lineage, display_url=shown)


def upgrade_state(url: str) -> tuple[str | None, str]:
    """Migrate the existing state at `url` to the newest schema; returns (revision before, revision after)."""
    shown = display_url(url)
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError:
        raise StateError(_INVALID_URL) from None
    backend = _backend(parsed)
    engine = _sqlite_engine(parsed, create=False) if backend == "sqlite" else _postgres_engine(parsed)
    try:
        with engine.connect() as conn:
            conn.execution_options(couponctl_read=True)
            before = schema.current_revision(conn)
    except sa.exc.DBAPIError as exc:
        raise _connect_error(exc, parsed, shown) from None
    finally:
        engine.dispose()
    if before is None:
        raise NoStateError(f"no state at {shown}")
    open_store(url, create=False).close()
    return before, schema.head_revision()
