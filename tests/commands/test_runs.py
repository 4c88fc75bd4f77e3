"""`recorded_run`: the one place a state-writing command's history record is opened and closed."""

from __future__ import annotations

import pytest

from reconciler.commands.common import open_state
from reconciler.commands.runs import locked_run, recorded_run
from reconciler.config import Settings
from reconciler.errors import LockError, StateError


def test_a_run_is_opened_then_closed_with_its_outcome_and_summary(settings: Settings) -> None:
    """Entering opens the run (no outcome yet); leaving closes it with what the command set."""
    store = open_state(settings)
    try:
        with recorded_run(store, settings, "refresh") as run:
            opened = store.run(run.run_id)
            assert opened is not None and opened.outcome is None and opened.actor == "tester"
            run.outcome = "partial"
            run.summary = {"changed": 3}
        closed = store.run(run.run_id)
    finally:
        store.close()
    assert closed is not None
    assert (closed.command, closed.outcome, closed.summary) == ("refresh", "partial", {"changed": 3})
    assert closed.finished_at is not None


def test_a_command_that_raises_leaves_a_failed_run_and_the_error_goes_on(settings: Settings) -> None:
    """The error propagates unchanged; history records the run as failed with the summary it had so far."""
    store = open_state(settings)
    try:
        with pytest.raises(StateError, match="boom"), recorded_run(store, settings, "import") as run:
            run.summary = {"generated": ["a.yaml"]}
            raise StateError("boom")
        (failed,) = store.runs()
    finally:
        store.close()
    assert (failed.run_id, failed.command, failed.outcome) == (run.run_id, "import", "failed")
    assert failed.summary == {"generated": ["a.yaml"]}


def test_the_plan_digest_and_an_explicit_commit_are_recorded(settings: Settings) -> None:
    """Apply records the commit its plan was made at and the plan's digest."""
    store = open_state(settings)
    try:
        with recorded_run(store, settings, "apply", commit="abc123", plan_digest="d1g3st") as run:
            pass
        recorded = store.run(run.run_id)
    finally:
        store.close()
    assert recorded is not None
    assert (recorded.git_commit, recorded.plan_digest, recorded.outcome) == ("abc123", "d1g3st", "ok")


def test_locked_run_holds_the_lock_by_its_name_records_only_when_asked_and_releases_on_error(
    settings: Settings,
) -> None:
    """The sequence refresh, import and `state rm` / `state mv` share: the state locked under the command's lock name
    for the body; a refusal before `recorded()` leaves no run; the lock is released and the state closed however the
    body ends, so the next writer gets it at once."""
    with pytest.raises(StateError, match="refused"), locked_run(settings, "state rm", lock_name="state rm x") as held:
        holder = held.store.current_lock()
        assert holder is not None and holder.operation == "state rm x"
        with pytest.raises(LockError):
            locked_run(settings, "refresh", lock_timeout_s=0).__enter__()
        raise StateError("refused")
    with locked_run(settings, "refresh", lock_timeout_s=0) as locked:
        assert locked.store.runs() == []
        with locked.recorded() as run:
            run.summary = {"changed": 0}
        (recorded,) = locked.store.runs()
    assert (recorded.command, recorded.outcome, recorded.summary) == ("refresh", "ok", {"changed": 0})
