"""The count shown beside a quantity change: `total_num = 1,000 -> 5,000 (842 already handed out)`. Pure.

Derived from the plan alone (the action's last-known upstream object), like every display annotation: a shop
coupon's `coupon_stock.stock_info.receive_num` is what users have already claimed (reference A.3, A.6.6), recorded
by refresh for active coupons. Nothing is shown when state does not know it.
"""

from __future__ import annotations

from reconciler.plan.model import Action, FieldChange
from reconciler.plan.shop import SHOP_TOTAL_PATH, handed_out


def quantity_note(action: Action, change: FieldChange) -> str | None:
    """`842 already handed out` for a changed shop `total_num` whose handed-out count state knows, else None."""
    if action.kind != "ShopCoupon" or change.path != SHOP_TOTAL_PATH or change.change != "change":
        return None
    received = handed_out(action.before)
    return None if received is None else f"{received:,} already handed out"
