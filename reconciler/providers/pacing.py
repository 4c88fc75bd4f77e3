"""Client-side pacing and retries: per-operation token buckets and a narrow retry loop (contract §2.4).

The one home of pacing for every command that calls upstream (apply, settle, refresh, drift, import): a run makes
one `Pacer` from its settings, so every call of an operation, whoever makes it, shares that operation's bucket.
The providers themselves do not pace; their callers do, through the run's `Pacer`.

Rates come from the documented limits (reference B.12 / A.10; the defaults of `[apply] rate_limits`). Each bucket
holds one token (burst 1): call starts are spaced at least 1 / (⌊R⌋ × safety) seconds apart, so no 1-second window
ever holds more than R starts and the server's own bucket never has to refuse us. Retries cover
`TransientUpstreamError` only (429, 5xx, errcode -1 / 300000 / 45011 / 990010, timeouts, dropped connections), with
exponential backoff and full jitter, never other 4xx; after 45011 the wait runs into the next minute. A hand-written
loop (rather than `stamina`) keeps clock, sleep and randomness injectable, so tests run deterministically without
sleeping.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from reconciler.config import Settings
from reconciler.errors import TransientUpstreamError

T = TypeVar("T")

# Our default: pace at 98 % of the documented rate, so clock drift between us and WeChat cannot cost a 429.
DEFAULT_SAFETY = 0.98
# Our default: a Retry-After longer than this is capped (a run should not sleep for hours on one header).
RETRY_AFTER_CAP_S = 120.0
# A.8: 45011 "api minute-quota reach limit must slower retry next minute". A retry inside the same minute meets the
# same spent quota, so the wait runs into the next minute. [INF] the quota window is the wall-clock minute (the doc
# says "next minute", not "in 60 s"); the margin covers clock skew between us and WeChat (our default).
MINUTE_QUOTA_ERRCODE = 45011
NEXT_MINUTE_MARGIN_S = 1.0


class RateLimiter:
    """One burst-1 token bucket per operation name ("product.create", "shop.add", ...).

    Operations without a configured rate are not paced. Reservations are taken without awaiting in between, so
    concurrent tasks queue in arrival order; a task cancelled while waiting leaves its slot unused (conservative).
    """

    def __init__(
        self,
        rates: Mapping[str, float],
        *,
        safety: float = DEFAULT_SAFETY,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if not 0 < safety <= 1:
            raise ValueError("safety must be in (0, 1]")
        for op, rate in rates.items():
            if rate <= 0:
                raise ValueError(f"rate for {op} must be positive, not {rate}")
        self._interval = {op: 1.0 / (_whole_per_second(rate) * safety) for op, rate in rates.items()}
        self._next_free: dict[str, float] = {}
        self._clock = clock
        self._sleep = sleep

    def interval(self, operation: str) -> float:
        """Seconds between two call starts of `operation` (0 when it is not paced)."""
        return self._interval.get(operation, 0.0)

    def reserve(self, operation: str) -> float:
        """Take the next slot of `operation` and return how long to wait for it (0 = now)."""
        interval = self._interval.get(operation)
        if interval is None:
            return 0.0
        now = self._clock()
        slot = max(now, self._next_free.get(operation, now))
        self._next_free[operation] = slot + interval
        return slot - now

    async def acquire(self, operation: str) -> None:
        """Wait until `operation` may start one call."""
        delay = self.reserve(operation)
        if delay > 0:
            await self._sleep(delay)


def _whole_per_second(rate: float) -> float:
    """A fractional rate above 1/s is paced at its whole part: 800 / 30 = 26.7/s would let 27 starts into one
    second, so it is paced at 26/s (× safety) and no 1-second window ever holds more than 26."""
    return float(math.floor(rate)) if rate >= 1 else rate


def retry_after_of(exc: BaseException) -> float | None:
    """The server's Retry-After, in seconds, when the provider attached one to the error."""
    value: object = getattr(exc, "retry_after", None)
    if isinstance(value, int | float):
        return float(value)
    return None


def full_jitter(cap: float) -> float:
    """A uniformly random delay in [0, cap] ("full jitter")."""
    return random.uniform(0.0, cap)


def until_next_minute(now: float, margin: float = NEXT_MINUTE_MARGIN_S) -> float:
    """Seconds from `now` (Unix time) to `margin` seconds past the start of the next wall-clock minute."""
    return 60.0 - (now % 60.0) + margin


def backoff_cap(attempt: int, *, base_delay: float, max_delay: float) -> float:
    """The upper bound of the delay after failed attempt number `attempt` (1-based): base × 2^(attempt-1), capped."""
    return min(max_delay, base_delay * 2.0 ** (attempt - 1))


