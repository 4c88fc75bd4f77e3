"""Apply progress: a progress bar on a TTY (rich), one plain line per finished change otherwise (CI logs)."""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Any

import click

from reconciler.commands.apply import ActionResult


class ApplyProgress:
    """Callable the applier calls with ("start" | "applied" | "failed", result)."""

    def __init__(self, total: int, *, tty: bool | None = None) -> None:
        self.total = total
        self.tty = sys.stderr.isatty() if tty is None else tty
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> ApplyProgress:
        if self.tty and self.total > 1:
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
        else:
            click.echo(line, err=True)
