"""Concurrency (contract §2.5 "every command that writes state takes the lock and fails fast with who holds it";
§4 "two concurrent applies: one waits or fails fast, nothing corrupts"): two `couponctl apply` processes on one
state, on SQLite and on PostgreSQL. Exactly one proceeds; the other fails fast naming the holder, or waits with
`--lock-timeout` and then finds nothing to do. The state's serial counts exactly the writes of one apply, and state
equals upstream.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections import Counter
from pathlib import Path

from reconciler.store import open_store
from tests.reliability.conftest import StateBackend
from tests.reliability.harness import MUTATING, Project, assert_converged, calls_to_create, campaign, write_project
from tests.sandbox_server import ServedSandbox

SLOW = [{"operation": op, "kind": "latency", "value": 0.5} for op in MUTATING]  # keeps the first apply busy


def fresh_serial(tmp_path: Path) -> int:
    store = open_store(f"sqlite:///{tmp_path / 'fresh' / 'state.db'}")
    try:
        return store.serial
    finally:
        store.close()


def serial_of(project: Project) -> int:
    store = open_store(project.state_url)
    try:
        return store.serial
    finally:
        store.close()


def wait_for_first_call(sandbox: ServedSandbox, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while not any(c["operation"] in MUTATING for c in sandbox.calls()):
        assert process.poll() is None and time.monotonic() < deadline, "the first apply never started calling"
        time.sleep(0.02)


def test_second_apply_fails_fast_naming_the_holder(
    tmp_path: Path, module_sandbox: ServedSandbox, backend: StateBackend, figures: Counter[str]
) -> None:
    """While one apply runs, a second (no --lock-timeout) exits 1 at once with the holder's lock id, pid and
    operation, and makes no call; the first finishes; serial = the first apply's writes; state = upstream."""
    tag = f"cf{backend.name[:2]}"
    project = write_project(tmp_path / tag, module_sandbox, state_url=backend.new_url(tmp_path / tag))
    c = campaign(tag, module_sandbox.credentials.appid)
    project.write_docs(c.docs)
    module_sandbox.clear_calls()
    module_sandbox.set_faults(SLOW)
    try:
        first = project.popen("apply", "--auto-approve", "--parallelism", "1")
        wait_for_first_call(module_sandbox, first)
        started = time.monotonic()
        second = project.run("apply", "--auto-approve")
        waited = time.monotonic() - started
        assert first.poll() is None, "the first apply must still hold the lock"
        out, err = first.communicate(timeout=120)
    finally:
        module_sandbox.set_faults([])
    assert first.returncode == 0, out + err
    assert second.returncode == 1, second.stdout + second.stderr
    assert "locked" in second.stderr and f"pid {first.pid}" in second.stderr and "'apply'" in second.stderr
    assert re.search(r"lock \S+ held by", second.stderr), second.stderr
    assert "Traceback" not in second.stderr
    assert waited < 15, f"failing fast took {waited:.1f}s"
    mutating = [x for x in module_sandbox.calls() if x["operation"] in MUTATING]
    assert len(mutating) == calls_to_create(c), "the refused apply must not have called upstream"
    assert serial_of(project) == fresh_serial(tmp_path) + calls_to_create(c)
    assert_converged(project, c, calls_since=module_sandbox.calls())
    figures[f"concurrency.{backend.name}.fail_fast"] += 1


def test_second_apply_with_lock_timeout_waits_then_has_nothing_to_do(
    tmp_path: Path, module_sandbox: ServedSandbox, backend: StateBackend, figures: Counter[str]
) -> None:
    """With --lock-timeout, the second apply waits for the first, then plans against the state it left:
    "No changes", no call, the serial untouched."""
    tag = f"cw{backend.name[:2]}"
    project = write_project(tmp_path / tag, module_sandbox, state_url=backend.new_url(tmp_path / tag))
    c = campaign(tag, module_sandbox.credentials.appid)
    project.write_docs(c.docs)
    module_sandbox.clear_calls()
    module_sandbox.set_faults(SLOW)
    try:
        first = project.popen("apply", "--auto-approve", "--parallelism", "1")
        wait_for_first_call(module_sandbox, first)
        second = project.run("apply", "--auto-approve", "--lock-timeout", "120")
        out, err = first.communicate(timeout=120)
    finally:
        module_sandbox.set_faults([])
    assert first.returncode == 0, out + err
    assert second.returncode == 0, second.stdout + second.stderr
    assert "No changes." in second.stdout
    mutating = [x for x in module_sandbox.calls() if x["operation"] in MUTATING]
    assert len(mutating) == calls_to_create(c)
    assert serial_of(project) == fresh_serial(tmp_path) + calls_to_create(c)
    assert_converged(project, c, calls_since=module_sandbox.calls())
    figures[f"concurrency.{backend.name}.waited"] += 1


def test_two_applies_started_together_exactly_one_proceeds(
    tmp_path: Path, module_sandbox: ServedSandbox, backend: StateBackend, figures: Counter[str]
) -> None:
    """Two applies launched at the same instant race for the lock: exactly one applies, the other is refused
    as locked; no coupon is created twice."""
    tag = f"cr{backend.name[:2]}"
    project = write_project(tmp_path / tag, module_sandbox, state_url=backend.new_url(tmp_path / tag))
    c = campaign(tag, module_sandbox.credentials.appid)
    project.write_docs(c.docs)
    project.ok("validate")  # creates nothing; warms the bytecode cache so both start equally fast
    module_sandbox.clear_calls()
    module_sandbox.set_faults(SLOW)
    try:
        both = [project.popen("apply", "--auto-approve", "--parallelism", "1") for _ in range(2)]
        results = [(p, *p.communicate(timeout=180)) for p in both]
    finally:
        module_sandbox.set_faults([])
    codes = sorted(p.returncode for p, _out, _err in results)
    assert codes == [0, 1], [(p.returncode, out[-300:], err[-500:]) for p, out, err in results]
    loser = next(err for p, _out, err in results if p.returncode == 1)
    assert "locked" in loser and "Traceback" not in loser
    mutating = [x for x in module_sandbox.calls() if x["operation"] in MUTATING]
    assert len(mutating) == calls_to_create(c)
    assert serial_of(project) == fresh_serial(tmp_path) + calls_to_create(c)
    assert_converged(project, c, calls_since=module_sandbox.calls())
    figures[f"concurrency.{backend.name}.raced"] += 1
