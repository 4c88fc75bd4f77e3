"""The state lock: who may write state right now, and who to blame when it is taken.

- PostgreSQL: a session advisory lock on a dedicated connection guarantees exclusion (the server frees it the moment
  the holder's connection drops, SIGKILL included); a row in `lock` says who holds it, for the error message.
- SQLite: the row in `lock` *is* the lock (the primary key makes a second INSERT fail). A row left by a process of
  this host that no longer exists is stale and taken over; for another host couponctl cannot tell, so it asks for
  `couponctl state unlock LOCK_ID`.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from reconciler.actor import os_user
from reconciler.errors import LockError, LockInfo, StateError
from reconciler.store import tables as t

log = logging.getLogger("couponctl.store")

# Two int4 keys of the session advisory lock (pg_try_advisory_lock(int, int)): constants, so every couponctl agrees.
# Advisory locks are per database, so two states in two databases of one cluster do not block each other.
PG_LOCK_KEYS = (zlib.crc32(b"couponctl") & 0x7FFFFFFF, zlib.crc32(b"state-lock") & 0x7FFFFFFF)
# A transaction-scoped advisory lock that serialises concurrent first opens (migrations, lineage creation).
PG_MIGRATION_KEYS = (PG_LOCK_KEYS[0], zlib.crc32(b"state-migrate") & 0x7FFFFFFF)

POLL_INTERVAL_S = 0.1
PG_RELEASE_GRACE_S = 3.0


def utc_now() -> str:
    """Now as the ISO-8601 UTC string the state stores."""
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def new_lock_info(operation: str) -> LockInfo:
    return LockInfo(  # lengths fit the `lock` columns (PostgreSQL enforces them)
        lock_id=uuid.uuid4().hex[:12],
        holder=os_user()[:200],
        host=socket.gethostname()[:255],
        pid=os.getpid(),
        operation=operation[:100],
        acquired_at=utc_now(),
    )


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def age(since_iso: str, now: datetime | None = None) -> str:
    """A short human duration since `since_iso` ("3m05s"); "unknown" when it cannot be parsed."""
    try:
        since = datetime.fromisoformat(since_iso.replace("Z", "+00:00"))
    except ValueError:
        return "unknown"
    seconds = max(0, int(((now or datetime.now(UTC)) - since).total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def db_error(exc: sa.exc.DBAPIError, doing: str) -> StateError:
    """A StateError carrying the driver's first line only (never SQLAlchemy's SQL, parameters or URL)."""
    text = str(exc.orig).strip().splitlines()
    return StateError(f"{doing}: {text[0] if text else type(exc.orig).__name__}")


def lock_error(holder: LockInfo, *, backend: str, waited: float = 0.0) -> LockError:
    """The error naming who holds the lock, for how long, and what to do (`waited`: the lock timeout that ran out,
    so the advice to wait with --lock-timeout is not given to someone who just did)."""
    lines = [f"It has been held for {age(holder.acquired_at)}."]
    if backend == "sqlite" and holder.host != socket.gethostname():
        lines.append(
            f"It was taken on another host ({holder.host}): couponctl cannot tell whether pid {holder.pid} is still "
            "running there. Make sure that run is gone before unlocking."
        )
    if waited > 0:
        lines.append(
            f"Waited {waited:g} s for it (--lock-timeout / [state] lock_timeout) and it is still held: that run is "
            "still going, or gone without releasing it. If it is gone for good, release it with:"
        )
    else:
        lines.append("Wait for it with --lock-timeout SECONDS, or, if that run is gone for good, release it with:")
    lines.append(f"  couponctl state unlock {holder.lock_id}")
    return LockError(holder, "\n".join(lines))


def _row_info(row: sa.Row[*tuple[Any, ...]] | None) -> LockInfo | None:
    if row is None:
        return None
    return LockInfo(
        lock_id=row.lock_id,
        holder=row.holder,
        host=row.host,
        pid=row.pid,
        operation=row.operation,
        acquired_at=row.acquired_at,
    )


_LOCK_COLUMNS = (
    t.lock.c.lock_id,
    t.lock.c.holder,
    t.lock.c.host,
    t.lock.c.pid,
    t.lock.c.operation,
    t.lock.c.acquired_at,
)


def read_lock_row(conn: Connection) -> LockInfo | None:
    return _row_info(conn.execute(sa.select(*_LOCK_COLUMNS).where(t.lock.c.id == 1)).first())


def _row_values(info: LockInfo) -> dict[str, object]:
    return {
        "lock_id": info.lock_id,
        "holder": info.holder,
        "host": info.host,
        "pid": info.pid,
        "operation": info.operation,
        "acquired_at": info.acquired_at,
    }


def _dead_here(holder: LockInfo) -> bool:
    """The holder ran on this host and its process is gone."""
    return holder.host == socket.gethostname() and holder.pid > 0 and not pid_alive(holder.pid)


def _wait(try_once: Callable[[], LockInfo | None], timeout: float, backend: str) -> None:
    """Call `try_once` (None = acquired, else the holder) until it succeeds or `timeout` seconds passed.

    On PostgreSQL, a holder that died on this host is given PG_RELEASE_GRACE_S more: the server frees its advisory
    lock as soon as it notices the closed connection, which can lag the process's death by a few milliseconds.
    """
    start = time.monotonic()
    deadline = start + max(0.0, timeout)
    while True:
        holder = try_once()
        if holder is None:
            return
        if backend == "postgresql" and _dead_here(holder):
            deadline = max(deadline, start + PG_RELEASE_GRACE_S)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise lock_error(holder, backend=backend, waited=timeout)
        time.sleep(min(POLL_INTERVAL_S, remaining))


# --- SQLite -----------------------------------------------------------------------------------------------------


def _sqlite_try(engine: Engine, info: LockInfo) -> LockInfo | None:
    with engine.begin() as conn:  # BEGIN IMMEDIATE: no other writer between the read and the insert
        holder = read_lock_row(conn)
        if holder is None:
            conn.execute(sa.insert(t.lock).values(id=1, **_row_values(info)))
            return None
        if _dead_here(holder):  # stale: its process is gone, so nobody is writing under it
            conn.execute(sa.update(t.lock).where(t.lock.c.id == 1).values(**_row_values(info)))
            log.warning(
                "note: took over the state lock %s left by %s's '%s' (pid %d on this host is no longer running)",
                holder.lock_id,
                holder.holder,
                holder.operation,
                holder.pid,
            )
            return None
        return holder


@contextmanager
def sqlite_lock(engine: Engine, operation: str, timeout: float) -> Iterator[LockInfo]:
    info = new_lock_info(operation)
    try:
        _wait(lambda: _sqlite_try(engine, info), timeout, "sqlite")
    except sa.exc.DBAPIError as exc:
        raise db_error(exc, "cannot take the state lock") from None
    try:
        yield info
    finally:
        try:
            with engine.begin() as conn:
                conn.execute(sa.delete(t.lock).where(t.lock.c.lock_id == info.lock_id))
        except sa.exc.DBAPIError as exc:
            raise db_error(
                exc,
                f"could not release state lock {info.lock_id}; release it with `couponctl state unlock {info.lock_id}`",
            ) from None


def sqlite_current(engine: Engine) -> LockInfo | None:
    with engine.connect() as conn:
        conn.execution_options(couponctl_read=True)  # a plain BEGIN: reading never waits for a writer
        return read_lock_row(conn)


def sqlite_force_unlock(engine: Engine, lock_id: str) -> LockInfo:
    with engine.begin() as conn:
        holder = _check_lock_id(read_lock_row(conn), lock_id)
        if holder.host == socket.gethostname() and pid_alive(holder.pid):
            raise StateError(
                f"refusing to unlock: lock {lock_id} is held by pid {holder.pid} on this host ({holder.host}), "
                f"which is still running ('{holder.operation}' by {holder.holder}). Let it finish or stop it first."
            )
        conn.execute(sa.delete(t.lock).where(t.lock.c.lock_id == lock_id))
        return holder


def _check_lock_id(holder: LockInfo | None, lock_id: str) -> LockInfo:
    if holder is None:
        raise StateError(f"refusing to unlock {lock_id}: the state is not locked")
    if holder.lock_id != lock_id:
        raise StateError(
            f"refusing to unlock {lock_id}: that is not the current lock; the state is locked by {holder.describe()}"
        )
    return holder


# --- PostgreSQL -------------------------------------------------------------------------------------------------

_HOLDER_PID = sa.text(
    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 2 "
    "AND classid = CAST(:k1 AS oid) AND objid = CAST(:k2 AS oid) "
    "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


def _pg_holder_pid(conn: Connection) -> int | None:
    """The backend pid of the session holding the state's advisory lock, if any."""
    pid = conn.execute(_HOLDER_PID, {"k1": PG_LOCK_KEYS[0], "k2": PG_LOCK_KEYS[1]}).scalar()
    return int(pid) if pid is not None else None


