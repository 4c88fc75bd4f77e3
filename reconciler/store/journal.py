"""The intent journal's two transactions per call (and `get`), on the driver's own connection (issue 20).

Apply commits twice per upstream call (contract §2.4, decision D17's journal): the intent before the call, then the
call record, the resource and the serial bump after it. Through SQLAlchemy's `Connection` each of these statements
costs more Python than the database work itself (execution context, cache keys, events, a pool checkout and a
`BEGIN` event per transaction). Here the same statements are compiled once for the engine's dialect and run on one
driver connection the journal keeps: the same SQL, the same transactions (`BEGIN IMMEDIATE` on SQLite, as every other
write), the same commit points. Nothing about durability changes: a transaction is committed before `open_intent`
returns, and the outcome is committed in one transaction before `close_intent` returns.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from reconciler.errors import StateError
from reconciler.resources import ResourceState, canonical_json, split_address
from reconciler.store import locking
from reconciler.store import tables as t
from reconciler.store.api import CallRecord

# The resource columns an upsert rewrites (created_at is kept from the first insert).
_UPDATED = ("kind", "upstream_id", "upstream", "desired_digest", "status", "protect", "brand_id", "extra", "updated_at")


def address_kind(address: str) -> str:
    try:
        return split_address(address)[0]
    except ValueError as exc:
        raise StateError(str(exc)) from None


def resource_values(r: ResourceState) -> dict[str, Any]:
    """The row of one resource (every column): what `put` and `close_intent` write."""
    kind = address_kind(r.address)
    if kind != r.kind:
        raise StateError(f"{r.address}: kind {r.kind} does not match the address (expected {kind})")
    now = locking.utc_now()
    return {
        "address": r.address,
        "kind": r.kind,
        "upstream_id": r.upstream_id,
        "upstream": canonical_json(r.upstream),
        "desired_digest": r.desired_digest,
        "status": r.status[:20],  # informative copy for listing; the truth is in `upstream`
        "protect": r.protect,
        "brand_id": r.brand_id,
        "extra": canonical_json(r.extra),
        "created_at": r.created_at or now,  # kept from the first insert by the upsert
        "updated_at": r.updated_at or now,  # the caller's clock when it passes one (tests, replays)
    }


def call_values(run_id: int, call: CallRecord) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "address": call.address,
        "operation": call.operation,
        "outcome": call.outcome,
        "out_request_no": call.out_request_no,
        "request_id": call.request_id,
        "http_status": call.http_status,
        "code": call.code,
        "message": call.message,
        "at": call.at or locking.utc_now(),
    }


def upsert_statement(backend: str) -> Any:
    if backend == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    statement = insert(t.resources)
    return statement.on_conflict_do_update(
        index_elements=[t.resources.c.address], set_={k: statement.excluded[k] for k in _UPDATED}
    )


def _reason(exc: BaseException) -> str:
    """The driver's own first line (no SQL, no parameters)."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


class _Compiled:
    """One statement compiled for a dialect: its SQL and how to lay out its parameters for the driver."""

    def __init__(self, statement: Any, engine: Engine, names: tuple[str, ...]) -> None:
        compiled = statement.compile(dialect=engine.dialect, column_keys=list(names))
        self.sql: str = compiled.string
        fixed = {k: v for k, v in compiled.params.items() if k not in names}  # literals such as `id = 1`
        order = compiled.positiontup
        self._args: Callable[[Mapping[str, Any]], Any]
        if compiled.positional and order is not None:
            keys = tuple(order)
            if fixed:
                self._args = lambda values: tuple(values[k] if k in values else fixed[k] for k in keys)
            else:
                self._args = lambda values: tuple(values[k] for k in keys)
        else:
            self._args = (lambda values: {**fixed, **values}) if fixed else dict

    def args(self, values: Mapping[str, Any]) -> Any:
        return self._args(values)


