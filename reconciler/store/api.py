"""The interface the rest of couponctl uses to read and write state (implemented in `reconciler.store`).

Every write is its own transaction, so state is always true after each successful upstream call. Every write to
the resources (put, remove, move, close_intent) increments the serial, which saved plans pin; history and journal
bookkeeping (begin_run, record_call, end_run, open_intent) do not, so a run's own progress never makes its plan
stale. The intent journal makes apply crash-safe: an intent is committed before a call; the call's result, the
history record of the call and the closing of the intent are committed together in one transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from reconciler.errors import LockInfo
from reconciler.resources import ResourceState


@dataclass(frozen=True, slots=True)
class Intent:
    """A call that was about to be made when the journal entry was written (open until its result is recorded)."""

    intent_id: int
    run_id: int
    address: str
    operation: str
    target: str | None  # upstream id addressed (None for product.create)
    out_request_no: str | None
    payload: Mapping[str, Any]  # the exact body (no secrets in it)
    payload_digest: str
    created_at: str


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One upstream call as history keeps it."""

    address: str
    operation: str
    outcome: str  # "ok" | "error" | "settled" (resolved from an open intent after a crash)
    out_request_no: str | None = None
    request_id: str | None = None
    http_status: int | None = None
    code: str | None = None
    message: str | None = None
    at: str = ""


@dataclass(frozen=True, slots=True)
class Asset:
    """One uploaded image (decision D33): its content digest, the URL upstream gave it, when, and the upload's
    Request-ID."""

    sha256: str
    url: str
    size: int
    uploaded_at: str
    request_id: str | None = None


@dataclass(frozen=True, slots=True)
class RunRecord:
    run_id: int
    command: str  # "apply" | "refresh" | "import" | "state rm" ...
    actor: str
    git_commit: str | None
    plan_digest: str | None
    started_at: str
    finished_at: str | None
    outcome: str | None  # "ok" | "partial" | "failed" | None while running
    summary: Mapping[str, Any]


class StateStore(Protocol):
    @property
    def lineage(self) -> str: ...

    @property
    def serial(self) -> int: ...

    @property
    def url_for_display(self) -> str:
        """The URL with any password removed."""
        ...

    # resources
    def resources(self) -> dict[str, ResourceState]: ...
    def get(self, address: str) -> ResourceState | None: ...
    def put(self, resource: ResourceState) -> int:
        """Insert or replace one resource; returns the new serial."""
        ...

    def remove(self, address: str) -> int: ...
    def move(self, old: str, new: str) -> int: ...

    # history
    def begin_run(
        self, command: str, *, actor: str, git_commit: str | None = None, plan_digest: str | None = None
    ) -> int: ...
    def end_run(self, run_id: int, outcome: str, summary: Mapping[str, Any]) -> None: ...
    def record_call(self, run_id: int, call: CallRecord) -> None: ...
    def runs(self, limit: int = 20) -> list[RunRecord]: ...
    def calls(self, run_id: int) -> list[CallRecord]: ...
    def sent_before(self, address: str, out_request_no: str) -> bool:
        """Whether a call for `address` with this request number landed in this state's history."""
        ...

    # intent journal
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
    ) -> int: ...
    def close_intent(
        self,
        intent_id: int,
        *,
        call: CallRecord,
        put: ResourceState | None = None,
        remove: str | None = None,
    ) -> int:
        """In one transaction: write `put` (or remove `remove`), record `call` in the intent's run, delete the
        intent, bump the serial. Returns the new serial."""
        ...

    def open_intents(self) -> list[Intent]: ...

    # the asset map (decision D33): sha256 of an uploaded image -> its URL; writes do not bump the serial
    def assets(self) -> dict[str, Asset]: ...
    def put_asset(self, asset: Asset) -> None:
        """Record the URL of these bytes, committed at once."""
        ...

    # locking
    def lock(self, operation: str, *, timeout: float = 0.0) -> AbstractContextManager[LockInfo]:
        """Hold the state lock for the duration of the block; raise LockError naming the holder when taken."""
        ...

    def current_lock(self) -> LockInfo | None: ...
    def force_unlock(self, lock_id: str) -> None: ...

    def close(self) -> None: ...
