"""Worst-case cost of one coupon body, in fen: what upstream lets every issued coupon take off. Pure.

- A fixed amount (shop types 2, 4, 102, 104; product NORMAL): quantity × face value (reference A.5, B.2, B.4).
- A coupon whose value depends on the order (discount percentages, trade-in, buy-get, EXCHANGE, bundles) has no
  price of its own. With an order cap (`max_order_fen` declared on the manifest, or `[policy] default_max_order_fen`
  in couponctl.toml) it is bounded: quantity × uses × the most one use can take off an order of the cap (the percent
  off for percentage coupons, the whole order otherwise). Without a cap it stays unpriced (None): never `¥0.00`.

The renderers and the policy engine read this one module, so the plan's money line and the rules agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from reconciler.plan import kinds
from reconciler.plan.model import Action
from reconciler.stocks import first_stock, iter_stocks

Basis = Literal["face value", "declared cap", "configured cap"]


@dataclass(frozen=True, slots=True)
class OrderCap:
    """The largest order value a coupon is priced against, and where that figure comes from."""

    fen: int
    declared: bool  # on the manifest (True) or from `[policy] default_max_order_fen` (False)


@dataclass(frozen=True, slots=True)
class CouponExposure:
    """`fen` is None when the value depends on the order and no cap applies."""

    fen: int | None
    basis: Basis | None = None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def get(body: Mapping[str, Any] | None, *path: str) -> Any:
    value: Any = body
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def quantity(kind: str, body: Mapping[str, Any]) -> int | None:
    """Coupons that can be issued: shop `total_num`, product `stock_send_rule.max_count` summed over its stocks (or
    stock bundles, decision D29); None when no stock states one."""
    if kind == "ShopCoupon":
        return _int(get(body, "coupon_info", "receive_info", "total_num"))
    counts = [_int(get(stock, "stock_send_rule", "max_count")) for _, _, stock in iter_stocks(body)]
    known = [count for count in counts if count is not None]
    return sum(known) if known else None


def _first_stock(body: Mapping[str, Any]) -> Mapping[str, Any] | None:
    first = first_stock(body)
    return first[2] if first is not None and isinstance(first[2], Mapping) else None


def face_value(kind: str, body: Mapping[str, Any]) -> int | None:
    """The fixed amount one use takes off (fen), or None for a coupon whose value depends on the order."""
    if kind == "ShopCoupon":
        if _int(body.get("type")) not in kinds.SHOP_REDUCTION_TYPES:
            return None
        return _int(get(body, "coupon_info", "discount_info", "discount_fee"))
    if body.get("type") != "NORMAL" or body.get("usage_mode") != "SINGLE":
        return None
    amount = _int(get(body, "single_usage_info", "normal_coupon", "discount_amount"))
    if amount is None:
        amount = _int(get(_first_stock(body), "single_usage_rule", "normal_coupon", "discount_amount"))
    return amount


def percent_off(kind: str, body: Mapping[str, Any]) -> int | None:
    """Discount depth in percent for percentage coupons (shop discount_num 8000 = 8折 = 20 % off), else None."""
    if kind == "ShopCoupon":
        num = _int(get(body, "coupon_info", "discount_info", "discount_num"))
        if _int(body.get("type")) in (1, 3, 101, 103) and num is not None:
            return max(0, 100 - num // 100)
        return None
    if body.get("type") != "DISCOUNT":
        return None
    for holder, path in ((body, "single_usage_info"), (_first_stock(body), "single_usage_rule")):
        found = _int(get(holder, path, "discount_coupon", "percent_off"))
        if found is not None:
            return found
    return None


def threshold(kind: str, body: Mapping[str, Any]) -> int | None:
    """The order value a fixed-amount coupon needs (满X), or None."""
    if kind == "ShopCoupon":
        return _int(get(body, "coupon_info", "discount_info", "discount_condition", "product_price"))
    for holder, path in ((body, "single_usage_info"), (_first_stock(body), "single_usage_rule")):
        found = _int(get(holder, path, "normal_coupon", "threshold"))
        if found is not None:
            return found
    return None


def _uses(kind: str, body: Mapping[str, Any]) -> int:
    if kind == "ProductCoupon":
        return _int(get(body, "progressive_bundle_usage_info", "count")) or 1
    return 1


def coupon_exposure(kind: str, body: Mapping[str, Any] | None, cap: OrderCap | None = None) -> CouponExposure:
    """The worst-case cost of every coupon of one body (see the module doc)."""
    if body is None:
        return CouponExposure(None)
    count = quantity(kind, body)
    if count is None:
        return CouponExposure(None)
    fixed = face_value(kind, body)
    if fixed is not None:
        return CouponExposure(count * fixed, "face value")
    if cap is None:
        return CouponExposure(None)
    percent = percent_off(kind, body)
    per_use = cap.fen if percent is None else -(-cap.fen * percent // 100)  # rounded up: an upper bound
    return CouponExposure(count * _uses(kind, body) * per_use, "declared cap" if cap.declared else "configured cap")


# The plan records the caps it was priced with in `Plan.meta`, so a saved plan renders the same figures anywhere:
# "order_caps" maps an address to its declared `max_order_fen`; "default_max_order_fen" is the configured cap.
META_DECLARED = "order_caps"
META_DEFAULT = "default_max_order_fen"


def cap_for(meta: Mapping[str, Any], address: str) -> OrderCap | None:
    """The cap an address is priced with: its declared one, else the configured default, else None."""
    declared = meta.get(META_DECLARED)
    if isinstance(declared, Mapping) and _int(declared.get(address)) is not None:
        return OrderCap(int(declared[address]), declared=True)
    default = _int(meta.get(META_DEFAULT))
    return OrderCap(default, declared=False) if default is not None else None


def caps_meta(declared: Mapping[str, int], default: int | None) -> dict[str, Any]:
    """The `Plan.meta` entries for these caps (none when there are none, so plans without caps keep their shape)."""
    meta: dict[str, Any] = {}
    if declared:
        meta[META_DECLARED] = dict(sorted(declared.items()))
    if default is not None:
        meta[META_DEFAULT] = default
    return meta


def adds_and_removes(action: Action) -> tuple[bool, bool]:
    """Whether an action makes its coupon claimable (adds exposure) and whether it stops a claimable one (releases
    the unissued part): shop `update_status(2)` / a move of an active coupon to 3 or 4; product create / deactivate.
    A budget or stock raise would add exposure too, once stocks are modelled (issue 16); today no action raises one."""
    if action.kind == "ShopCoupon":
        statuses = [c.payload.get("status") for c in action.calls if c.operation == "shop.update_status"]
        return 2 in statuses, action.status_before == "2" and any(s in (3, 4) for s in statuses)
    return (
        any(c.operation == "product.create" for c in action.calls),
        any(c.operation == "product.deactivate" for c in action.calls),
    )