def _pg_try(conn: Connection, info: LockInfo) -> LockInfo | None:
    got = conn.execute(
        sa.text("SELECT pg_try_advisory_lock(:k1, :k2)"), {"k1": PG_LOCK_KEYS[0], "k2": PG_LOCK_KEYS[1]}
    ).scalar()
    if got:
        return None
    holder = read_lock_row(conn)
    if holder is None:  # the holder is between taking the advisory lock and writing its row
        holder = LockInfo(
            lock_id="unknown",
            holder="unknown",
            host="unknown",
            pid=_pg_holder_pid(conn) or 0,
            operation="unknown",
            acquired_at="",
        )
    return holder


@contextmanager
def postgres_lock(engine: Engine, operation: str, timeout: float) -> Iterator[LockInfo]:
    from sqlalchemy.dialects.postgresql import insert

    info = new_lock_info(operation)
    held = False
    try:
        conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    except sa.exc.DBAPIError as exc:
        raise db_error(exc, "cannot take the state lock") from None
    try:
        try:
            _wait(lambda: _pg_try(conn, info), timeout, "postgresql")
            held = True
            stmt = insert(t.lock).values(id=1, **_row_values(info))
            conn.execute(stmt.on_conflict_do_update(index_elements=[t.lock.c.id], set_=_row_values(info)))
        except sa.exc.DBAPIError as exc:
            raise db_error(exc, "cannot take the state lock") from None
        yield info
    finally:
        if held:
            try:
                conn.execute(sa.delete(t.lock).where(t.lock.c.lock_id == info.lock_id))
                conn.execute(
                    sa.text("SELECT pg_advisory_unlock(:k1, :k2)"), {"k1": PG_LOCK_KEYS[0], "k2": PG_LOCK_KEYS[1]}
                )
            except sa.exc.DBAPIError:
                # The session is broken or gone, and its advisory lock with it. Never hand this connection back
                # to the pool: discard it (closing the session frees the lock if the server still has it).
                conn.invalidate()
        conn.close()


def postgres_current(engine: Engine) -> LockInfo | None:
    with engine.connect() as conn:
        if _pg_holder_pid(conn) is None:
            return None
        return read_lock_row(conn)


def postgres_force_unlock(engine: Engine, lock_id: str) -> LockInfo:
    with engine.begin() as conn:
        holder = _check_lock_id(read_lock_row(conn), lock_id)
        backend_pid = _pg_holder_pid(conn)
        deadline = time.monotonic() + PG_RELEASE_GRACE_S
        while backend_pid is not None and _dead_here(holder) and time.monotonic() < deadline:
            time.sleep(POLL_INTERVAL_S)  # the holder died here; the server is about to drop its session
            backend_pid = _pg_holder_pid(conn)
        if backend_pid is not None:
            raise StateError(
                f"refusing to unlock: lock {lock_id} ('{holder.operation}' by {holder.holder} on {holder.host}, "
                f"pid {holder.pid}) is held by a live PostgreSQL session (backend pid {backend_pid}). "
                "PostgreSQL frees it by itself when that process ends; let it finish or stop it."
            )
        conn.execute(sa.delete(t.lock).where(t.lock.c.lock_id == lock_id))
        return holder
