"""SqlStateStore: `api.StateStore` over SQLAlchemy Core, for SQLite and PostgreSQL alike.

Every public write is one transaction. The serial counts changes to the *resources* (put, remove, move,
close_intent): it is what a saved plan pins, so history and journal bookkeeping (begin_run, record_call, end_run,
open_intent) leave it alone and a plan stays applyable while its own run records progress.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from reconciler.errors import LockInfo, StateError
from reconciler.resources import ResourceState, canonical_json
from reconciler.store import assets, journal, locking, rows
from reconciler.store import tables as t
from reconciler.store.api import CallRecord, Intent, RunRecord

Backend = Literal["sqlite", "postgresql"]

# The apply path's statements, built once with bound parameters (see `_put`).
_BUMP = sa.update(t.meta).where(t.meta.c.id == 1).values(serial=t.meta.c.serial + 1).returning(t.meta.c.serial)
_INSERT_CALL = sa.insert(t.calls)

_RESOURCE_COLUMNS = (
    t.resources.c.address,
    t.resources.c.kind,
    t.resources.c.upstream_id,
    t.resources.c.upstream,
    t.resources.c.desired_digest,
    t.resources.c.protect,
    t.resources.c.brand_id,
    t.resources.c.created_at,
    t.resources.c.updated_at,
    t.resources.c.extra,
)
_GET_RESOURCE = sa.select(*_RESOURCE_COLUMNS).where(t.resources.c.address == sa.bindparam("address"))  # see `_put`

_RUN_COLUMNS = (
    t.runs.c.run_id,
    t.runs.c.command,
    t.runs.c.actor,
    t.runs.c.git_commit,
    t.runs.c.plan_digest,
    t.runs.c.started_at,
    t.runs.c.finished_at,
    t.runs.c.outcome,
    t.runs.c.summary,
)
_CALL_COLUMNS = (
    t.calls.c.address,
    t.calls.c.operation,
    t.calls.c.outcome,
    t.calls.c.out_request_no,
    t.calls.c.request_id,
    t.calls.c.http_status,
    t.calls.c.code,
    t.calls.c.message,
    t.calls.c.at,
)
_INTENT_COLUMNS = (
    t.intents.c.intent_id,
    t.intents.c.run_id,
    t.intents.c.address,
    t.intents.c.operation,
    t.intents.c.target,
    t.intents.c.out_request_no,
    t.intents.c.payload,
    t.intents.c.payload_digest,
    t.intents.c.created_at,
)


_decode = json.JSONDecoder().decode


def _db_reason(exc: sa.exc.DBAPIError) -> str:
    """The driver's own first line, without SQLAlchemy's SQL and parameters."""
    text = str(exc.orig).strip().splitlines()
    return text[0] if text else type(exc.orig).__name__


class SqlStateStore(assets.AssetRows):  # the asset map: store/assets.py (decision D33)
    """The state store over one SQLAlchemy engine. Made by `reconciler.store.open_store`."""

    def __init__(self, engine: Engine, *, backend: Backend, lineage: str, display_url: str) -> None:
        self._engine = engine
        self._backend: Backend = backend
        self._lineage = lineage
        self._display_url = display_url
        self._upsert: Any = None
        self._journal_writer: journal.Journal | None = None  # the apply path's writes (journal.py)

    # --- identity ---------------------------------------------------------------------------------------------

    @property
    def lineage(self) -> str:
        return self._lineage

    @property
    def serial(self) -> int:
        with self._read() as conn:
            return int(conn.execute(sa.select(t.meta.c.serial).where(t.meta.c.id == 1)).scalar_one())

    @property
    def url_for_display(self) -> str:
        """The URL with any password removed."""
        return self._display_url

    @property
    def backend(self) -> Backend:
        """ "sqlite" or "postgresql"."""
        return self._backend

    @property
    def engine(self) -> Engine:
        """The underlying engine (for tests and tools; the rest of couponctl uses the methods)."""
        return self._engine

    # --- transactions -----------------------------------------------------------------------------------------

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        try:
            with self._engine.connect() as conn:
                conn.execution_options(couponctl_read=True)
                yield conn
        except sa.exc.DBAPIError as exc:
            raise StateError(f"cannot read state at {self._display_url}: {_db_reason(exc)}") from None

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        try:
            with self._engine.begin() as conn:
                yield conn
        except sa.exc.DBAPIError as exc:
            raise StateError(f"state write failed at {self._display_url}: {_db_reason(exc)}") from None

    @staticmethod
    def _bump(conn: Connection) -> int:
        return int(conn.execute(_BUMP).scalar_one())

    # --- resources --------------------------------------------------------------------------------------------

    @staticmethod
    def _resource(row: Sequence[Any], decoded: Any = None) -> ResourceState:
        address, kind, upstream_id, upstream, desired, protect, brand_id, created, updated, extra = row
        return ResourceState(
            address=address,
            kind=kind,
            upstream_id=upstream_id,
            upstream=_decode(upstream) if decoded is None else decoded,
            desired_digest=desired,
            protect=bool(protect),
            brand_id=brand_id,
            created_at=created,
            updated_at=updated,
            extra={} if extra == "{}" else _decode(extra),  # most resources have none: skip the decoder
        )

    def resources(self) -> dict[str, ResourceState]:
        """Every managed resource by address, in one query."""
        make = self._resource
        with self._read() as conn:  # decoded while fetched: every row's raw JSON is never held at once (100k: ~300 MB)
            result = conn.execute(sa.select(*_RESOURCE_COLUMNS).order_by(t.resources.c.address))
            return {row[0]: make(row, upstream) for row, upstream in rows.decoded(result, 3)}  # keys shared: rows.py

    def get(self, address: str) -> ResourceState | None:
        row = self._journal().read_one(_GET_RESOURCE, {"address": address})  # apply reads one per action
        return None if row is None else self._resource(row)

    def _put(self, conn: Connection, r: ResourceState) -> None:
        if self._upsert is None:
            # Built once with bound parameters: a statement rebuilt around literal values each call costs more in
            # SQLAlchemy's cache-key work than the write itself.
            self._upsert = journal.upsert_statement(self._backend)
        conn.execute(self._upsert, journal.resource_values(r))

    def _refuse_open_intents(self, conn: Connection, address: str, what: str) -> None:
        ops = conn.execute(
            sa.select(t.intents.c.intent_id, t.intents.c.operation).where(t.intents.c.address == address)
        ).all()
        if ops:
            listed = ", ".join(f"#{i} {op}" for i, op in ops)
            raise StateError(
                f"refusing to {what} {address}: it has an open intent ({listed}) from an apply that did not finish; "
                "run `couponctl apply` to settle it first"
            )

    def put(self, resource: ResourceState) -> int:
        """Insert or replace one resource; returns the new serial.

        created_at is kept from the first time the address was stored (or taken from `resource` on insert);
        updated_at is `resource.updated_at` when set, else now. Empty timestamps mean "now"."""
        with self._write() as conn:
            self._put(conn, resource)
            return self._bump(conn)

    def _remove(self, conn: Connection, address: str) -> None:
        result = conn.execute(sa.delete(t.resources).where(t.resources.c.address == address))
        if result.rowcount == 0:
            raise StateError(f"no resource {address} in state; `couponctl state list` shows what state holds")

    def remove(self, address: str) -> int:
        """Forget one resource (upstream is untouched); refuses an unknown address or one with an open intent."""
        with self._write() as conn:
            self._refuse_open_intents(conn, address, "remove")
            self._remove(conn, address)
            return self._bump(conn)

    def move(self, old: str, new: str) -> int:
        """Rename a resource's address. Refuses malformed addresses, a kind change, an unknown source, an existing
        destination and open intents on either address."""
        old_kind, new_kind = journal.address_kind(old), journal.address_kind(new)
        if old_kind != new_kind:
            raise StateError(
                f"refusing to move {old} to {new}: the kind would change ({old_kind} to {new_kind}); a coupon "
                "cannot change kind, declare the new one and remove the old one instead"
            )
        if old == new:
            raise StateError(f"refusing to move {old} onto itself")
        with self._write() as conn:
            self._refuse_open_intents(conn, old, "move")
            self._refuse_open_intents(conn, new, "move onto")
            if conn.execute(sa.select(t.resources.c.address).where(t.resources.c.address == new)).first():
                raise StateError(
                    f"refusing to move {old} to {new}: {new} already exists in state; remove it first "
                    f"(`couponctl state rm {new}`) if it is really unwanted"
                )
            result = conn.execute(
                sa.update(t.resources)
                .where(t.resources.c.address == old)
                .values(address=new, updated_at=locking.utc_now())
            )
            if result.rowcount == 0:
                raise StateError(f"no resource {old} in state; `couponctl state list` shows what state holds")
            return self._bump(conn)

    # --- history ----------------------------------------------------------------------------------------------

    def begin_run(
        self, command: str, *, actor: str, git_commit: str | None = None, plan_digest: str | None = None
    ) -> int:
        with self._write() as conn:
            stmt = (
                sa.insert(t.runs)
                .values(
                    command=command[:40],
                    actor=actor[:200],
                    git_commit=git_commit,
                    plan_digest=plan_digest,
                    started_at=locking.utc_now(),
                    summary="{}",
                )
                .returning(t.runs.c.run_id)
            )
            return int(conn.execute(stmt).scalar_one())

    def end_run(self, run_id: int, outcome: str, summary: Mapping[str, Any]) -> None:
        with self._write() as conn:
            result = conn.execute(
                sa.update(t.runs)
                .where(t.runs.c.run_id == run_id)
                .values(outcome=outcome, summary=canonical_json(summary), finished_at=locking.utc_now())
            )
            if result.rowcount == 0:
                raise StateError(f"no run {run_id} in history")

    def record_call(self, run_id: int, call: CallRecord) -> None:
        with self._write() as conn:
            conn.execute(_INSERT_CALL, journal.call_values(run_id, call))

    @staticmethod
    def _run(row: Sequence[Any]) -> RunRecord:
        run_id, command, actor, git_commit, plan_digest, started, finished, outcome, summary = row
        return RunRecord(
            run_id=run_id,
            command=command,
            actor=actor,
            git_commit=git_commit,
            plan_digest=plan_digest,
            started_at=started,
            finished_at=finished,
            outcome=outcome,
            summary=json.loads(summary),
        )

    def runs(self, limit: int = 20) -> list[RunRecord]:
        """The latest runs, newest first."""
        with self._read() as conn:
            rows = conn.execute(sa.select(*_RUN_COLUMNS).order_by(t.runs.c.run_id.desc()).limit(limit)).all()
        return [self._run(row) for row in rows]

    def run(self, run_id: int) -> RunRecord | None:
        """One run of history, or None."""
        with self._read() as conn:
            row = conn.execute(sa.select(*_RUN_COLUMNS).where(t.runs.c.run_id == run_id)).first()
        return None if row is None else self._run(row)

    def call_counts(self, run_ids: Sequence[int]) -> dict[int, int]:
        """How many calls each of these runs recorded (runs without calls are absent)."""
        if not run_ids:
            return {}
        with self._read() as conn:
            rows = conn.execute(
                sa.select(t.calls.c.run_id, sa.func.count())
                .where(t.calls.c.run_id.in_(list(run_ids)))
                .group_by(t.calls.c.run_id)
            ).all()
        return {int(run_id): int(n) for run_id, n in rows}

    def sent_before(self, address: str, out_request_no: str) -> bool:
        """Whether this state's history holds a call for `address` that landed with `out_request_no` (a product
        coupon this state created itself, so a later refusal of the same number is about our own past coupon)."""
        with self._read() as conn:
            found = conn.execute(
                sa.select(t.calls.c.call_id)
                .where(
                    t.calls.c.address == address,
                    t.calls.c.out_request_no == out_request_no,
                    t.calls.c.outcome != "error",
                )
                .limit(1)
            ).first()
        return found is not None

    def calls(self, run_id: int) -> list[CallRecord]:
        """The calls of one run, in the order they were recorded."""
        with self._read() as conn:
            rows = conn.execute(
                sa.select(*_CALL_COLUMNS).where(t.calls.c.run_id == run_id).order_by(t.calls.c.call_id)
            ).all()
        return [
            CallRecord(
                address=r.address,
                operation=r.operation,
                outcome=r.outcome,
                out_request_no=r.out_request_no,
                request_id=r.request_id,
                http_status=r.http_status,
                code=r.code,
                message=r.message,
                at=r.at,
            )
            for r in rows
        ]

    # --- intent journal ---------------------------------------------------------------------------------------

    def open_intent(
        self,
        run_id: int,
        *,
        address: str,
        operation: str,
        target: str | None,
        out_request_no: str | None,
        payload: Mapping[str, Any],
        payload_digest: str,
    ) -> int:
        """Commit an intent before its call is made; returns its id (on the journal's connection: journal.py)."""
        values = {
            "run_id": run_id, "address": address, "operation": operation, "target": target,
            "out_request_no": out_request_no, "payload": canonical_json(payload), "payload_digest": payload_digest,
        }  # fmt: skip
        return self._journal().open_intent(values)

    def close_intent(
        self,
        intent_id: int,
        *,
        call: CallRecord,
        put: ResourceState | None = None,
        remove: str | None = None,
    ) -> int:
        """In one transaction: delete the intent, record `call` in the intent's run, write `put` (or remove
        `remove`), bump the serial. Returns the new serial. Nothing changes when any part fails."""
        if put is not None and remove is not None:
            raise StateError("close_intent takes put or remove, not both")
        return self._journal().close_intent(intent_id, call, put, remove)

    def _journal(self) -> journal.Journal:
        if self._journal_writer is None:
            self._journal_writer = journal.Journal(self._engine, self._backend, self._display_url)
        return self._journal_writer

    def open_intents(self) -> list[Intent]:
        """Intents whose result was never recorded (a crashed or killed apply), oldest first."""
        with self._read() as conn:
            rows = conn.execute(sa.select(*_INTENT_COLUMNS).order_by(t.intents.c.intent_id)).all()
        return [
            Intent(
                intent_id=r.intent_id,
                run_id=r.run_id,
                address=r.address,
                operation=r.operation,
                target=r.target,
                out_request_no=r.out_request_no,
                payload=json.loads(r.payload),
                payload_digest=r.payload_digest,
                created_at=r.created_at,
            )
            for r in rows
        ]

    # --- locking ----------------------------------------------------------------------------------------------

    def lock(self, operation: str, *, timeout: float = 0.0) -> AbstractContextManager[LockInfo]:
        """Hold the state lock for the duration of the block; raise LockError naming the holder when taken
        (after polling for up to `timeout` seconds)."""
        if self._backend == "postgresql":
            return locking.postgres_lock(self._engine, operation, timeout)
        return locking.sqlite_lock(self._engine, operation, timeout)

    def current_lock(self) -> LockInfo | None:
        """Who holds the lock now, or None."""
        try:
            if self._backend == "postgresql":
                return locking.postgres_current(self._engine)
            return locking.sqlite_current(self._engine)
        except sa.exc.DBAPIError as exc:
            raise StateError(f"cannot read state at {self._display_url}: {_db_reason(exc)}") from None

    def force_unlock(self, lock_id: str) -> None:
        """Release a lock left behind by a run that is gone. Refuses an unknown or mismatched id, and a holder that
        is provably alive (SQLite: a live pid on this host; PostgreSQL: a live session holding the advisory lock)."""
        try:
            if self._backend == "postgresql":
                locking.postgres_force_unlock(self._engine, lock_id)
            else:
                locking.sqlite_force_unlock(self._engine, lock_id)
        except sa.exc.DBAPIError as exc:
            raise locking.db_error(exc, f"cannot unlock the state at {self._display_url}") from None

    def close(self) -> None:
        if self._journal_writer is not None:
            self._journal_writer.close()
        self._engine.dispose()
