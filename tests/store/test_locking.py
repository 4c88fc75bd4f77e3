"""The state lock between real processes: fail fast naming the holder, wait with a timeout, survive SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from reconciler.errors import LockError, StateError
from reconciler.store import SqlStateStore, open_store
from reconciler.store import tables as t

HELPER = Path(__file__).with_name("hold_lock.py")


class Holder:
    """A separate process holding the state lock."""

    def __init__(self, url: str, operation: str, seconds: float = 0) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(HELPER), url, operation, str(seconds)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise AssertionError(f"lock holder did not start: {self.proc.communicate()[1]}")
        self.info = json.loads(line)

    def kill(self) -> None:
        """SIGKILL, and reap it (a zombie's pid still answers os.kill(pid, 0))."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def finish(self) -> None:
        if self.proc.poll() is None:
            self.kill()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture
def holders() -> Iterator[list[Holder]]:
    started: list[Holder] = []
    yield started
    for h in started:
        h.finish()


def test_a_second_writer_fails_fast_naming_the_holder(
    store: SqlStateStore, store_url: str, holders: list[Holder]
) -> None:
    """While another process holds the lock, lock() fails at once with holder, host, pid, operation, age and id."""
    holder = Holder(store_url, "apply")
    holders.append(holder)
    started = time.monotonic()
    with pytest.raises(LockError) as err, store.lock("state rm shop_coupon.a"):
        pass
    assert time.monotonic() - started < 1.0
    message = str(err.value)
    assert err.value.info.pid == holder.proc.pid
    for part in (holder.info["holder"], socket.gethostname(), f"pid {holder.proc.pid}", "'apply'", "held for"):
        assert part in message
    assert f"couponctl state unlock {holder.info['lock_id']}" in message
    assert store.current_lock() == err.value.info


def test_lock_timeout_waits_for_the_holder_to_finish(
    store: SqlStateStore, store_url: str, holders: list[Holder]
) -> None:
    """With a timeout, lock() waits until the holder releases the lock, then takes it."""
    holder = Holder(store_url, "apply", seconds=1.0)
    holders.append(holder)
    with store.lock("refresh", timeout=20) as info:
        assert store.current_lock() == info
        # The holder's own word that it let go (not a measured wait, which load on the machine could shorten).
        assert holder.proc.stdout is not None
        assert holder.proc.stdout.readline().strip() == "released"
    assert store.current_lock() is None


def test_lock_timeout_gives_up_with_the_holder_named(
    store: SqlStateStore, store_url: str, holders: list[Holder]
) -> None:
    """A timeout shorter than the holder's run ends in LockError after waiting about that long."""
    holders.append(Holder(store_url, "apply"))
    started = time.monotonic()
    with pytest.raises(LockError, match="'apply'"), store.lock("refresh", timeout=0.5):
        pass
    assert 0.4 < time.monotonic() - started < 5


def test_sigkill_of_the_holder_frees_the_lock(store: SqlStateStore, store_url: str, holders: list[Holder]) -> None:
    """After the holder is SIGKILLed, the next run gets the lock at once (PostgreSQL: the server drops the session's
    advisory lock; SQLite: the row's pid is dead on this host, so it is stale and taken over)."""
    holder = Holder(store_url, "apply")
    holders.append(holder)
    holder.kill()
    with store.lock("apply") as info:
        assert store.current_lock() == info
        assert info.pid == os.getpid()
    assert store.current_lock() is None


def test_lock_is_released_when_the_block_raises(store: SqlStateStore) -> None:
    """An exception inside the block still releases the lock."""
    with pytest.raises(RuntimeError), store.lock("apply"):
        raise RuntimeError("boom")
    assert store.current_lock() is None
    with store.lock("apply"):
        pass


def test_unlock_refuses_an_unknown_lock_id(store: SqlStateStore, store_url: str, holders: list[Holder]) -> None:
    """force_unlock with an id that is not the current lock is refused, naming the current one."""
    with pytest.raises(StateError, match="not locked"):
        store.force_unlock("deadbeef0000")
    holders.append(Holder(store_url, "apply"))
    with pytest.raises(StateError, match=r"not the current lock.*'apply'"):
        store.force_unlock("deadbeef0000")


def test_unlock_refuses_a_holder_that_is_alive(store: SqlStateStore, store_url: str, holders: list[Holder]) -> None:
    """A lock whose holder is provably running cannot be force-unlocked."""
    holder = Holder(store_url, "apply")
    holders.append(holder)
    expected = "live PostgreSQL session" if store.backend == "postgresql" else "still running"
    with pytest.raises(StateError, match=expected):
        store.force_unlock(holder.info["lock_id"])
    assert store.current_lock() is not None


def test_unlock_releases_a_lock_whose_holder_is_gone(
    store: SqlStateStore, store_url: str, holders: list[Holder]
) -> None:
    """After the holder died, unlock clears what it left behind and the next run locks normally."""
    holder = Holder(store_url, "apply")
    holders.append(holder)
    holder.kill()
    store.force_unlock(holder.info["lock_id"])
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(t.lock.c.lock_id)).first() is None
    with store.lock("apply"):
        pass


