"""Progress of the upstream reads (issue 20 goal 4): the counter commands feed, the retry notice pacing gives, and
how the CLI renders them (plain periodic lines off a TTY with an injected clock, nothing with --quiet, a bar on a
TTY)."""

from __future__ import annotations

import asyncio

import pytest

from reconciler.cli.progress import ReadProgressView
from reconciler.commands.progress import CallProgress, ProgressEvent
from reconciler.errors import TransientUpstreamError
from reconciler.providers.pacing import Pacer, RetryNotice


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def pacer() -> Pacer:
    async def no_sleep(_: float) -> None:
        return None

    return Pacer({"product.get": 20.0, "shop.get_list": 800 / 30}, sleep=no_sleep, jitter=lambda cap: cap)


def test_eta_comes_from_the_rate_limits() -> None:
    """100 product GETs at 20/s (× 0.98 safety) and 2 shop pages at 26/s: the ETA is what pacing will take."""
    events: list[ProgressEvent] = []
    tracker = CallProgress(events.append, "reading upstream", {"product.get": 100, "shop.get_list": 2}, pacer())
    tracker.start()
    assert events[0].total == 102
    assert events[0].eta_s == pytest.approx(100 / (20 * 0.98) + 2 / (26 * 0.98))
    for _ in range(50):
        tracker.called("product.get")
    assert events[-1].done == 50
    assert events[-1].eta_s == pytest.approx(50 / (20 * 0.98) + 2 / (26 * 0.98))


def test_the_first_page_corrects_the_shop_estimate() -> None:
    """State predicted 1 page; upstream holds 450 coupons (unmanaged ones too): 3 pages in all."""
    events: list[ProgressEvent] = []
    tracker = CallProgress(events.append, "reading upstream", {"shop.get_list": 1}, pacer())
    tracker.called("shop.get_list")
    tracker.grow("shop.get_list", 3 - tracker.total_of("shop.get_list"))
    assert (tracker.done, tracker.total) == (1, 3)


def test_a_retry_names_the_call_the_coupon_the_cause_and_the_attempt() -> None:
    """Pacing tells `on_notice` of every retry; the notice reads as the user sees it."""
    notices: list[RetryNotice] = []
    run = pacer()
    run.on_notice = notices.append
    failures = [TransientUpstreamError(call="product.get", message="too fast", http_status=429)]

    async def read() -> str:
        if failures:
            raise failures.pop()
        return "ok"

    assert asyncio.run(run.retry(read, subject="product_coupon.x")) == "ok"
    assert [n.describe() for n in notices] == [
        "retrying product.get for product_coupon.x after 429 (attempt 2/6, in 0.5 s)"
    ]
    shop = RetryNotice(
        "shop.get_list", None, TransientUpstreamError(call="shop.get_list", message="", code=-1), 3, 8, 2
    )
    assert shop.describe() == "retrying shop.get_list after errcode -1 (attempt 3/8, in 2.0 s)"


def event(kind: str, done: int, total: int = 100, message: str = "", retries: int = 0) -> ProgressEvent:
    return ProgressEvent(
        kind, "reading upstream", done, total, eta_s=(total - done) / 19.6, message=message, retries=retries
    )  # type: ignore[arg-type]


def test_plain_lines_every_ten_percent_or_ten_seconds(capsys: pytest.CaptureFixture[str]) -> None:
    """Off a TTY: a line at the start, at each further 10 % of the calls, after 10 s without one, and at the end;
    retries and notes at once. The clock is injected: no timing luck."""
    clock = Clock()
    view = ReadProgressView(tty=False, clock=clock)
    view(event("note", 0, message="skipped 4 coupons that can no longer change: 4 deactivated (--all reads them)"))
    view(event("start", 0))
    for done in range(1, 10):  # under 10 %, within 10 s: silent
        clock.now += 0.05
        view(event("advance", done))
    view(event("advance", 10))  # 10 %
    clock.now += 10.0
    view(event("advance", 11))  # 10 s since the last line
    view(event("retry", 11, message="retrying product.get for product_coupon.x after 429 (attempt 2/6, in 0.5 s)"))
    view(event("advance", 12, retries=1))  # neither 10 % more nor 10 s: silent
    for done in range(13, 101):
        view(event("advance", done, retries=1))
    view(event("done", 100, retries=1))
    assert capsys.readouterr().err.splitlines() == [
        "skipped 4 coupons that can no longer change: 4 deactivated (--all reads them)",
        "reading upstream: 0/100 calls, about 5 s left at the rate limits",
        "reading upstream: 10/100 calls, about 5 s left at the rate limits",
        "reading upstream: 11/100 calls, about 5 s left at the rate limits",
        "retrying product.get for product_coupon.x after 429 (attempt 2/6, in 0.5 s)",
        *(
            f"reading upstream: {n}/100 calls, 1 retried, about {round((100 - n) / 19.6)} s left at the rate limits"
            for n in range(20, 100, 10)
        ),
        "reading upstream: 100/100 calls, 1 retried",
    ]


def test_eta_over_a_minute_reads_in_minutes(capsys: pytest.CaptureFixture[str]) -> None:
    view = ReadProgressView(tty=False, clock=Clock())
    view(ProgressEvent("start", "reading upstream", 0, 10_000, eta_s=510.2))
    assert capsys.readouterr().err == "reading upstream: 0/10,000 calls, about 8 min 30 s left at the rate limits\n"


def test_quiet_prints_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    for tty in (False, True):
        view = ReadProgressView(quiet=True, tty=tty, clock=Clock())
        view(event("note", 0, message="skipped"))
        view(event("start", 0))
        view(event("retry", 0, message="retrying"))
        view(event("advance", 100))
        view(event("done", 100))
    assert capsys.readouterr() == ("", "")


def test_notes_can_be_left_to_the_command_output(capsys: pytest.CaptureFixture[str]) -> None:
    """drift prints what it skipped in its report (stdout), so its view leaves notes out; retries still show."""
    view = ReadProgressView(tty=False, notes=False, clock=Clock())
    view(event("note", 0, message="skipped 1 coupon"))
    view(event("retry", 0, message="retrying product.get"))
    assert capsys.readouterr().err == "retrying product.get\n"


def test_bar_on_a_tty_follows_the_counter() -> None:
    view = ReadProgressView(tty=True, clock=Clock())
    view(event("start", 0, total=4))
    view(event("advance", 3, total=4))
    assert view._progress is not None
    assert (view._progress.tasks[0].completed, view._progress.tasks[0].total) == (3, 4)
    assert view._progress.tasks[0].description == "about 0 s left"  # the rate limits' ETA, not rich's guess
    view(event("done", 4, total=4))
    assert view._progress is None  # stopped: the bar leaves the terminal as it was (transient)
