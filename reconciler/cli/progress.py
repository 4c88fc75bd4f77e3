"""Progress on stderr: apply's changes (a bar on a TTY, a line per finished change otherwise) and the upstream
reads of plan, drift and refresh (`ReadProgressView`: a bar on a TTY, plain periodic lines otherwise, retries
always shown; nothing with `--quiet`). stdout stays clean for JSON."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:  # at run time only the CLI's apply imports the applier's types (start-up stays light, D1)
    from reconciler.commands.apply import ActionResult
    from reconciler.commands.progress import ProgressEvent


class ApplyProgress:
    """Callable the applier calls with ("start" | "applied" | "failed", result)."""

    def __init__(self, total: int, *, tty: bool | None = None, quiet: bool = False) -> None:
        self.total = total
        self.quiet = quiet  # --quiet: no line per change (the final report still names every failure)
        self.tty = sys.stderr.isatty() if tty is None else tty
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> ApplyProgress:
        if self.tty and self.total > 1 and not self.quiet:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self._progress = Progress(
                TextColumn("applying"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                TextColumn("{task.description}"),
                console=Console(stderr=True),
                transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task("", total=self.total)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._progress is not None:
            self._progress.stop()

    def __call__(self, event: str, result: ActionResult) -> None:
        if event == "start":
            if self._progress is not None:
                self._progress.update(self._task, description=result.address)
            return
        line = (
            f"{result.address}: {result.type} complete ({result.calls_made} call(s))"
            if event == "applied"
            else f"{result.address}: {result.type} FAILED after {result.calls_made + result.calls_failed} call(s) "
            f"({result.calls_made} landed)"
        )
        if self._progress is not None:
            self._progress.advance(self._task)
            if event == "failed":
                self._progress.console.print(line)
        elif not self.quiet:
            click.echo(line, err=True)


QUIET_HELP = "No progress or notes on stderr (errors are still printed): for scripts."
EVERY_S = 10.0  # a plain progress line at least this often (seconds) when stderr is not a TTY
EVERY_PERCENT = 10  # and each time another 10 % of the calls is done


def quiet_option(fn: Any) -> Any:
    """`--quiet` for every command that waits on upstream."""
    return click.option("--quiet", "-q", is_flag=True, help=QUIET_HELP)(fn)


def _eta(seconds: float) -> str:
    seconds = max(0, round(seconds))
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


class ReadProgressView:
    """Renders the commands' ProgressEvents on stderr: a rich bar on a TTY, otherwise a plain line at the start,
    every EVERY_S seconds or EVERY_PERCENT of the calls, and at the end; retries and notes always on their own line.
    Nothing at all when `quiet`. `clock` is injectable so tests need no timing luck."""

    def __init__(
        self,
        *,
        quiet: bool = False,
        notes: bool = True,
        tty: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.quiet = quiet
        self.notes = notes  # False when the command's own output already says what was skipped (drift)
        self.tty = sys.stderr.isatty() if tty is None else tty
        self._clock = clock
        self._last_line = 0.0
        self._last_step = 0
        self._progress: Any = None
        self._task: Any = None

    def __call__(self, event: ProgressEvent) -> None:
        if self.quiet or (event.kind == "note" and not self.notes):
            return
        if event.kind in ("retry", "note"):
            self._print(event.message)
        elif self.tty:
            self._bar(event)
        else:
            self._plain(event)

    def _print(self, line: str) -> None:
        if self._progress is not None:
            self._progress.console.print(line, markup=False, highlight=False)
        else:
            click.echo(line, err=True)

    def _line(self, event: ProgressEvent) -> str:
        retries = f", {event.retries} retried" if event.retries else ""
        eta = f", about {_eta(event.eta_s)} left at the rate limits" if event.done < event.total else ""
        return f"{event.phase}: {event.done:,}/{event.total:,} calls{retries}{eta}"

    def _plain(self, event: ProgressEvent) -> None:
        now = self._clock()
        if event.kind == "start":
            if event.total:
                self._print(self._line(event))
            self._last_line, self._last_step = now, 0
            return
        if event.kind == "done":
            if event.total and self._last_step < 100:
                self._print(self._line(event))
            return
        step = event.done * 100 // EVERY_PERCENT // max(1, event.total) * EVERY_PERCENT
        if step > self._last_step or now - self._last_line >= EVERY_S:
            self._print(self._line(event))
            self._last_line, self._last_step = now, max(step, self._last_step)

    def _bar(self, event: ProgressEvent) -> None:
        if event.kind == "start" and event.total and self._progress is None:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            self._progress = Progress(  # the time left is ours (the rate limits), not rich's guess from the speed
                TextColumn(event.phase),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.description}"),
                console=Console(stderr=True),
                transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task("", total=event.total)
        if self._progress is None:
            return
        left = f"about {_eta(event.eta_s)} left" if event.done < event.total else ""
        retries = f"{event.retries} retried" if event.retries else ""
        description = ", ".join(part for part in (left, retries) if part)
        self._progress.update(self._task, completed=event.done, total=event.total, description=description)
        if event.kind == "done":
            self._progress.stop()
            self._progress = None
