"""Apply progress: plain lines when not on a TTY (CI logs), a bar that prints failures on a TTY."""

from __future__ import annotations

import pytest

from reconciler.cli.progress import ApplyProgress
from reconciler.commands.apply import ActionResult


def test_plain_lines_without_a_tty(capsys: pytest.CaptureFixture[str]) -> None:
    """Off a TTY, each finished change is one line on stderr; starts print nothing."""
    ok = ActionResult("shop_coupon.a", "create", "applied", calls_made=2)
    bad = ActionResult("product_coupon.b", "update", "failed", calls_made=0, calls_failed=1)  # sent, refused
    with ApplyProgress(2, tty=False) as progress:
        progress("start", ok)
        progress("applied", ok)
        progress("failed", bad)
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "shop_coupon.a: create complete (2 call(s))",
        "product_coupon.b: update FAILED after 1 call(s) (0 landed)",
    ]


def test_bar_on_a_tty_counts_every_change() -> None:
    """On a TTY the bar advances once per finished change, failures included."""
    with ApplyProgress(2, tty=True) as progress:
        progress("applied", ActionResult("shop_coupon.a", "create", "applied", calls_made=1))
        progress("failed", ActionResult("shop_coupon.b", "create", "failed"))
        assert progress._progress is not None
        assert progress._progress.tasks[0].completed == 2
