"""Progress of the commands that wait on upstream, told to whoever shows it through one callback.

Commands never print: they call `ProgressSink` with a `ProgressEvent` (the CLI renders it: a bar on a TTY, plain
periodic lines otherwise, nothing with `--quiet`; `reconciler/cli/progress.py`). The ETA comes from the rate limits
(reference B.12 / A.10): the calls still to make, each spaced by its operation's pacing interval, which is what the
run's `Pacer` enforces.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from reconciler.providers.pacing import Pacer, RetryNotice

EventKind = Literal["start", "advance", "retry", "note", "done"]


@dataclass(frozen=True, slots=True)
class ProgressEvent:
    """One thing to show: a phase started (with its total), calls done, a retry, a note (what was skipped), done."""

    kind: EventKind
    phase: str
    done: int = 0
    total: int = 0
    eta_s: float = 0.0  # seconds the remaining calls take at the rate limits
    message: str = ""
    retries: int = 0


ProgressSink = Callable[[ProgressEvent], None]


class CallProgress:
    """Counts one phase's calls against its total and tells the sink; wires the pacer's retries to it too."""

    def __init__(self, sink: ProgressSink | None, phase: str, calls: Mapping[str, int], pacer: Pacer) -> None:
        self.sink = sink
        self.phase = phase
        self.total = sum(calls.values())
        self.done = 0
        self.retries = 0
        self._left = dict(calls)
        self._planned = dict(calls)
        self._interval = {op: pacer.limiter.interval(op) for op in calls}
        if sink is not None:
            pacer.on_notice = self._retried

    def eta(self) -> float:
        return sum(max(0, n) * self._interval.get(op, 0.0) for op, n in self._left.items())

    def _emit(self, kind: EventKind, message: str = "") -> None:
        if self.sink is not None:
            event = ProgressEvent(kind, self.phase, self.done, self.total, self.eta(), message, self.retries)
            self.sink(event)

    def start(self) -> None:
        self._emit("start")

    def note(self, message: str) -> None:
        self._emit("note", message)

    def called(self, operation: str) -> None:
        """One call of `operation` finished (retries included)."""
        self.done += 1
        self._left[operation] = self._left.get(operation, 0) - 1
        self.total = max(self.total, self.done)  # more calls than state predicted (unmanaged coupons, new stocks)
        self._emit("advance")

    def total_of(self, operation: str) -> int:
        """The calls of `operation` this phase expects in all."""
        return self._planned.get(operation, 0)

    def grow(self, operation: str, more: int) -> None:
        """The total was an estimate: `more` calls of `operation` (may be negative) are now known to come."""
        more = max(more, self.done - self.total)  # never below what is already done
        self.total += more
        self._planned[operation] = self._planned.get(operation, 0) + more
        self._left[operation] = self._left.get(operation, 0) + more

    def _retried(self, notice: RetryNotice) -> None:
        self.retries += 1
        self._emit("retry", notice.describe())

    def finish(self) -> None:
        """The phase ended: the total becomes the calls made (fewer than counted when, say, a coupon was gone)."""
        self.total = self.done
        self._left = dict.fromkeys(self._left, 0)
        self._emit("done")
