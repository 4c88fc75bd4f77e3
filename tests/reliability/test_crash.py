"""Crash safety (contract §2.4 "a crash at any point loses nothing and duplicates nothing", §4 "kill -9 at random
points of an apply"): SIGKILL the applying process at seeded random points, apply again, and check that nothing is
duplicated upstream, every landed change is recorded, state equals upstream and the journal is empty.

Half of the kills use crash points (tests/support/crashing_cli.py: the CLI with a state store that SIGKILLs the
process at the n-th journal event) to land exactly after the intent is committed, between a call's answer and the
commit of its result, or right after the commit; the other half are timer kills, sent once the sandbox has seen a
random number of mutating calls plus a random few milliseconds, so they also land inside HTTP exchanges and SQL
transactions. One trial in ten also kills the apply that settles the first kill's leftovers; one in three is killed
while the sandbox answers 10% of calls with a 500 and drops 10% after committing them (so kills also land during
retries and after a lost answer).
"""

from __future__ import annotations

import contextlib
import random
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.reliability.conftest import StateBackend
from tests.reliability.harness import (
    MUTATING,
    Campaign,
    assert_converged,
    calls_to_create,
    campaign,
    changed,
    write_project,
)
from tests.sandbox_server import ServedSandbox, served_sandbox

TRIALS_PER_BACKEND = 20
WORKERS = 2  # trials run two at a time (2 cores), each worker with its own served sandbox
HOOK_EVENTS = ("after_intent", "after_call", "after_commit")


@dataclass
class TrialOutcome:
    seed: int
    how: str  # "after_call:3", "timer:5+12ms", ...
    killed: bool
    duplicates: int
    lost_records: int


@pytest.fixture(scope="module")
def sandboxes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[ServedSandbox]]:
    with contextlib.ExitStack() as stack:
        yield [stack.enter_context(served_sandbox(tmp_path_factory.mktemp(f"sbx{i}"))) for i in range(WORKERS)]


def mutating_count(sandbox: ServedSandbox) -> int:
    return sum(1 for c in sandbox.calls() if c["operation"] in MUTATING)


def kill_after_calls(process: subprocess.Popen[str], sandbox: ServedSandbox, calls: int, jitter_s: float) -> bool:
    """SIGKILL `process` once the sandbox has seen `calls` mutating calls (plus `jitter_s`); False if it ended first."""
    deadline = time.monotonic() + 120
    while process.poll() is None and mutating_count(sandbox) < calls and time.monotonic() < deadline:
        time.sleep(0.005)
    time.sleep(jitter_s)
    if process.poll() is None:
        process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)  # reap it and close its pipes either way
    return process.returncode == -signal.SIGKILL


