"""The run's pacing: the token buckets and the retry policy shared by apply, refresh, drift and import.

One `Pacer` per run, so every call of an operation, whoever makes it, shares that operation's bucket.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar

from reconciler.config import Settings
from reconciler.errors import TransientUpstreamError
from reconciler.providers.pacing import RateLimiter, retry_call

T = TypeVar("T")


class Pacer:
    def __init__(
        self,
        rates: Mapping[str, float],
        *,
        max_attempts: int = 6,
        base_delay: float = 0.5,
        max_delay: float = 30.0,
        on_retry: Callable[[int, TransientUpstreamError, float], None] | None = None,
    ) -> None:
        self.limiter = RateLimiter(rates)
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.on_retry = on_retry
        self.retries = 0

    @classmethod
    def from_settings(cls, settings: Settings) -> Pacer:
        return cls(settings.apply.rate_limits, max_attempts=settings.apply.max_retries)

    async def wait(self, operation: str) -> None:
        """Wait for `operation`'s next slot in its token bucket."""
        await self.limiter.acquire(operation)

    async def retry(self, fn: Callable[[], Awaitable[T]]) -> T:
        """Await `fn()`, retrying transient upstream errors with backoff and jitter."""

        def note(attempt: int, err: TransientUpstreamError, delay: float) -> None:
            self.retries += 1
            if self.on_retry is not None:
                self.on_retry(attempt, err, delay)

        return await retry_call(
            fn, max_attempts=self.max_attempts, base_delay=self.base_delay, max_delay=self.max_delay, on_retry=note
        )
