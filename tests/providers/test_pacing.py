"""Per-operation token buckets and the transient-only retry loop, on a fake clock (no real sleeping)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable

import httpx
import pytest

from reconciler.config import Secret
from reconciler.errors import SignatureError, TransientUpstreamError, UpstreamError
from reconciler.plan.model import Call
from reconciler.providers.pacing import Pacer, RateLimiter, backoff_cap, retry_call
from reconciler.providers.shop import ShopProvider
from reconciler.upstream_facts import DEFAULT_RATE_LIMITS
from tests.providers.fake_shop import APPID, SECRET, FakeShop, answer


class VirtualTime:
    """A clock and a sleep that advances it: time passes only when someone sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def max_in_any_window(starts: list[float], window: float = 1.0) -> int:
    """The most starts falling in any closed interval [t, t + window]."""
    starts = sorted(starts)
    return max(sum(1 for s in starts if t <= s <= t + window) for t in starts)


def test_sequential_calls_never_exceed_the_rate_in_any_second() -> None:
    """200 back-to-back product.create calls at 20/s never put more than 20 starts in one second."""
    vt = VirtualTime()
    limiter = RateLimiter({"product.create": 20.0}, clock=vt.clock, sleep=vt.sleep)

    async def main() -> list[float]:
        starts = []
        for _ in range(200):
            await limiter.acquire("product.create")
            starts.append(vt.now)
        return starts

    starts = asyncio.run(main())
    assert max_in_any_window(starts) <= 20
    assert starts[0] == 0.0
    # Paced at 98 % of the limit: 200 calls take 199 / 19.6 s, not much more.
    assert starts[-1] == pytest.approx(199 / 19.6)


def test_concurrent_tasks_queue_behind_one_bucket() -> None:
    """Fifty tasks asking at once get slots spaced 1 / (0.98 ⌊R⌋) apart: never 27 starts in a second at 26.7/s."""
    vt = VirtualTime()
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    limiter = RateLimiter({"shop.add": 800 / 30}, clock=vt.clock, sleep=record)

    async def main() -> None:
        await asyncio.gather(*(limiter.acquire("shop.add") for _ in range(50)))

    asyncio.run(main())
    interval = 1 / (26 * 0.98)  # 800 / 30 = 26.7/s is paced at its whole part, 26/s
    assert sorted(waits) == pytest.approx([interval * i for i in range(1, 50)])  # the first starts at once
    assert max_in_any_window([0.0, *waits]) <= 26


def test_burst_is_one_even_after_idling() -> None:
    """An idle bucket does not save up tokens: after a pause, the second call still waits one interval."""
    vt = VirtualTime()
    limiter = RateLimiter({"product.get": 20.0}, safety=1.0, clock=vt.clock, sleep=vt.sleep)
    assert limiter.reserve("product.get") == 0.0
    vt.now = 60.0
    assert limiter.reserve("product.get") == 0.0
    assert limiter.reserve("product.get") == pytest.approx(0.05)
    assert limiter.reserve("product.get") == pytest.approx(0.10)


def test_operations_have_independent_buckets_and_unknown_ones_are_not_paced() -> None:
    """Pacing product.create does not delay product.get; an operation without a rate is never delayed."""
    vt = VirtualTime()
    limiter = RateLimiter(DEFAULT_RATE_LIMITS, clock=vt.clock, sleep=vt.sleep)
    assert limiter.reserve("product.create") == 0.0
    assert limiter.reserve("product.get") == 0.0
    assert limiter.reserve("product.create") > 0.0
    assert [limiter.reserve("stable_token") for _ in range(5)] == [0.0] * 5
    assert limiter.interval("stable_token") == 0.0


@pytest.mark.parametrize("rates", [{"shop.add": 0.0}, {"shop.add": -1.0}])
def test_non_positive_rates_are_refused(rates: dict[str, float]) -> None:
    """A zero or negative rate is a configuration mistake, refused at construction."""
    with pytest.raises(ValueError):
        RateLimiter(rates)


def transient(n: int = 0) -> TransientUpstreamError:
    return TransientUpstreamError(call="product.create", message=f"busy {n}", http_status=500)


def flaky(errors: list[Exception], value: str = "ok") -> tuple[Callable[[], Awaitable[str]], list[int]]:
    """A call failing with `errors` in turn, then returning `value`; also returns its attempt counter."""
    attempts = [0]

    async def call() -> str:
        attempts[0] += 1
        if errors:
            raise errors.pop(0)
        return value

    return call, attempts


def test_retry_call_retries_transient_errors_with_exponential_backoff() -> None:
    """Two transient failures are retried after base, then 2 × base seconds (jitter off), then the value returns."""
    vt = VirtualTime()
    fn, attempts = flaky([transient(1), transient(2)])
    seen: list[tuple[int, str, float]] = []
    result = asyncio.run(
        retry_call(
            fn,
            base_delay=0.5,
            jitter=lambda cap: cap,
            sleep=vt.sleep,
            on_retry=lambda n, err, delay: seen.append((n, err.upstream_message, delay)),
        )
    )
    assert result == "ok"
    assert attempts[0] == 3
    assert vt.sleeps == [0.5, 1.0]
    assert seen == [(1, "busy 1", 0.5), (2, "busy 2", 1.0)]


