"""The money the stock calls of a live product coupon add or remove (decision D29; priced with `plan.exposure`). Pure.

A coupon created or replaced by the plan is priced whole (`exposure.coupon_exposure`: every declared stock). For a
coupon that stays, each stock call is priced on its own, with the coupon's face value (or order cap):

- `product.stock.add` / `product.bundle.add`: the new stock's whole `max_count` (a replacement stock starts with its
  full budget);
- `update_budget` of `max_count`: the difference, `(target - current)` coupons, added when raised, removed when
  lowered (a per-day cap changes no total);
- `product.stock.deactivate`: the stock's `max_count` as state knows it is no longer claimable (an upper bound, like a
  deactivated coupon: coupons already sent stay valid, reference B.8). A bundle's step stocks count once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.plan.exposure import Basis, CouponExposure, OrderCap, coupon_exposure
from reconciler.plan.model import Action
from reconciler.plan.stock_calls import BUNDLES, FAMILIES, STOCKS, Family

STOCK_MONEY_OPERATIONS: frozenset[str] = frozenset(
    {
        "product.stock.add",
        "product.stock.update_budget",
        "product.stock.deactivate",
        "product.bundle.add",
        "product.bundle.update_budget",
    }
)


def changes_stocks_only(action: Action) -> bool:
    """The action changes the stocks of a coupon that stays (no create or deactivation of the coupon itself)."""
    operations = {call.operation for call in action.calls}
    return bool(operations & STOCK_MONEY_OPERATIONS) and not operations & {"product.create", "product.deactivate"}


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _family(operation: str) -> Family:
    return BUNDLES if operation.startswith("product.bundle.") else STOCKS


def _priced(
    body: Mapping[str, Any], family: Family, stock: Mapping[str, Any], count: int, cap: OrderCap | None
) -> CouponExposure:
    """`count` coupons of `stock`, priced as if the coupon held only it."""
    rule = stock.get("stock_send_rule")
    one = {**stock, "stock_send_rule": {**(rule if isinstance(rule, Mapping) else {}), "max_count": count}}
    holder = {k: v for k, v in body.items() if k not in {f.key for f in FAMILIES}}
    return coupon_exposure("ProductCoupon", {**holder, family.key: {"priced": one}}, cap)


def _known_stock(body: Mapping[str, Any] | None, family: Family, name: str | None) -> Mapping[str, Any] | None:
    stocks = body.get(family.key) if isinstance(body, Mapping) else None
    found = stocks.get(name) if isinstance(stocks, Mapping) and name is not None else None
    return found if isinstance(found, Mapping) else None


class _Sum:
    def __init__(self) -> None:
        self.fen = 0
        self.any = False
        self.unpriced = False
        self.basis: Basis | None = None

    def add(self, found: CouponExposure) -> None:
        self.any = True
        if found.fen is None:
            self.unpriced = True
        else:
            self.fen += found.fen
            self.basis = self.basis or found.basis

    def result(self) -> CouponExposure | None:
        if not self.any:
            return None
        if self.unpriced:
            return CouponExposure(None)
        return CouponExposure(self.fen, self.basis)


def stock_priced_changes(action: Action, cap: OrderCap | None) -> tuple[CouponExposure | None, CouponExposure | None]:
    """(added, removed) by the stock calls of `action` (see the module doc); None for a side that moves nothing."""
    body = action.after or action.before or {}
    added, removed = _Sum(), _Sum()
    deactivated: set[tuple[str, str | None]] = set()
    for call in action.calls:
        family = _family(call.operation)
        if call.operation in (STOCKS.add, BUNDLES.add):
            stock = call.payload.get(family.body_key)
            count = _int(stock.get("stock_send_rule", {}).get("max_count")) if isinstance(stock, Mapping) else None
            if isinstance(stock, Mapping) and count is not None:
                added.add(_priced(body, family, stock, count, cap))
        elif call.operation in (STOCKS.update_budget, BUNDLES.update_budget):
            current, target = _int(call.payload.get("current_max_count")), _int(call.payload.get("target_max_count"))
            stock = _known_stock(action.after, family, call.stock_name)
            if current is None or target is None or stock is None or current == target:
                continue
            side = added if target > current else removed
            side.add(_priced(body, family, stock, abs(target - current), cap))
        elif call.operation == "product.stock.deactivate":
            owner = BUNDLES if _known_stock(action.before, BUNDLES, call.stock_name) is not None else STOCKS
            if (owner.key, call.stock_name) in deactivated:
                continue
            deactivated.add((owner.key, call.stock_name))
            stock = _known_stock(action.before, owner, call.stock_name)
            count = _int((stock or {}).get("stock_send_rule", {}).get("max_count"))
            if stock is not None and count is not None:
                removed.add(_priced(action.before or body, owner, stock, count, cap))
    return added.result(), removed.result()
