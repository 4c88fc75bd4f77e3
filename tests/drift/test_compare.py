"""Drift comparison: state's last-known upstream object against what upstream holds now (contract §2.6)."""

from __future__ import annotations

from reconciler.plan.drift import compare, diff_values, refreshed, unmanaged_shop
from reconciler.plan.model import FieldChange
from reconciler.resources import IgnoreRule, ResourceState

SHOP = {
    "out_coupon_id": "d11-a",
    "type": 102,
    "promote_type": 4,
    "status": 2,
    "coupon_info": {"name": "满100减20", "discount_info": {"discount_fee": 2000}, "ext_info": {"valid_time": 1}},
}
PRODUCT = {
    "product_coupon_id": "1000000001",
    "state": "EFFECTIVE",
    "scope": "ALL",
    "display_info": {"name": "咖啡券", "image_url": "https://wxpaylogo.qpic.cn/a.png"},
    "stocks": {"main": {"stock_send_rule": {"max_count": 100}}},
}


def shop_resource(upstream: dict[str, object] = SHOP) -> ResourceState:
    return ResourceState("shop_coupon.d11-a", "ShopCoupon", "d11-a", upstream, "digest")


def product_resource() -> ResourceState:
    return ResourceState("product_coupon.coffee", "ProductCoupon", "1000000001", PRODUCT, "digest", brand_id="120344")


def test_identical_upstream_is_not_drift() -> None:
    """A coupon upstream exactly as state remembers it reports no drift."""
    assert compare(shop_resource(), dict(SHOP)) is None


def test_console_edit_is_reported_field_by_field() -> None:
    """An out-of-band edit of a shop coupon's discount is one FieldChange with before and after."""
    current = {**SHOP, "coupon_info": {**SHOP["coupon_info"], "discount_info": {"discount_fee": 3000}}}  # type: ignore[dict-item]
    item = compare(shop_resource(), current)
    assert item is not None and item.category == "changed"
    assert item.changes == (FieldChange("coupon_info.discount_info.discount_fee", "change", 2000, 3000),)


def test_upstream_maintained_fields_are_not_drift() -> None:
    """Update times, activation time and stock counters change by themselves and are not drift."""
    current = {**SHOP, "update_time": 99, "coupon_info": {**SHOP["coupon_info"], "ext_info": {"valid_time": 7}}}  # type: ignore[dict-item]
    assert compare(shop_resource(), current) is None


def test_product_get_without_stock_is_not_drift() -> None:
    """GET never returns stocks (reference B.2), so their absence is not drift."""
    current = {k: v for k, v in PRODUCT.items() if k != "stocks"}
    assert compare(product_resource(), current) is None


def test_missing_and_terminal_are_their_own_categories() -> None:
    """A coupon gone upstream is `missing`; one deactivated outside couponctl is `terminal`."""
    missing = compare(product_resource(), None)
    assert missing is not None and missing.category == "missing"
    ended = compare(product_resource(), {**PRODUCT, "state": "DEACTIVATED"})
    assert ended is not None and ended.category == "terminal"
    voided = compare(shop_resource(), {**SHOP, "status": 4})
    assert voided is not None and voided.category == "terminal"


def test_ignore_rules_silence_a_field() -> None:
    """A field under an ignore_drift rule is never reported."""
    current = {**SHOP, "coupon_info": {**SHOP["coupon_info"], "name": "改过的名字"}}  # type: ignore[dict-item]
    assert compare(shop_resource(), current, (IgnoreRule("coupon_info.name", "ops rename it"),)) is None


def test_refreshed_keeps_the_recorded_stock() -> None:
    """Accepting upstream into state keeps the stock recorded at creation."""
    current = {**{k: v for k, v in PRODUCT.items() if k != "stocks"}, "display_info": {"name": "新名字"}}
    new = refreshed(product_resource(), current, "2026-01-01T00:00:00Z")
    assert new.upstream["stocks"] == PRODUCT["stocks"]
    assert new.upstream["display_info"] == {"name": "新名字"}


def test_unmanaged_shop_coupons_are_listed_by_address() -> None:
    """Shop coupons no state entry manages are reported, sorted, with an import hint."""
    items = unmanaged_shop([{"out_coupon_id": "z"}, {"out_coupon_id": "d11-a"}, {"out_coupon_id": "b"}], {"d11-a"})
    assert [i.address for i in items] == ["shop_coupon.b", "shop_coupon.z"]
    assert all(i.category == "unmanaged" and "import" in (i.note or "") for i in items)


def test_diff_values_reports_added_and_removed_keys() -> None:
    """Keys that appear or disappear are `add` / `remove` changes; list items are compared one by one (as in plans),
    and a list whose length changed is one change; ignored paths are left out, with everything under them."""
    changes = diff_values({"a": 1, "l": [1, 2], "m": [1]}, {"b": 2, "l": [1, 3], "m": [1, 2]})
    assert changes == [
        FieldChange("a", "remove", before=1),
        FieldChange("b", "add", after=2),
        FieldChange("l[1]", "change", 2, 3),
        FieldChange("m", "change", [1], [1, 2]),
    ]
    assert diff_values({"l": [1, 2], "x": {"y": 1}}, {"l": [1, 3], "x": {"y": 2}}, ignored=frozenset({"l", "x"})) == []
