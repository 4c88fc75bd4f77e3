"""Times and time zones, in one place: the +08:00 zone both WeChat APIs work in, and every way we write a moment.

- `iso_utc`: `2026-11-23T10:40:00Z`, timestamps of plans, runs and state (UTC, whole seconds).
- `beijing`: `2026-11-11 00:00:00 +08:00`, how a moment is shown to users in plans and messages.
- `cn_iso` / `format_unix`: `2026-11-11T00:00:00+08:00`, the RFC3339 text product coupons take (reference B.2, B.4)
  and manifest messages quote.
- `parse_time`: a body time (Unix seconds for shop, reference A.1; RFC3339 for product, B.4) as an aware datetime.

Pure: nothing here reads the clock.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

# WeChat's own zone (China Standard Time, no daylight saving): both APIs document their times in it.
BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")


def iso_utc(moment: datetime) -> str:
    """`2026-11-23T10:40:00Z`: the timestamp format of plans, runs and state (UTC, seconds)."""
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def beijing(moment: datetime) -> str:
    """`2026-11-11 00:00:00 +08:00`: how times are shown to users (the APIs' own zone)."""
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S +08:00")


def cn_iso(moment: datetime) -> str:
    """`2026-11-11T00:00:00+08:00`: RFC3339 in the APIs' zone, the form product coupon times are normalised to."""
    return moment.astimezone(BEIJING).strftime("%Y-%m-%dT%H:%M:%S+08:00")


def format_unix(seconds: int) -> str:
    """Unix seconds as readable +08:00 RFC3339 text, for messages."""
    return cn_iso(datetime.fromtimestamp(seconds, BEIJING))


def rfc3339_to_unix(text: str) -> int:
    """Seconds since the epoch of an RFC3339 string that carries its offset (as `cn_iso` writes it)."""
    return int(datetime.fromisoformat(text).timestamp())


def parse_time(value: Any) -> datetime | None:
    """A body time as an aware datetime: Unix seconds (shop, reference A.1) or RFC3339 (product, B.4); else None.

    Text without an offset is read in the APIs' zone (the manifest schema refuses it; upstream bodies never have it).
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=BEIJING)
    return None
