"""Fault injection (contract §3.1 `PUT /_sandbox/faults`): per-operation errors, latency, timeouts and dropped answers.

A rule is `{"operation": "product.create" | "shop.*" | "*", "kind": KIND, "value": ..., "count": N}` or with
`"rate": 0..1, "seed": S` instead of `count` (neither: every matching call). Kinds:
- `http_status`: answer with that HTTP status (shop: errcode -1 body; WeChat Pay: the matching APIv3 error body);
- `errcode`: shop side answers HTTP 200 with that errcode; WeChat Pay side takes an APIv3 code ("SYSTEM_ERROR", ...);
- `latency`: wait `value` seconds, then handle the call normally;
- `timeout`: wait `value` seconds (default 60) or until the client disconnects, then answer 500 / -1 without
  performing the operation;
- `drop_after_commit`: perform and commit the operation, then drop the connection without a complete answer
  (only successful calls are dropped, and only they consume the rule's count).
Faults are checked before the operation runs (except `drop_after_commit`), so none leaves the store inconsistent.
"""

from __future__ import annotations

import fnmatch
import random
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

FAULT_KINDS = ("http_status", "errcode", "latency", "timeout", "drop_after_commit")
DEFAULT_TIMEOUT_S = 60.0


@dataclass
class FaultRule:
    """One rule; `count` is decremented as it fires (None = unlimited)."""

    operation: str
    kind: str
    value: Any = None
    count: int | None = None
    rate: float | None = None
    seed: int | None = None
    _random: random.Random = field(default_factory=random.Random, repr=False)

    def matches(self, operation: str) -> bool:
        return self.operation == "*" or fnmatch.fnmatchcase(operation, self.operation)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"operation": self.operation, "kind": self.kind}
        for key in ("value", "count", "rate", "seed"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out


def parse_rule(raw: Mapping[str, Any]) -> FaultRule:
    """Validate one rule from JSON; raises ValueError with a readable message."""
    if not isinstance(raw, Mapping):
        raise ValueError("each fault rule must be an object")
    unknown = set(raw) - {"operation", "kind", "value", "count", "rate", "seed"}
    if unknown:
        raise ValueError(f"unknown fault rule keys: {', '.join(sorted(unknown))}")
    operation = raw.get("operation", "*")
    kind = raw.get("kind")
    if not isinstance(operation, str) or not operation:
        raise ValueError("operation must be a non-empty string")
    if kind not in FAULT_KINDS:
        raise ValueError(f"kind must be one of {', '.join(FAULT_KINDS)}")
    value = raw.get("value")
    if kind == "http_status" and not (isinstance(value, int) and 400 <= value <= 599):
        raise ValueError("http_status needs an integer value 400..599")
    if kind == "errcode" and not isinstance(value, int | str):
        raise ValueError("errcode needs an integer errcode (shop) or a code string (WeChat Pay)")
    if kind in {"latency", "timeout"} and value is not None and not (isinstance(value, int | float) and value >= 0):
        raise ValueError(f"{kind} needs a number of seconds")
    if kind == "latency" and value is None:
        raise ValueError("latency needs a number of seconds")
    count = raw.get("count")
    rate = raw.get("rate")
    if count is not None and not (isinstance(count, int) and count > 0):
        raise ValueError("count must be a positive integer")
    if rate is not None and not (isinstance(rate, int | float) and 0 <= rate <= 1):
        raise ValueError("rate must be between 0 and 1")
    if count is not None and rate is not None:
        raise ValueError("give count or rate, not both")
    seed = raw.get("seed")
    if seed is not None and not isinstance(seed, int):
        raise ValueError("seed must be an integer")
    return FaultRule(operation, kind, value, count, None if rate is None else float(rate), seed, random.Random(seed))


class FaultInjector:
    """Holds the active rules; `pick` returns the rule that fires for a call, consuming it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []

    def set_rules(self, raw_rules: Sequence[Mapping[str, Any]]) -> None:
        rules = [parse_rule(raw) for raw in raw_rules]
        with self._lock:
            self._rules = rules

    def rules(self) -> list[dict[str, Any]]:
        with self._lock:
            return [rule.to_json() for rule in self._rules]

    def pick(self, operation: str, kinds: Sequence[str]) -> FaultRule | None:
        """The first matching rule of one of `kinds` that fires now (count consumed, rate rolled)."""
        with self._lock:
            for rule in self._rules:
                if rule.kind not in kinds or not rule.matches(operation):
                    continue
                if rule.rate is not None and rule._random.random() >= rule.rate:
                    continue
                if rule.count is not None:
                    rule.count -= 1
                    if rule.count <= 0:
                        self._rules.remove(rule)
                return rule
        return None
