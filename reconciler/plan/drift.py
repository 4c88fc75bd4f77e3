"""Pure: compare the last-known upstream object in state with what upstream holds now (design §2.6).

Only fields a user or the console can change are compared. Read-only bookkeeping that upstream maintains by itself
(create/update times, appid, activation time, stock counters) is not drift. Stocks of product coupons are never
returned by GET (reference B.2), so the stock recorded at creation is kept as it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from reconciler.plan.diff import diff_values as planner_diff
from reconciler.plan.diff import under
from reconciler.plan.kinds import SHOP_RULES, STOCK_KEYS
from reconciler.plan.model import DriftItem, FieldChange
from reconciler.resources import IgnoreRule, ResourceState, make_address

# Upstream-maintained fields that are not drift: the response-only fields of kinds.py, except the lifecycle
# (a status / state moved outside couponctl is drift), plus stocks, which GET never returns (reference B.2).
SHOP_IGNORED = (SHOP_RULES.read_only - {"status"}) | {".".join(p) for p in SHOP_RULES.read_only_nested}
PRODUCT_IGNORED = frozenset({*STOCK_KEYS, "brand_id"})


def diff_values(before: Any, after: Any, path: str = "", ignored: frozenset[str] = frozenset()) -> list[FieldChange]:
    """The planner's field-level diff, without the changes at or under an ignored path."""

    def kept(change: FieldChange) -> bool:
        return not any(under(change.path, p) for p in ignored)

    return [c for c in planner_diff(before, after, path) if kept(c)]


def _ignored_for(resource: ResourceState, rules: Sequence[IgnoreRule]) -> frozenset[str]:
    base = SHOP_IGNORED if resource.kind == "ShopCoupon" else PRODUCT_IGNORED
    return base | {r.path for r in rules}


def compare(
    resource: ResourceState, current: Mapping[str, Any] | None, rules: Sequence[IgnoreRule] = ()
) -> DriftItem | None:
    """The drift of one managed coupon, or None when upstream still matches state."""
    if current is None:
        return DriftItem(
            resource.address,
            resource.kind,
            "missing",
            upstream_id=resource.upstream_id,
            note="upstream no longer knows this coupon",
        )
    changes = tuple(diff_values(resource.upstream, current, "", _ignored_for(resource, rules)))
    if resource.kind == "ProductCoupon" and current.get("state") == "DEACTIVATED" and resource.status != "DEACTIVATED":
        return DriftItem(
            resource.address,
            resource.kind,
            "terminal",
            changes=changes,
            upstream_id=resource.upstream_id,
            note="deactivated outside couponctl (irreversible)",
        )
    if (
        resource.kind == "ShopCoupon"
        and current.get("status") in (3, 4)
        and resource.upstream.get("status") not in (3, 4)
    ):
        return DriftItem(
            resource.address,
            resource.kind,
            "terminal",
            changes=changes,
            upstream_id=resource.upstream_id,
            note="expired or voided outside couponctl (terminal)",
        )
    if not changes:
        return None
    return DriftItem(resource.address, resource.kind, "changed", changes=changes, upstream_id=resource.upstream_id)


def refreshed(resource: ResourceState, current: Mapping[str, Any], now_iso: str) -> ResourceState:
    """The resource with upstream's current object as last-known (keeping the stock recorded at creation)."""
    upstream = dict(current)
    if resource.kind == "ProductCoupon":
        for key in STOCK_KEYS:
            if key not in upstream and key in resource.upstream:
                upstream[key] = resource.upstream[key]
    return replace(resource, upstream=upstream, updated_at=now_iso)


def unmanaged_shop(listed: Iterable[Mapping[str, Any]], managed_ids: set[str]) -> list[DriftItem]:
    """Shop coupons upstream that no state entry manages (get_list enumerates them all, reference A.6.4)."""
    items = []
    for coupon in listed:
        out_id = str(coupon.get("out_coupon_id", ""))
        if out_id and out_id not in managed_ids:
            items.append(
                DriftItem(
                    make_address("ShopCoupon", out_id),
                    "ShopCoupon",
                    "unmanaged",
                    upstream_id=out_id,
                    note="exists upstream but no manifest or state manages it (couponctl import can adopt it)",
                )
            )
    return sorted(items, key=lambda d: d.address)
