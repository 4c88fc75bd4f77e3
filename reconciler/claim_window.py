"""The claim-window rule, in one place: where a coupon body states the window in which users can claim it, and
what a window that has started or ended means at plan time (contract §1.2: ended is an error, started a warning).

Used by `couponctl validate` / plan (manifest diagnostics), the planner (blocked actions and warnings) and the
saved-plan expiry check; each words its message for its audience, none decides the rule on its own. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from reconciler.resources import Kind
from reconciler.times import parse_time

# Where a product coupon's stocks state their claim windows (reference B.4): each stock's usage rule, one of these
# three, holds `coupon_available_period`, the closest the partner API has to a claim window. The stocks are the
# named maps of the normalised body (decision D29).
PRODUCT_USAGE_RULES: tuple[tuple[str, str], ...] = (
    ("stocks", "single_usage_rule"),
    ("stocks", "sequential_usage_rule"),
    ("stock_bundles", "progressive_bundle_usage_rule"),
)

Verdict = Literal["ended", "started"]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


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

    Shop: `coupon_info.receive_info.start_time/end_time`, Unix seconds (reference A.3). Product: the stocks'
    `coupon_available_period`, RFC3339 (reference B.4), for single, sequential and progressive-bundle stocks alike;
    with several stocks, the window that ends last (the coupon can be claimed while any stock can), starting when
    the first one starts, located at that latest-ending stock.
    """
    if kind == "ShopCoupon":
        coupon_info = body.get("coupon_info")
        info = coupon_info.get("receive_info") if isinstance(coupon_info, Mapping) else None
        if not isinstance(info, Mapping):
            return None
        start, end = parse_time(info.get("start_time")), parse_time(info.get("end_time"))
        return ClaimWindow("coupon_info.receive_info", start, end)
    windows = list(stock_claim_windows(body).values())
    if len(windows) <= 1:
        return windows[0] if windows else None
    starts = [w.start for w in windows if w.start is not None]
    latest = max(windows, key=lambda w: (w.end is None, w.end or _EPOCH))
    return ClaimWindow(latest.path, min(starts) if starts else None, latest.end)


def stock_claim_windows(body: Mapping[str, Any]) -> dict[str, ClaimWindow]:
    """Each stock's own claim window, by stock name (the names of `stocks` or `stock_bundles`, in body order), for
    the stocks that state one (reference B.4, decision D29)."""
    windows: dict[str, ClaimWindow] = {}
    for stock_key, rule_key in PRODUCT_USAGE_RULES:
        stocks = body.get(stock_key)
        for name, stock in stocks.items() if isinstance(stocks, Mapping) else ():
            rule = stock.get(rule_key) if isinstance(stock, Mapping) else None
            period = rule.get("coupon_available_period") if isinstance(rule, Mapping) else None
            if isinstance(period, Mapping):
                windows[str(name)] = ClaimWindow(
                    f"{stock_key}.{name}.{rule_key}.coupon_available_period",
                    parse_time(period.get("available_begin_time")),
                    parse_time(period.get("available_end_time")),
                )
    return windows
