"""Per-operation token buckets: the documented rate limits (reference A.10, B.12), answered with 429 / errcode.

A bucket holds `rate * burst_s` tokens (at least one) and refills continuously, so a client that paces itself at
exactly the configured rate never meets a refusal, and a burst above it is refused at that rate.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping


class TokenBucket:
    """A continuously refilling bucket; `take()` is True when a token was available."""

    def __init__(self, rate: float, burst_s: float, now: float) -> None:
        self.rate = rate
        self.capacity = max(1.0, rate * burst_s)
        self.tokens = self.capacity
        self.updated = now

    def take(self, now: float) -> bool:
        if now > self.updated:
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class RateLimiter:
    """One bucket per operation; operations without a configured rate are not limited."""

    def __init__(self, rates: Mapping[str, float], burst_s: float, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._burst_s = burst_s
        self._lock = threading.Lock()
        self._rates: dict[str, float] = {}
        self._buckets: dict[str, TokenBucket] = {}
        self.set_rates(rates)

    def set_rates(self, rates: Mapping[str, float | None], burst_s: float | None = None) -> None:
        """Merge new rates in (None removes a limit); changed buckets start full."""
        with self._lock:
            if burst_s is not None:
                self._burst_s = burst_s
                self._buckets.clear()
            for op, rate in rates.items():
                if rate is None:
                    self._rates.pop(op, None)
                else:
                    if rate <= 0:
                        raise ValueError(f"rate for {op} must be positive")
                    self._rates[op] = float(rate)
                self._buckets.pop(op, None)

    def rates(self) -> dict[str, float]:
        with self._lock:
            return dict(self._rates)

    @property
    def burst_s(self) -> float:
        return self._burst_s

    def allow(self, operation: str) -> bool:
        with self._lock:
            rate = self._rates.get(operation)
            if rate is None:
                return True
            now = self._clock()
            bucket = self._buckets.get(operation)
            if bucket is None:
                bucket = self._buckets[operation] = TokenBucket(rate, self._burst_s, now)
            return bucket.take(now)
