"""Stocks (批次) and stock bundles (批次组) as the sandbox stores and answers them (reference B.4, B.10).

Pure functions over the stored documents: how a new stock looks, which state a stock is in on the sandbox clock,
and the shape of a bundle answer. The endpoints live in `stocks.py` and `bundles.py`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

STOCK_STATES = ("AUDITING", "SENDING", "PAUSED", "STOPPED", "DEACTIVATED")
# Stocks that may be changed, have their budget changed, or be deactivated (B.10 [D stock pages]).
CHANGEABLE = frozenset({"SENDING", "PAUSED"})
# What counts against the 200-stock cap: "已过期和已失效的批次不计入统计" (B.4 [D doc 4015781304]).
NOT_COUNTED = frozenset({"STOPPED", "DEACTIVATED"})
STOCK_FIELDS = (
    "remark",
    "coupon_code_mode",
    "stock_send_rule",
    "usage_rule_display_info",
    "coupon_display_info",
    "notify_config",
    "store_scope",
)
MAX_EFFECTIVE_STOCKS = 200  # B.4 [D]: at most 200 effective stocks per product coupon
NOT_SENDING_CODE = 268577984  # B.11 [S]: "stock not sending" (a stock call outside SENDING / PAUSED)


def initial_state(coupon_state: str, product_initial_state: str) -> str:
    """A new stock: AUDITING while its coupon is, or when the sandbox reviews everything new (the
    `product_initial_state` switch set to AUDITING, finished by the admin review calls); SENDING otherwise."""
    if coupon_state == "AUDITING" or product_initial_state == "AUDITING":
        return "AUDITING"
    return "SENDING"


def new_stock(product_coupon_id: str, index: int, source: dict[str, Any], brand_id: str, state: str) -> dict[str, Any]:
    """A stock as answered (B.4): the input fields plus ids, state and counters.

    `sent_count_info` is `{total_count, today_count}` and `coupon_code_count_info` `{total_count,
    available_count}` (B.4 [3P]: the third-party SDK models of the list / get answers)."""
    item: dict[str, Any] = {"product_coupon_id": product_coupon_id, "stock_id": f"{product_coupon_id}{index:03d}"}
    item.update({k: source[k] for k in STOCK_FIELDS if k in source})
    item.update(brand_id=brand_id, state=state, sent_count_info={"total_count": 0, "today_count": 0})
    if source.get("coupon_code_mode") == "UPLOAD":
        item["coupon_code_count_info"] = {"total_count": 0, "available_count": 0}
    return item


def bundle_id_for(product_coupon_id: str, ordinal: int) -> str:
    """The create's bundle is `<id>000` (as before); later bundles `<id>000NNN` (opaque ids, our default)."""
    return f"{product_coupon_id}000" if ordinal == 0 else f"{product_coupon_id}000{ordinal:03d}"


def bundle_stocks(
    product_coupon_id: str,
    bundle_id: str,
    first_index: int,
    bundle: dict[str, Any],
    rule_key: str,
    brand_id: str,
    state: str,
) -> list[dict[str, Any]]:
    """One stock per step of a PROGRESSIVE_BUNDLE ladder (B.4), each with `stock_bundle_info`."""
    rule = bundle["progressive_bundle_usage_rule"]
    stocks = []
    for index, step in enumerate(rule[rule_key + "_list"]):
        item = new_stock(product_coupon_id, first_index + index, bundle, brand_id, state)
        item["single_usage_rule"] = {"coupon_available_period": rule["coupon_available_period"], rule_key: step}
        item["stock_bundle_info"] = {"stock_bundle_id": bundle_id, "stock_bundle_index": index}
        stocks.append(item)
    return stocks


def bundle_of(stock: dict[str, Any]) -> str | None:
    info = stock.get("stock_bundle_info")
    return info.get("stock_bundle_id") if isinstance(info, dict) else None


def bundle_ids(stocks: list[dict[str, Any]]) -> list[str]:
    """The coupon's bundle ids in creation order."""
    seen: list[str] = []
    for item in stocks:
        bid = bundle_of(item)
        if bid is not None and bid not in seen:
            seen.append(bid)
    return seen


def bundle_answer(bundle_id: str, stocks: list[dict[str, Any]]) -> dict[str, Any]:
    """`{stock_bundle_id, stock_list}`: the answer of every bundle call (B.4 [3P] SKIT StockBundles models)."""
    return {"stock_bundle_id": bundle_id, "stock_list": [s for s in stocks if bundle_of(s) == bundle_id]}


def end_time(stock: dict[str, Any]) -> datetime | None:
    period = (stock.get("single_usage_rule") or {}).get("coupon_available_period") or {}
    text = period.get("available_end_time")
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def settle_states(stocks: list[dict[str, Any]], now: float) -> bool:
    """SENDING / PAUSED stocks whose `available_end_time` has passed on the sandbox clock become STOPPED (B.10);
    True when one changed. Computed whenever a coupon's stocks are read, so no timer is needed."""
    changed = False
    for item in stocks:
        end = end_time(item)
        if item.get("state") in CHANGEABLE and end is not None and end.timestamp() <= now:
            item["state"] = "STOPPED"
            changed = True
    return changed


def live_count(stocks: list[dict[str, Any]]) -> int:
    return sum(1 for s in stocks if s.get("state") not in NOT_COUNTED)