def test_sqlite_lock_from_another_host_needs_an_explicit_unlock(tmp_path: Path) -> None:
    """SQLite cannot probe a pid on another host: it refuses, says so, and unlock then clears it."""
    store = open_store(f"sqlite:///{tmp_path}/c.db")
    try:
        with store.engine.begin() as conn:
            conn.execute(
                sa.insert(t.lock).values(
                    id=1,
                    lock_id="abc123def456",
                    holder="ci",
                    host="runner-7.example",
                    pid=4242,
                    operation="apply",
                    acquired_at="2026-11-23T09:00:00.000000Z",
                )
            )
        with pytest.raises(LockError) as err, store.lock("apply"):
            pass
        message = str(err.value)
        assert "runner-7.example" in message and "cannot tell whether pid 4242" in message
        assert "couponctl state unlock abc123def456" in message
        store.force_unlock("abc123def456")
        with store.lock("apply"):
            pass
    finally:
        store.close()


def test_concurrent_writers_lose_nothing(store_url: str) -> None:
    """Two processes creating the same new state and writing through the journal at the same time: one lineage,
    every write lands, and the serial counts each."""
    helper = Path(__file__).with_name("write_many.py")
    n = 60
    procs = [
        subprocess.Popen(
            [sys.executable, str(helper), store_url, name, str(n)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("left", "right")
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in outputs]
    store = open_store(store_url, create=False)
    try:
        assert {out.strip() for out, _ in outputs} == {store.lineage}
        assert len(store.resources()) == 2 * n
        assert store.serial == 2 * n
        assert store.open_intents() == []
        assert [r.outcome for r in store.runs()] == ["ok", "ok"]
    finally:
        store.close()


def test_a_long_operation_name_still_locks(store: SqlStateStore) -> None:
    """A long operation (state mv of two long addresses) is shortened to fit, not refused by PostgreSQL."""
    with store.lock("state mv " + "shop_coupon." + "x" * 150 + " shop_coupon." + "y" * 150) as info:
        assert store.current_lock() == info
        assert info.operation.startswith("state mv shop_coupon.xxx")


def test_a_writer_killed_mid_run_leaves_consistent_state(store: SqlStateStore, store_url: str) -> None:
    """SIGKILL during a stream of close_intent transactions loses nothing committed and keeps no half of one:
    every stored resource has its call and its serial step, and at most the one in-flight intent stays open."""
    helper = Path(__file__).with_name("write_many.py")
    proc = subprocess.Popen([sys.executable, str(helper), store_url, "killed", "100000"], stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while store.serial < 25 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert proc.stderr is not None
        proc.stderr.close()
    resources = store.resources()
    (run,) = store.runs()
    calls = store.calls(run.run_id)
    assert len(resources) >= 25
    assert store.serial == len(resources) == len(calls)
    assert {c.address for c in calls} == set(resources)
    open_intents = store.open_intents()
    assert len(open_intents) <= 1
    assert all(i.address not in resources for i in open_intents)
    assert run.outcome is None  # the run never ended: history shows it unfinished