async def retry_call(
    fn: Callable[[], Awaitable[T]],
    *,
    max_attempts: int = 6,
    base_delay: float = 0.5,
    max_delay: float = 30.0,
    jitter: Callable[[float], float] = full_jitter,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    on_retry: Callable[[int, TransientUpstreamError, float], None] | None = None,
    wall_clock: Callable[[], float] = time.time,
) -> T:
    """Await `fn()` until it succeeds, retrying only `TransientUpstreamError`, at most `max_attempts` times in all.

    The delay after failed attempt n is `jitter(min(max_delay, base_delay × 2^(n-1)))`, raised to the server's
    Retry-After when that is longer (capped at RETRY_AFTER_CAP_S), and, after errcode 45011, to the start of the next
    wall-clock minute (`wall_clock`, plus a margin; never capped by `max_delay`). `on_retry(attempt, error, delay)` is
    told before each wait. The last transient error is re-raised when attempts run out; any other exception passes at
    once.
    Pass `jitter=lambda cap: cap` for deterministic delays.
    """
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    attempt = 0
    while True:
        attempt += 1
        try:
            return await fn()
        except TransientUpstreamError as err:
            if attempt >= max_attempts:
                raise
            delay = jitter(backoff_cap(attempt, base_delay=base_delay, max_delay=max_delay))
            server = retry_after_of(err)
            if server is not None:
                delay = max(delay, min(server, RETRY_AFTER_CAP_S))
            if err.code == MINUTE_QUOTA_ERRCODE:  # the minute's quota is spent: wait into the next one
                delay = max(delay, until_next_minute(wall_clock()))
            if on_retry is not None:
                on_retry(attempt, err, delay)
            await sleep(delay)


@dataclass(frozen=True, slots=True)
class RetryNotice:
    """A retry about to happen, for whoever shows progress (`Pacer.on_notice`): which call, for which coupon (when
    the caller named it), after which error, the attempt that comes next of how many, and the wait before it."""

    call: str
    subject: str | None
    error: TransientUpstreamError
    next_attempt: int
    max_attempts: int
    delay: float

    def describe(self) -> str:
        """`retrying product.get for product_coupon.x after 429 (attempt 2/6, in 0.5 s)`."""
        err = self.error
        if isinstance(err.code, int):  # the shop family answers errors as an errcode (reference A.8)
            cause = f"errcode {err.code}"
        elif err.http_status is not None:  # WeChat Pay: the HTTP status (reference B.11)
            cause = str(err.http_status)
        else:
            cause = "a timeout or dropped connection"
        subject = f" for {self.subject}" if self.subject else ""
        return (
            f"retrying {self.call}{subject} after {cause} "
            f"(attempt {self.next_attempt}/{self.max_attempts}, in {self.delay:.1f} s)"
        )


class Pacer:
    """A run's pacing: one token bucket per operation (`wait`) and the retry policy for transient errors (`retry`).

    `sleep` and `jitter` are injectable so tests run the whole retry loop without waiting."""

    def __init__(
        self,
        rates: Mapping[str, float],
        *,
        max_attempts: int = 6,
        base_delay: float = 0.5,
        max_delay: float = 30.0,
        on_retry: Callable[[int, TransientUpstreamError, float], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        jitter: Callable[[float], float] = full_jitter,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.limiter = RateLimiter(rates, clock=clock, sleep=sleep)
        self._wall_clock = wall_clock
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.on_retry = on_retry
        # Told of every retry with a RetryNotice (commands set it to show progress; never raises into the call).
        self.on_notice: Callable[[RetryNotice], None] | None = None
        self.retries = 0
        self._sleep = sleep
        self._jitter = jitter

    @classmethod
    def from_settings(cls, settings: Settings) -> Pacer:
        return cls(settings.apply.rate_limits, max_attempts=settings.apply.max_retries)

    async def wait(self, operation: str) -> None:
        """Wait for `operation`'s next slot in its token bucket."""
        await self.limiter.acquire(operation)

    async def retry(self, fn: Callable[[], Awaitable[T]], *, subject: str | None = None) -> T:
        """Await `fn()`, retrying transient upstream errors with backoff and jitter. `subject` (an address) names
        the coupon in the RetryNotice."""

        def note(attempt: int, err: TransientUpstreamError, delay: float) -> None:
            self.retries += 1
            if self.on_retry is not None:
                self.on_retry(attempt, err, delay)
            if self.on_notice is not None:
                call = err.call or "call"
                self.on_notice(RetryNotice(call, subject or err.address, err, attempt + 1, self.max_attempts, delay))

        return await retry_call(
            fn,
            max_attempts=self.max_attempts,
            base_delay=self.base_delay,
            max_delay=self.max_delay,
            jitter=self._jitter,
            sleep=self._sleep,
            on_retry=note,
            wall_clock=self._wall_clock,
        )
