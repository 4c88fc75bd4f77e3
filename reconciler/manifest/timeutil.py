"""Time values in manifests: ISO-8601 / RFC3339 with an offset, or Unix seconds, normalised per API family.

Shop coupons want Unix seconds (reference A.1: a staff reply told a user who sent milliseconds to send seconds).
Product coupons want RFC3339 with an offset (B.2, B.4); we normalise them to WeChat's own zone, +08:00, so that
the same instant always has the same text and the planner never sees a spurious change (our own choice).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic_core import PydanticCustomError

from reconciler.manifest.limits import SHOP_TIMESTAMP_MAX
from reconciler.times import BEIJING, cn_iso

MILLISECONDS_HINT = "milliseconds? WeChat wants seconds"
_MS_MIN = 100_000_000_000  # 12+ digits cannot be seconds in any plausible campaign year


def _time_error(value: Any) -> PydanticCustomError:
    return PydanticCustomError(
        "time_type",
        "expected Unix seconds or an ISO-8601 time with offset (e.g. 2028-11-11T00:00:00+08:00), got {got}",
        {"got": describe(value)},
    )


def describe(value: Any) -> str:
    """A short YAML-flavoured description of a value's type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def parse_iso(text: str) -> datetime:
    """Parse ISO-8601 / RFC3339 text that carries an explicit offset; raise a custom error otherwise."""
    candidate = text.strip()
    if candidate.isdigit():
        raise PydanticCustomError(
            "time_quoted", "Unix seconds must be an integer, not the string '{text}': remove the quotes", {"text": text}
        )
    if candidate.endswith(("Z", "z")):
        candidate = candidate[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(candidate)
    except ValueError:
        raise PydanticCustomError(
            "time_format",
            "invalid time '{text}': expected ISO-8601 with offset (e.g. 2028-11-11T00:00:00+08:00) or Unix seconds",
            {"text": text},
        ) from None
    if parsed.tzinfo is None:
        raise PydanticCustomError(
            "time_offset", "time '{text}' has no UTC offset: add one, e.g. +08:00", {"text": text}
        )
    if parsed.microsecond:
        # Both APIs work in whole seconds (A.1, B.4 RFC3339 examples); our default is to refuse fractions.
        raise PydanticCustomError("time_fraction", "time '{text}' has fractional seconds", {"text": text})
    return parsed


def check_unix_seconds(value: int) -> int:
    """Unix seconds, refusing 13-digit millisecond values with a hint (reference A.1)."""
    if value >= _MS_MIN:
        raise PydanticCustomError(
            "time_ms", "expected Unix seconds, got {value} (milliseconds? WeChat wants seconds)", {"value": value}
        )
    if value < 0 or value > SHOP_TIMESTAMP_MAX:
        raise PydanticCustomError("time_range", "{value} is not a Unix time in seconds", {"value": value})
    return value


def to_unix_seconds(value: Any) -> int:
    """Pydantic before-validator for shop times: int seconds or ISO-8601 with offset → int seconds."""
    if isinstance(value, bool):
        raise _time_error(value)
    if isinstance(value, int):
        return check_unix_seconds(value)
    if isinstance(value, str):
        return int(parse_iso(value).timestamp())
    raise _time_error(value)


def to_rfc3339_cn(value: Any) -> str:
    """Pydantic before-validator for product times: RFC3339 with offset or Unix seconds → `...+08:00` text."""
    if isinstance(value, bool):
        raise _time_error(value)
    if isinstance(value, int):
        instant = datetime.fromtimestamp(check_unix_seconds(value), BEIJING)
    elif isinstance(value, str):
        instant = parse_iso(value)
    else:
        raise _time_error(value)
    return cn_iso(instant)