@pytest.mark.parametrize(
    "error",
    [
        UpstreamError(call="product.create", message="bad", http_status=400, code="PARAM_ERROR"),
        UpstreamError(call="shop.add", message="daily quota", code=45009),
        SignatureError(call="product.create", message="tampered", http_status=200),
        ValueError("a bug"),
    ],
)
def test_retry_call_never_retries_other_errors(error: Exception) -> None:
    """Non-transient upstream errors (other 4xx, 45009, signature failures) and bugs pass through at once."""
    vt = VirtualTime()
    fn, attempts = flaky([error])
    with pytest.raises(type(error)):
        asyncio.run(retry_call(fn, sleep=vt.sleep))
    assert attempts[0] == 1
    assert vt.sleeps == []


def test_retry_call_gives_up_after_max_attempts_with_the_last_error() -> None:
    """With max_attempts=4 the call is made four times, waits three times, and the fourth error is raised."""
    vt = VirtualTime()
    fn, attempts = flaky([transient(i) for i in range(1, 10)])
    with pytest.raises(TransientUpstreamError, match="busy 4"):
        asyncio.run(retry_call(fn, max_attempts=4, base_delay=1.0, jitter=lambda cap: cap, sleep=vt.sleep))
    assert attempts[0] == 4
    assert vt.sleeps == [1.0, 2.0, 4.0]


def test_backoff_is_capped_and_full_jitter_stays_within_bounds() -> None:
    """Each delay lies in [0, min(max_delay, base × 2^(n-1))] and the caps stop growing at max_delay."""
    assert [backoff_cap(n, base_delay=0.5, max_delay=5.0) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]
    rng = random.Random(7)
    vt = VirtualTime()
    fn, _ = flaky([transient(i) for i in range(9)])
    asyncio.run(
        retry_call(
            fn, max_attempts=10, base_delay=0.5, max_delay=5.0, jitter=lambda cap: rng.uniform(0, cap), sleep=vt.sleep
        )
    )
    caps = [backoff_cap(n, base_delay=0.5, max_delay=5.0) for n in range(1, 10)]
    assert len(vt.sleeps) == 9
    assert all(0.0 <= d <= cap for d, cap in zip(vt.sleeps, caps, strict=True))
    assert len(set(vt.sleeps)) == 9  # jittered, not lock-step


def test_retry_call_honours_retry_after() -> None:
    """A Retry-After longer than the backoff is waited in full; a shorter one does not shorten the backoff."""
    vt = VirtualTime()
    long_wait, short_wait = transient(1), transient(2)
    long_wait.retry_after = 7.0  # type: ignore[attr-defined]
    short_wait.retry_after = 0.1  # type: ignore[attr-defined]
    fn, _ = flaky([long_wait, short_wait])
    asyncio.run(retry_call(fn, base_delay=1.0, jitter=lambda cap: cap, sleep=vt.sleep))
    assert vt.sleeps == [7.0, 2.0]


def test_retry_call_drives_a_real_provider_through_transient_faults() -> None:
    """A shop add meeting HTTP 500 then errcode 300000 succeeds on its third sending, with the same body each time."""
    fake = FakeShop()
    fake.faults[:] = [lambda r: httpx.Response(500), lambda r: answer(300000, "instantaneous frequency too high")]
    vt = VirtualTime()
    add = Call(operation="shop.add", payload={"coupon": {"out_coupon_id": "c1", "type": 104}}, target="c1")

    async def main() -> str | None:
        provider = ShopProvider(APPID, Secret(SECRET), "https://api.weixin.qq.com", transport=httpx.MockTransport(fake))
        try:
            result = await retry_call(lambda: provider.execute(add), jitter=lambda cap: cap, sleep=vt.sleep)
        finally:
            await provider.aclose()
        return result.upstream_id

    assert asyncio.run(main()) == "c1"
    bodies = [c[2] for c in fake.calls if c[0] == "/shop/coupon/add"]
    assert bodies == [dict(add.payload)] * 3
    assert fake.coupons["c1"]["status"] == 1
    assert vt.sleeps == [0.5, 1.0]


def test_pacer_wait_returns_only_when_the_operation_may_start() -> None:
    """A run's Pacer spaces the starts of one operation by its bucket and leaves unpaced operations alone."""
    vt = VirtualTime()
    pacer = Pacer({"shop.get": 10.0}, clock=vt.clock, sleep=vt.sleep)

    async def main() -> list[float]:
        started = []
        for op in ("shop.get", "shop.get", "stable_token", "shop.get"):
            await pacer.wait(op)
            started.append(vt.now)
        return started

    # 10/s × the 0.98 safety margin: one start every 1 / 9.8 s; stable_token has no rate.
    step = 1 / 9.8
    assert asyncio.run(main()) == pytest.approx([0.0, step, step, 2 * step])


def test_pacer_retry_counts_retries_and_uses_its_injected_sleep() -> None:
    """Pacer.retry is the run's retry policy: transient errors retried with backoff, each retry counted and told."""
    vt = VirtualTime()
    told: list[int] = []
    pacer = Pacer(
        {},
        max_attempts=3,
        base_delay=0.25,
        on_retry=lambda n, err, delay: told.append(n),
        sleep=vt.sleep,
        jitter=lambda cap: cap,
    )
    fn, attempts = flaky([transient(1), transient(2)])
    assert asyncio.run(pacer.retry(fn)) == "ok"
    assert (attempts[0], pacer.retries, told, vt.sleeps) == (3, 2, [1, 2], [0.25, 0.5])
