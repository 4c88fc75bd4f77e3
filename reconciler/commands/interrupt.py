"""Ctrl-C during apply: stop cleanly and say exactly where the apply stopped, like any other stopped apply.

The first Ctrl-C halts the applier: no action starts and no further call is sent, while the calls already sent
finish and are recorded (nothing is left unknown). A second Ctrl-C stops at once: the calls still in flight keep
their journal entries (intents), and the next apply settles them before planning anything, by reading them back
(shop) or re-sending them with the same request number (WeChat Pay), as after a crash (decisions D4, D5). Either
way apply returns its account (applied / failed / not started) instead of dying with a bare `Aborted.`.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import FrameType

from reconciler.apply.applier import STATE_ONLY, ActionResult, Applier, ApplyReport
from reconciler.plan.model import Plan

INTERRUPTED = "interrupted (Ctrl-C)"
IN_FLIGHT = "interrupted (second Ctrl-C) with a call in flight: the next apply settles it"

Notice = Callable[[bool], None]  # told of each Ctrl-C: False = the first (halting), True = the second (at once)


@dataclass
class Tracker:
    """Wraps the progress function to keep every result the applier reported, to account for a cancelled run."""

    progress: Callable[[str, ActionResult], None]
    seen: dict[str, ActionResult] = field(default_factory=dict)
    started: set[str] = field(default_factory=set)

    def __call__(self, event: str, result: ActionResult) -> None:
        self.seen[result.address] = result
        if event == "start":
            self.started.add(result.address)
        self.progress(event, result)


@contextlib.contextmanager
def on_sigint(loop: asyncio.AbstractEventLoop, callback: Callable[[], None]) -> Iterator[None]:
    """Run `callback` in the event loop on each SIGINT inside the block (then the previous handler is back).

    Only the main thread can own signal handlers: elsewhere (a library user's thread) Ctrl-C keeps its default."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    pressed = False

    def handler(signum: int, frame: FrameType | None) -> None:
        nonlocal pressed
        pressed = True
        loop.call_soon_threadsafe(callback)  # wakes the loop even while it waits for a slow answer

    signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        # Once Ctrl-C was pressed the apply is stopping: a late press (people press twice) must not cut short the
        # recording of the run, the release of the lock or the account, so further presses are ignored.
        signal.signal(signal.SIGINT, signal.SIG_IGN if pressed else previous)


async def apply_interruptibly(
    applier: Applier, plan: Plan, tracker: Tracker, notice: Notice
) -> tuple[ApplyReport, bool]:
    """The applier's report and whether Ctrl-C was pressed during it."""
    task = asyncio.ensure_future(applier.apply(plan))
    presses = 0

    def pressed() -> None:
        nonlocal presses
        presses += 1
        if presses == 1:
            applier.halt(INTERRUPTED)
            notice(False)
        elif presses == 2:
            task.cancel()
            notice(True)

    with on_sigint(asyncio.get_running_loop(), pressed):
        try:
            return await task, presses > 0
        except asyncio.CancelledError:
            if not task.cancelled() or presses < 2:
                raise  # cancelled from outside, not by our second Ctrl-C
    return account_after_cancel(plan, tracker, applier.calls_made), True


def account_after_cancel(plan: Plan, tracker: Tracker, calls: int) -> ApplyReport:
    """The report of an apply stopped at once: what the progress events said, the rest not started."""
    results = []
    for action in plan.actions:
        result = tracker.seen.get(action.address) or ActionResult(
            action.address, action.type.value, "not_started", 0, len(action.calls)
        )
        if result.status == "not_started" and action.address in tracker.started:
            result.status = "partial" if result.calls_made else "failed"
            result.error = IN_FLIGHT
        elif not action.calls and action.type not in STATE_ONLY and result.status == "not_started":
            result.status = "applied"  # deferred / not applied: nothing to call, nothing left undone
        results.append(result)
    return ApplyReport(results=results, calls=calls, stopped_by=IN_FLIGHT)