def run_trial(seed: int, root: Path, sandbox: ServedSandbox, state_url: str) -> TrialOutcome:
    """One seeded trial: (maybe apply a first revision,) kill an apply, apply again, check convergence."""
    rng = random.Random(seed)
    tag = f"k{seed:05d}"
    project = write_project(root / tag, sandbox, state_url=state_url)
    first = campaign(tag, sandbox.credentials.appid)
    target: Campaign = first
    calls = calls_to_create(first)
    if rng.random() < 0.4:  # crash during a second revision: updates, replacement, destroys, voids
        project.write_docs(first.docs)
        project.ok("apply", "--auto-approve")
        target, calls = changed(first)
    project.write_docs(target.docs)
    sandbox.clear_calls()
    parallelism = str(rng.choice([1, 4, 8]))
    # One trial in three is killed while retrying: 10% of calls answer 500, 10% commit then drop the connection.
    faulty = seed % 3 == 2
    if faulty:
        sandbox.set_faults(
            [
                {"operation": family, "kind": kind, **extra, "rate": 0.1, "seed": seed * 10 + i}
                for i, (family, kind, extra) in enumerate(
                    (family, kind, extra)
                    for family in ("shop.*", "product.*")
                    for kind, extra in (("http_status", {"value": 500}), ("drop_after_commit", {}))
                )
            ]
        )
    if seed % 2 == 0:  # even seeds: a crash point, the three events in turn; odd seeds: a timer kill
        event = HOOK_EVENTS[(seed // 2) % len(HOOK_EVENTS)]
        nth = rng.randint(1, calls)
        how = f"{event}:{nth}"
        result = project.run("apply", "--auto-approve", "--parallelism", parallelism, crash_at=how)
        killed = result.returncode == -signal.SIGKILL
        assert killed, f"crash point {how} not reached: exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    else:
        after = rng.randint(0, calls - 1)
        # Before the first call: anywhere in start-up, state creation and migration, locking, refresh, planning.
        jitter = rng.uniform(0, 0.05) if after else rng.uniform(0.2, 1.5)
        how = f"timer:{after}+{jitter * 1000:.0f}ms"
        process = project.popen("apply", "--auto-approve", "--parallelism", parallelism)
        killed = kill_after_calls(process, sandbox, after, jitter)
    if faulty:
        sandbox.set_faults([])
        how += "+faults"
    if seed % 10 == 3:  # the settling apply is killed too (timer), before the final apply
        process = project.popen("apply", "--auto-approve")
        killed_again = kill_after_calls(process, sandbox, mutating_count(sandbox) + 1, rng.uniform(0, 0.05))
        how += "+resettle" if killed_again else ""
    again = project.run("apply", "--auto-approve")
    assert again.returncode == 0, f"[seed {seed} {how}] apply after the kill exited {again.returncode}:\n{again.stderr}"
    calls_seen = sandbox.calls()
    try:
        findings = assert_converged(project, target, calls_since=calls_seen)
    except AssertionError as exc:
        raise AssertionError(f"[seed {seed} {how}] {exc}") from None
    return TrialOutcome(seed, how, killed, findings.duplicates, findings.lost_records)


def test_kill_9_at_random_points_then_apply_again_converges(
    tmp_path: Path, sandboxes: list[ServedSandbox], backend: StateBackend, soak: int, figures: Counter[str]
) -> None:
    """≥20 seeded SIGKILLs per backend (crash points and timer kills), each followed by an apply: exit 0, no
    duplicate coupon, every landed call recorded, state = declared = upstream, empty journal, no-op plan."""
    trials = TRIALS_PER_BACKEND * soak
    base_seed = 1000 if backend.name == "sqlite" else 2000

    failed = threading.Event()

    def worker(index: int) -> list[TrialOutcome]:
        out = []
        for seed in range(base_seed + index, base_seed + trials, WORKERS):
            if failed.is_set():
                break
            root = tmp_path / f"w{index}"
            try:
                out.append(run_trial(seed, root, sandboxes[index], backend.new_url(root / f"s{seed}")))
            except BaseException:
                failed.set()  # stop the other worker too: one failing seed is the report
                raise
        return out

    with ThreadPoolExecutor(WORKERS) as pool:
        outcomes = [o for chunk in pool.map(worker, range(WORKERS)) for o in chunk]
    assert len(outcomes) == trials
    killed = [o for o in outcomes if o.killed]
    figures[f"crash.{backend.name}.trials"] += len(outcomes)
    figures[f"crash.{backend.name}.killed"] += len(killed)
    for o in killed:
        figures[f"crash.{backend.name}.kills.{o.how.split(':')[0]}"] += 1
    figures[f"crash.{backend.name}.kills.while_faulted"] += sum(1 for o in killed if "+faults" in o.how)
    figures[f"crash.{backend.name}.kills.during_settle"] += sum(1 for o in killed if o.how.endswith("+resettle"))
    figures[f"crash.{backend.name}.duplicates"] += sum(o.duplicates for o in outcomes)
    figures[f"crash.{backend.name}.lost_records"] += sum(o.lost_records for o in outcomes)
    # Most trials must actually have killed an apply mid-way (a timer kill can miss a fast apply).
    assert len(killed) >= trials * 3 // 4, [o.how for o in outcomes if not o.killed]
    assert {o.how.split(":")[0] for o in killed} >= {*HOOK_EVENTS, "timer"}
