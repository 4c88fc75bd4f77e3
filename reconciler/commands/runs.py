"""The history record of a state-writing command (apply, refresh, import, state rm/mv), written in one place.

`recorded_run` opens a run, hands the command a `RunRecord` to fill in (outcome, summary), and closes it on exit;
when the command raises, the run is closed as "failed" (with whatever summary it had) and the error goes on.
`locked_run` is the sequence refresh, import and `state rm` / `state mv` share: the state opened and locked for as
long as the command writes, its run recorded when the command says so, the state closed however it ends.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from reconciler.actor import actor
from reconciler.commands.common import git_commit, lock_timeout, open_state
from reconciler.config import Settings

if TYPE_CHECKING:  # the store package loads SQLAlchemy; its user has opened a store already
    from reconciler.store.api import StateStore


@dataclass
class OpenRun:
    """A run being recorded: the command sets `outcome` and `summary` before it ends."""

    run_id: int
    outcome: str = "ok"
    summary: dict[str, Any] = field(default_factory=dict)


@contextlib.contextmanager
def recorded_run(
    store: StateStore,
    settings: Settings,
    command: str,
    *,
    commit: str | None = None,
    plan_digest: str | None = None,
) -> Iterator[OpenRun]:
    """Record `command` in history: begun on entry, ended on exit ("failed" when the body raised).

    `commit` overrides the git commit read from the project (apply records the commit its plan was made at).
    """
    run_id = store.begin_run(
        command, actor=actor(), git_commit=commit or git_commit(settings.root), plan_digest=plan_digest
    )
    run = OpenRun(run_id)
    try:
        yield run
    except BaseException:
        # Also on Ctrl-C: the run did not finish. If the store itself is what failed, the original error matters
        # more than the bookkeeping, so a failure to record the failure is dropped.
        with contextlib.suppress(Exception):
            store.end_run(run_id, "failed", _summary(settings, run))
        raise
    store.end_run(run_id, run.outcome, _summary(settings, run))


@dataclass(frozen=True, slots=True)
class LockedState:
    """The state a writing command holds locked: `store`, and `recorded()`, the command's run in history."""

    store: StateStore
    settings: Settings
    command: str

    def recorded(self) -> AbstractContextManager[OpenRun]:
        """The command's run (`recorded_run`), begun where the command's writes begin: what it refuses before that
        leaves no run in history."""
        return recorded_run(self.store, self.settings, self.command)


@contextlib.contextmanager
def locked_run(
    settings: Settings,
    command: str,
    *,
    lock_timeout_s: float | None = None,
    lock_name: str | None = None,
    create: bool = True,
) -> Iterator[LockedState]:
    """The state opened (created unless `create=False`) and locked under `lock_name` (default: `command`) with the
    `--lock-timeout` / `[state] lock_timeout` wait, for the body; unlocked and closed on exit, whatever happens."""
    store = open_state(settings, create=create)
    try:
        with store.lock(lock_name or command, timeout=lock_timeout(settings, lock_timeout_s)):
            yield LockedState(store, settings, command)
    finally:
        store.close()


def _summary(settings: Settings, run: OpenRun) -> dict[str, Any]:
    """The run's summary, naming the selected environment (decision D26: every history entry names it; kept in
    the summary JSON, so the history table needs no migration)."""
    if settings.env.name is None:
        return run.summary
    return {"environment": settings.env.name, **run.summary}
