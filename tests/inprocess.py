"""Run couponctl in the test process, as the console script would run it, without spawning an interpreter.

    result = couponctl("validate", ".", cwd=case_dir)
    assert (result.returncode, result.stderr) == (1, "...")

`couponctl(...)` calls the real entry point, `reconciler.cli.main`, so the error handling, messages and exit codes
are exactly those of the installed command; click's `CliRunner.isolation` swaps stdin/stdout/stderr and the
environment for the call. A Python interpreter start costs ~0.3 s (more under load), which is most of what a
one-command CLI test takes; a few tests still run the real `couponctl` executable (tests/test_cli_basics.py, the
README tour, the e2e suite) so the entry point itself stays covered.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

from reconciler.cli import main


@dataclass(frozen=True)
class Result:
    """What a finished command left: the fields of `subprocess.CompletedProcess` the tests read."""

    returncode: int
    stdout: str
    stderr: str


@contextlib.contextmanager
def _console_logging() -> Iterator[None]:
    """Logging as in a fresh couponctl process: the CLI configures no handler, so a warning (e.g. the store's
    lock-takeover note) reaches stderr through `logging.lastResort`. Under pytest the root logger holds pytest's
    capture handlers, which would swallow it: they are set aside for the call."""
    root = logging.getLogger()
    saved = root.handlers[:]
    root.handlers.clear()
    try:
        yield
    finally:
        root.handlers[:] = saved


@contextlib.contextmanager
def _cwd(path: Path | None) -> Iterator[None]:
    if path is None:
        yield
        return
    before = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def couponctl(
    *args: str,
    cwd: Path | None = None,
    env: Mapping[str, str | None] | None = None,
    input: str | None = None,
) -> Result:
    """Run `couponctl ARGS...` in-process in `cwd`, with `env` overriding the environment (None unsets a
    variable) and NO_COLOR set; the captured output is decoded as the console would show it."""
    runner = CliRunner()
    overrides: dict[str, str | None] = {"NO_COLOR": "1", **(env or {})}
    with runner.isolation(input=input, env=overrides) as (out, err, _mixed), _cwd(cwd), _console_logging():
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        finally:
            # The swapped streams buffer text: push it into the byte buffers before reading them.
            sys.stdout.flush()
            sys.stderr.flush()
        return Result(code, out.getvalue().decode("utf-8"), err.getvalue().decode("utf-8"))
