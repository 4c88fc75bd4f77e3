"""The money one action makes claimable (added) or stops (removed), priced with `plan.exposure`. Pure.

Activating or creating a coupon adds all of it; voiding or deactivating one removes what is not yet claimed. A call
that changes the quantity of a live coupon (`QUANTITY_OPERATIONS`, issue 16) adds or removes the difference between
the coupon as state knows it and as declared: raising a total from 1,000 to 5,000 adds 4,000 coupons' worth. The
plan's money line (render/summary.py) and the plan-level policy rule (policy/evaluate.py) both read this.
"""

from __future__ import annotations

from reconciler.plan.exposure import CouponExposure, OrderCap, adds_and_removes, coupon_exposure, quantity
from reconciler.plan.model import Action
from reconciler.plan.stock_exposure import changes_stocks_only, stock_priced_changes

# Calls that change how many coupons of a live coupon can be issued (reference A.6.6; decision D30).
QUANTITY_OPERATIONS: frozenset[str] = frozenset({"shop.update_stock"})


def priced_changes(action: Action, cap: OrderCap | None) -> tuple[CouponExposure | None, CouponExposure | None]:
    """(added, removed) by `action`, each None when the action adds (removes) nothing; a CouponExposure whose `fen`
    is None when it adds (removes) coupons whose value depends on the order and no cap applies."""
    if any(call.operation in QUANTITY_OPERATIONS for call in action.calls):
        return _quantity_change(action, cap)
    if changes_stocks_only(action):  # a live product coupon's stock calls, each priced (decision D29)
        return stock_priced_changes(action, cap)
    adds, removes = adds_and_removes(action)
    added = coupon_exposure(action.kind, action.after, cap) if adds else None
    removed = coupon_exposure(action.kind, action.before, cap) if removes else None
    return added, removed


def _quantity_change(action: Action, cap: OrderCap | None) -> tuple[CouponExposure | None, CouponExposure | None]:
    if action.before is None or action.after is None:
        return None, None
    was, now = quantity(action.kind, action.before), quantity(action.kind, action.after)
    if was is None or now is None or was == now:
        return None, None
    old = coupon_exposure(action.kind, action.before, cap)
    new = coupon_exposure(action.kind, action.after, cap)
    if old.fen is None or new.fen is None:
        unpriced = CouponExposure(None)
        return (unpriced, None) if now > was else (None, unpriced)
    if new.fen > old.fen:
        return CouponExposure(new.fen - old.fen, new.basis), None
    return None, CouponExposure(old.fen - new.fen, old.basis)
