"""The count shown beside a quantity change: `total_num = 1,000 -> 5,000 (842 already handed out)`. Pure.

Derived from the plan alone (the action's last-known upstream object), like every display annotation: a shop
coupon's `coupon_stock.stock_info.receive_num` is what users have already claimed (reference A.3, A.6.6), recorded
by refresh for active coupons; a product coupon stock's `sent_count_info` what it has sent (reference B.4, decision
D29): `stocks.main.stock_send_rule.max_count = 1,000 -> 5,000 (842 already sent)`. Nothing is shown when state does
not know it.
"""

from __future__ import annotations

from collections.abc import Mapping

from reconciler.plan.model import Action, FieldChange
from reconciler.plan.shop import SHOP_TOTAL_PATH, handed_out
from reconciler.plan.stock_calls import FAMILIES, sent_count


def quantity_note(action: Action, change: FieldChange) -> str | None:
    """`842 already handed out` for a changed shop `total_num` whose handed-out count state knows, `842 already
    sent` for a changed stock `max_count` whose sent count state knows, else None."""
    if action.kind == "ProductCoupon":
        return _sent_note(action, change)
    if action.kind != "ShopCoupon" or change.path != SHOP_TOTAL_PATH or change.change != "change":
        return None
    received = handed_out(action.before)
    return None if received is None else f"{received:,} already handed out"


def _sent_note(action: Action, change: FieldChange) -> str | None:
    parts = change.path.split(".")
    if change.change != "change" or len(parts) != 4 or parts[2:] != ["stock_send_rule", "max_count"]:
        return None
    family = next((f for f in FAMILIES if f.key == parts[0]), None)
    stocks = action.before.get(parts[0]) if family is not None and action.before is not None else None
    stock = stocks.get(parts[1]) if isinstance(stocks, Mapping) else None
    sent = sent_count(family, stock) if family is not None and isinstance(stock, Mapping) else None
    return None if sent is None else f"{sent:,} already sent"
