"""The claim-window rule, in one place: where a coupon body states the window in which users can claim it, and
what a window that has started or ended means at plan time (contract §1.2: ended is an error, started a warning).

Used by `couponctl validate` / plan (manifest diagnostics), the planner (blocked actions and warnings) and the
saved-plan expiry check; each words its message for its audience, none decides the rule on its own. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from reconciler.resources import Kind
from reconciler.times import parse_time

# Where a product coupon's stock states its claim window (reference B.4): the stock's usage rule, one of these
# three, holds `coupon_available_period`, the closest the partner API has to a claim window.
PRODUCT_USAGE_RULES: tuple[tuple[str, str], ...] = (
    ("stock", "single_usage_rule"),
    ("stock", "sequential_usage_rule"),
    ("stock_bundle", "progressive_bundle_usage_rule"),
)

Verdict = Literal["ended", "started"]


@dataclass(frozen=True, slots=True)
class ClaimWindow:
    """A claim window as a body states it; `path` is where (dotted, in the normalised body)."""

    path: str
    start: datetime | None
    end: datetime | None

    def verdict(self, now: datetime) -> Verdict | None:
        """`ended` (an error: a coupon cannot be created for the past), `started` (a warning), or None."""
        if self.end is not None and self.end <= now:
            return "ended"
        if self.start is not None and self.start <= now:
            return "started"
        return None


def claim_window(kind: Kind, body: Mapping[str, Any]) -> ClaimWindow | None:
    """The window in which users can claim the coupon, when the body states one.

    Shop: `coupon_info.receive_info.start_time/end_time`, Unix seconds (reference A.3). Product: the stock's
    `coupon_available_period`, RFC3339 (reference B.4), for single, sequential and progressive-bundle stocks alike.
    """
    if kind == "ShopCoupon":
        coupon_info = body.get("coupon_info")
        info = coupon_info.get("receive_info") if isinstance(coupon_info, Mapping) else None
        if not isinstance(info, Mapping):
            return None
        start, end = parse_time(info.get("start_time")), parse_time(info.get("end_time"))
        return ClaimWindow("coupon_info.receive_info", start, end)
    for stock_key, rule_key in PRODUCT_USAGE_RULES:
        stock = body.get(stock_key)
        rule = stock.get(rule_key) if isinstance(stock, Mapping) else None
        period = rule.get("coupon_available_period") if isinstance(rule, Mapping) else None
        if isinstance(period, Mapping):
            return ClaimWindow(
                f"{stock_key}.{rule_key}.coupon_available_period",
                parse_time(period.get("available_begin_time")),
                parse_time(period.get("available_end_time")),
            )
    return None
