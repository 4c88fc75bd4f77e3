"""Hypothesis strategies for the agreement test: manifests of every shop type and every product scope × type ×
usage mode, with values drawn around each documented limit (just below, at, just above), plus the variations that
only our stricter rules refuse (limits.STRICTER_RULES)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

CLAIM_START = 1_857_000_000  # 2028-11: in the future of any CI clock, so no plan-time window rule interferes
DAY = 86_400
NEEDS: dict[int, frozenset[str]] = {
    1: frozenset({"out_product_ids", "product_cnt", "discount_num"}),
    2: frozenset({"out_product_ids", "product_price", "discount_fee"}),
    3: frozenset({"out_product_ids", "discount_num"}),
    4: frozenset({"out_product_ids", "discount_fee"}),
    5: frozenset({"out_product_ids", "tradein_info"}),
    6: frozenset({"buyget_info"}),
    101: frozenset({"product_cnt", "discount_num"}),
    102: frozenset({"product_price", "discount_fee"}),
    103: frozenset({"discount_num"}),
    104: frozenset({"discount_fee"}),
}
SHOP_TYPES = sorted(NEEDS)
_COND = ("out_product_ids", "product_cnt", "product_price", "tradein_info", "buyget_info")

# Around the documented money limits (A.5) and beyond.
DISCOUNT_NUMS = st.sampled_from([1000, 1500, 1900, 2000, 2100, 5000, 8500, 9900, 10000]) | st.integers(20, 100).map(
    lambda n: n * 100
)
FEES = st.sampled_from([1, 500, 7999, 8000, 8001, 19999, 20000, 20001, 25000]) | st.integers(1, 30_000)
PRICES = st.sampled_from([1, 5000, 10000, 10001, 25000, 25001]) | st.integers(1, 200_000)
NAMES = st.sampled_from(["券", "满100减20", "十个字的优惠券名字啊", "十一个字的优惠券名字啊", "x" * 30])


# One breakage at most per manifest, so that when both sides refuse they can be asked to name the same rule:
# the focus is the one place drawn around its limits; everything else takes a safe value.
SHOP_FOCI = (
    "none",
    "discount_num",
    "money",
    "name",
    "promote_type",
    "promote_info",
    "claim_window",
    "valid_window",
    "limit",
    "unused_field",
    "unused_valid_field",
    "duplicate_ids",
)
SAFE = {
    "out_product_ids": ["mug-1", "cup-2"],
    "product_cnt": 2,
    "product_price": 10000,
    "tradein_info": {"out_product_id": "tea-3", "price": 990},
    "buyget_info": {
        "buy_out_product_id": "mug-1",
        "buy_product_cnt": 2,
        "get_out_product_id": "cup-2",
        "get_product_cnt": 1,
    },
    "discount_num": 8500,
    "discount_fee": 2000,
}


@st.composite
def shop_manifest(draw: st.DrawFn, coupon_type: int) -> dict[str, Any]:
    """A ShopCoupon document of `coupon_type`: safe values, except one focus drawn around its limits."""
    needs = NEEDS[coupon_type]
    focus = draw(st.sampled_from(SHOP_FOCI))
    values = {
        key: (list(value) if isinstance(value, list) else dict(value) if isinstance(value, dict) else value)
        for key, value in SAFE.items()
    }
    fields = set(needs)
    if focus == "discount_num":
        values["discount_num"] = draw(DISCOUNT_NUMS)
    elif focus == "money":
        values["discount_fee"] = draw(FEES)
        values["product_price"] = draw(PRICES)
    elif focus == "unused_field":  # the doc example does it; our stricter rule refuses it
        fields |= {draw(st.sampled_from(sorted(set(_COND) | {"discount_num", "discount_fee"})))}
        values["discount_num"] = draw(DISCOUNT_NUMS)  # an unused field's value is never checked upstream
        values["discount_fee"] = draw(FEES)
    elif focus == "duplicate_ids":
        values["out_product_ids"] = ["mug-1", "mug-1"]
    condition = {key: values[key] for key in _COND if key in fields}
    discount: dict[str, Any] = {key: values[key] for key in ("discount_num", "discount_fee") if key in fields}
    if condition:
        discount["discount_condition"] = condition
    start = CLAIM_START + draw(st.integers(0, 30)) * DAY
    end = start + (draw(st.sampled_from([-1, 0, 1, DAY])) if focus == "claim_window" else 30 * DAY)
    total = draw(st.integers(2, 1000))
    limit = draw(st.sampled_from([1, total, total + 1])) if focus == "limit" else 1
    valid_type = draw(st.sampled_from([1, 2, 3]))
    valid: dict[str, Any] = {"valid_type": valid_type}
    if valid_type == 1:
        valid["start_time"] = start
        valid["end_time"] = end + (draw(st.sampled_from([-30 * DAY, -1, 0, DAY])) if focus == "valid_window" else DAY)
    elif valid_type == 2:
        valid["valid_day_num"] = draw(st.integers(1, 30))
    else:
        valid["valid_second"] = draw(st.integers(1, 10 * DAY))
    if focus == "unused_valid_field":  # a companion the valid_type does not use (the doc example sends them)
        valid["valid_second" if valid_type != 3 else "valid_day_num"] = 3600
    promote_type = draw(st.sampled_from([1, 4, 7])) if focus == "promote_type" else 4
    info: dict[str, Any] = {"name": draw(NAMES) if focus == "name" else "满100减20"}
    if focus != "promote_info":
        info["promote_info"] = {"promote_type": promote_type, "finder": {"nickname": "咖啡实验室"}}
    info |= {
        "discount_info": discount,
        "receive_info": {"start_time": start, "end_time": end, "limit_num_one_person": limit, "total_num": total},
        "valid_info": valid,
    }
    return {"type": coupon_type, "promote_type": promote_type, "coupon_info": info}


SCOPES = ("ALL", "SINGLE")
PRODUCT_TYPES = ("NORMAL", "DISCOUNT", "EXCHANGE")
USAGE_MODES = ("SINGLE", "PROGRESSIVE_BUNDLE", "SEQUENTIAL")
IMAGE = "https://wxpaylogo.qpic.cn/wxpaylogo/agreement/"
PERIOD = {"available_begin_time": "2028-12-01T00:00:00+08:00", "available_end_time": "2028-12-31T23:59:59+08:00"}


SAFE_RULES = {
    "NORMAL": {"threshold": 10000, "discount_amount": 500},
    "DISCOUNT": {"threshold": 10000, "percent_off": 20},
    "EXCHANGE": {"threshold": 0, "exchange_price": 990},
}
PRODUCT_FOCI = ("none", "name", "display_price", "rule", "count", "interval_days")


@st.composite
def _rule(draw: st.DrawFn, coupon_type: str) -> dict[str, Any]:
    threshold = draw(st.sampled_from([0, 10000]))
    if coupon_type == "NORMAL":
        return {"threshold": threshold, "discount_amount": draw(st.sampled_from([1, 500, 9999, 10000, 12000]))}
    if coupon_type == "DISCOUNT":
        return {"threshold": threshold, "percent_off": draw(st.sampled_from([0, 1, 20, 99, 100]))}
    return {"threshold": threshold, "exchange_price": draw(st.sampled_from([0, 100, 990]))}


def _stock_common() -> dict[str, Any]:
    return {
        "coupon_code_mode": "WECHATPAY",
        "stock_send_rule": {"max_count": 1000, "max_count_per_user": 1},
        "usage_rule_display_info": {"coupon_usage_method_list": ["OFFLINE"], "usage_description": "到店出示使用"},
        "coupon_display_info": {"code_display_mode": "QRCODE"},
        "notify_config": {"notify_appid": "wx1234567890abcdef"},
        "store_scope": "NONE",
    }


@st.composite
def product_manifest(draw: st.DrawFn, scope: str, coupon_type: str, usage_mode: str) -> dict[str, Any]:
    """A ProductCoupon spec for one scope × type × usage mode: safe values, except one focus drawn around the
    B.2-B.4 limits (none when the combination itself is refused: EXCHANGE on ALL, legacy SEQUENTIAL)."""
    broken = (coupon_type == "EXCHANGE" and scope == "ALL") or usage_mode == "SEQUENTIAL"
    focus = "none" if broken else draw(st.sampled_from(PRODUCT_FOCI))
    names = ["满减", "满100减", "十五个字的商品券名字啊啊啊啊啊", "十六个字的商品券名字啊啊啊啊啊啊"]
    display: dict[str, Any] = {
        "name": draw(st.sampled_from(names)) if focus == "name" else "满100减10",
        "image_url": IMAGE + "a.png",
        "background_url": IMAGE + "b.png",
    }
    # Required for SINGLE; on ALL only a warning (the PATCH doc example shows them there).
    with_price = (scope == "SINGLE") != (focus == "display_price")
    if with_price:
        display["original_price"] = 3000
        display["combo_package_list"] = [
            {"name": "单品", "pick_count": 1, "choice_list": [{"name": "美式咖啡", "price": 3000, "count": 1}]}
        ]
    spec: dict[str, Any] = {"scope": scope, "type": coupon_type, "usage_mode": usage_mode, "display_info": display}
    rule_key = {"NORMAL": "normal_coupon", "DISCOUNT": "discount_coupon", "EXCHANGE": "exchange_coupon"}[coupon_type]

    def rule() -> dict[str, Any]:
        return draw(_rule(coupon_type)) if focus == "rule" else dict(SAFE_RULES[coupon_type])

    if usage_mode == "SINGLE":
        usage: dict[str, Any] = {"coupon_available_period": dict(PERIOD)}
        if scope == "ALL" and coupon_type != "EXCHANGE":  # EXCHANGE has no place on ALL: only `type` is wrong
            spec["single_usage_info"] = {rule_key: rule()}
        else:
            usage[rule_key] = rule()
        spec["stock"] = {**_stock_common(), "single_usage_rule": usage}
        return spec
    count = draw(st.sampled_from([2, 3, 4, 15, 16])) if focus == "count" else 3
    ladder = {"coupon_available_period": dict(PERIOD), rule_key + "_list": [rule() for _ in range(count)]}
    if usage_mode == "PROGRESSIVE_BUNDLE":
        interval = draw(st.sampled_from([0, 7, 8])) if focus == "interval_days" else 1
        spec["progressive_bundle_usage_info"] = {"count": count, "interval_days": interval}
        spec["stock_bundle"] = {**_stock_common(), "progressive_bundle_usage_rule": ladder}
    else:
        spec["sequential_usage_info"] = {"type": "EQUAL", "count": count, "available_days": 30}
        spec["stock"] = {**_stock_common(), "sequential_usage_rule": ladder}
    return spec