class Journal:
    """`open_intent` and `close_intent` of `SqlStateStore`, on a driver connection held for the store's life."""

    def __init__(self, engine: Engine, backend: str, display_url: str) -> None:
        self._engine = engine
        self._sqlite = backend == "sqlite"
        self._display_url = display_url
        intent = ("run_id", "address", "operation", "target", "out_request_no", "payload", "payload_digest")
        call = tuple(call_values(0, CallRecord("", "", "", None, None, None, None, None, "x")))
        self._insert_intent = _Compiled(
            sa.insert(t.intents).returning(t.intents.c.intent_id), engine, (*intent, "created_at")
        )
        self._delete_intent = _Compiled(
            sa.delete(t.intents)
            .where(t.intents.c.intent_id == sa.bindparam("intent_id"))
            .returning(t.intents.c.run_id),
            engine,
            ("intent_id",),
        )
        self._insert_call = _Compiled(sa.insert(t.calls), engine, call)
        self._upsert = _Compiled(upsert_statement(backend), engine, ("address", *_UPDATED, "created_at"))
        self._remove = _Compiled(
            sa.delete(t.resources).where(t.resources.c.address == sa.bindparam("address")), engine, ("address",)
        )
        self._bump = _Compiled(
            sa.update(t.meta).where(t.meta.c.id == 1).values(serial=t.meta.c.serial + 1).returning(t.meta.c.serial),
            engine,
            (),
        )
        self._selects: dict[Any, _Compiled] = {}
        self._proxy: Any = None  # the pool's connection, checked out once

    def _connection(self) -> Any:
        if self._proxy is None:
            self._proxy = self._engine.raw_connection()
        return self._proxy.driver_connection

    def _transaction(self, work: Callable[[Any], int]) -> int:
        connection = self._connection()
        cursor = connection.cursor()
        try:
            if self._sqlite:  # autocommit at the driver (store/__init__.py); writers take the lock up front
                cursor.execute("BEGIN IMMEDIATE")
            result = work(cursor)
            connection.commit() if not self._sqlite else cursor.execute("COMMIT")
            return result
        except BaseException as exc:
            try:
                connection.rollback() if not self._sqlite else cursor.execute("ROLLBACK")
            except Exception:  # the connection is gone: drop it, the next call checks out another
                self.close()
            if isinstance(exc, self._engine.dialect.loaded_dbapi.Error):
                raise StateError(f"state write failed at {self._display_url}: {_reason(exc)}") from None
            raise
        finally:
            cursor.close()

    def read_one(self, statement: Any, values: Mapping[str, Any]) -> Any:
        """The first row of a SELECT (`statement`: compiled once and kept), outside any write transaction."""
        compiled = self._selects.get(statement)
        if compiled is None:
            compiled = self._selects[statement] = _Compiled(statement, self._engine, tuple(values))
        connection = self._connection()
        cursor = connection.cursor()
        try:
            cursor.execute(compiled.sql, compiled.args(values))
            row = cursor.fetchone()
            if not self._sqlite:
                connection.rollback()  # end the read transaction the driver opened
            return row
        except self._engine.dialect.loaded_dbapi.Error as exc:
            with contextlib.suppress(Exception):
                connection.rollback()
            raise StateError(f"cannot read state at {self._display_url}: {_reason(exc)}") from None
        finally:
            cursor.close()

    def _one(self, cursor: Any, compiled: _Compiled, values: Mapping[str, Any]) -> Any:
        cursor.execute(compiled.sql, compiled.args(values))
        row = cursor.fetchone()
        return None if row is None else row[0]

    def open_intent(self, values: dict[str, Any]) -> int:
        values["created_at"] = locking.utc_now()
        return self._transaction(lambda cursor: int(self._one(cursor, self._insert_intent, values)))

    def close_intent(self, intent_id: int, call: CallRecord, put: ResourceState | None, remove: str | None) -> int:
        row = resource_values(put) if put is not None else None  # a bad resource fails before the transaction

        def work(cursor: Any) -> int:
            run_id = self._one(cursor, self._delete_intent, {"intent_id": intent_id})
            if run_id is None:
                raise StateError(f"no open intent {intent_id} in the journal (already closed?)")
            cursor.execute(self._insert_call.sql, self._insert_call.args(call_values(int(run_id), call)))
            if row is not None:
                cursor.execute(self._upsert.sql, self._upsert.args(row))
            if remove is not None:
                cursor.execute(self._remove.sql, self._remove.args({"address": remove}))
                if cursor.rowcount == 0:
                    raise StateError(f"no resource {remove} in state; `couponctl state list` shows what state holds")
            return int(self._one(cursor, self._bump, {}))

        return self._transaction(work)

    def close(self) -> None:
        proxy, self._proxy = self._proxy, None
        if proxy is not None:
            with contextlib.suppress(Exception):  # closing a broken connection: nothing to keep
                proxy.close()
