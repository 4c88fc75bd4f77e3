"""Issue 14 item 11: Ctrl-C during `couponctl apply` (a real SIGINT to the real CLI, against a slowed served sandbox).

One Ctrl-C: no new call starts, the calls already sent finish and are recorded, the account of applied / not
started is printed, exit 130, history says "interrupted", the lock is released. Two: stop at once; the call in
flight stays journalled and the next apply settles it. Either way the next apply ends with exactly the declared
coupons upstream: not one duplicate.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable

from tests.e2e.conftest import Project

MUTATING = ("shop.add", "shop.update", "shop.update_status", "product.create", "product.patch", "product.deactivate")


def slow(project: Project, seconds: float) -> None:
    """Every mutating call waits `seconds` in the sandbox before it is handled (below the CLI's 2 s timeout)."""
    project.sandbox.set_faults([{"operation": op, "kind": "latency", "value": seconds} for op in MUTATING])


def interrupted_apply(project: Project, presses: int, delay: float = 0.0) -> tuple[int, str, str]:
    """Run `apply` as a subprocess; `delay` s after the first change is complete, send SIGINT `presses` times."""
    process = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "--no-color", "apply", "--auto-approve", "--parallelism", "1"],
        cwd=project.root,
        env=project.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stderr is not None
    err_lines: list[str] = []
    first_done = threading.Event()

    def read_stderr() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            err_lines.append(line)
            if " complete (" in line:
                first_done.set()

    reader = threading.Thread(target=read_stderr, daemon=True)
    reader.start()
    assert first_done.wait(120), "no change completed: " + "".join(err_lines)
    time.sleep(delay)
    for _ in range(presses):
        process.send_signal(signal.SIGINT)
        time.sleep(0.3)
    out = process.stdout.read()
    code = process.wait(timeout=120)
    reader.join(10)
    process.stdout.close()
    process.stderr.close()
    return code, out, "".join(err_lines)


def declared_exactly(project: Project) -> None:
    """Upstream holds exactly the coupons state manages, each once, and the plan is a no-op."""
    listed = project.addresses()
    shop = project.shop_coupons()
    products = project.sandbox.state()["product_coupons"]
    assert len({c["out_coupon_id"] for c in shop}) == len(shop) == sum(a.startswith("shop_coupon.") for a in listed)
    assert len(products) == sum(a.startswith("product_coupon.") for a in listed)
    creates = [c["out_request_no"] for c in project.sandbox.calls() if c["operation"] == "product.create"]
    assert len(products) == len(set(creates))  # re-sent creates (settling) reused their request number
    plan = project.run("plan", "--detailed-exitcode")
    assert plan.returncode == 0, plan.stdout + plan.stderr


def history_outcomes(project: Project) -> list[str]:
    runs = json.loads(project.run("history", "--format", "json", check=True).stdout)
    return [r["outcome"] for r in runs]


def finish(project: Project, check: Callable[[str], None] | None = None) -> None:
    project.sandbox.set_faults([])
    again = project.run("apply", "--auto-approve")  # would fail with "state is locked" if the lock were kept
    assert again.returncode == 0, again.stdout + again.stderr
    if check is not None:
        check(again.stdout + again.stderr)
    declared_exactly(project)


def test_one_ctrl_c_prints_the_account_exits_130_and_the_next_apply_finishes(project: Project) -> None:
    slow(project, 0.6)
    code, out, err = interrupted_apply(project, presses=1)
    assert code == 130, out + err
    assert "Ctrl-C: starting no new call" in err
    assert "Apply interrupted part-way" in out
    assert "Applied (" in out and "Not started (" in out
    assert "The next `couponctl apply` plans again" in out
    assert "Error: apply stopped: interrupted (Ctrl-C)" in err
    assert "Aborted." not in err
    assert history_outcomes(project)[0] == "interrupted"
    assert project.run("state", "list").returncode == 0
    finish(project)


def test_second_ctrl_c_stops_at_once_and_the_next_apply_settles_the_call_in_flight(project: Project) -> None:
    slow(project, 1.5)
    code, out, err = interrupted_apply(project, presses=2, delay=0.6)  # the next call is in flight for 1.5 s
    assert code == 130, (code, out[-1500:], err)
    assert "Second Ctrl-C: stopping now" in err
    assert "Apply interrupted part-way" in out
    assert "Next apply settles first (1 call(s) sent, outcome unknown)" in out
    assert history_outcomes(project)[0] == "interrupted"
    finish(project, settled)


def settled(text: str) -> None:
    assert "Settled interrupted call" in text, text


def test_ctrl_c_pressed_twice_after_the_halt_still_prints_the_account(project: Project) -> None:
    """A second press that comes after the apply already stopped (nothing was in flight) is ignored: the account
    is printed whole, exit 130, and the next apply finishes."""
    slow(project, 0.6)
    code, out, err = interrupted_apply(project, presses=2)
    assert code == 130, (code, out[-1500:], err)
    assert "Apply interrupted part-way" in out and "Aborted." not in err
    finish(project)
