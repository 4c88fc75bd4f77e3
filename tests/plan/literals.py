"""Hand-written desired coupons and resource states for planner and renderer tests (no manifest loader involved)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from reconciler.plan.model import DriftItem, Plan
from reconciler.plan.planner import make_plan
from reconciler.resources import DesiredCoupon, IgnoreRule, ResourceState, SourceRef

NOW = datetime(2026, 11, 1, 0, 0, tzinfo=UTC)
CLAIM_START = 1794326400  # 2026-11-11 00:00:00 +08:00
CLAIM_END = 1794412800  # 2026-11-12 00:00:00 +08:00
LINEAGE = "6f1c2a7e-0000-4000-8000-00000000c0de"
BRAND = "120344"


def shop_body(
    out_coupon_id: str = "d11-100-off-20",
    *,
    name: str = "双11满100减20",
    discount_fee: int = 2000,
    total_num: int = 10000,
    start: int = CLAIM_START,
    end: int = CLAIM_END,
    coupon_type: int = 102,
) -> dict[str, Any]:
    """A ShopCoupon body in normalised upstream form (reference A.3)."""
    discount: dict[str, Any] = {"discount_condition": {"product_price": 10000}, "discount_fee": discount_fee}
    if coupon_type in (101, 103):
        discount = {"discount_condition": {"product_cnt": 2}, "discount_num": 8500}
    return {
        "out_coupon_id": out_coupon_id,
        "type": coupon_type,
        "promote_type": 4,
        "coupon_info": {
            "name": name,
            "promote_info": {"promote_type": 4, "finder": {"nickname": "视频号昵称"}},
            "discount_info": discount,
            "receive_info": {"start_time": start, "end_time": end, "limit_num_one_person": 1, "total_num": total_num},
            "valid_info": {"valid_type": 2, "valid_day_num": 3},
        },
    }


def shop_upstream(body: dict[str, Any], status: int) -> dict[str, Any]:
    """What upstream returns for a body: the body plus response-only fields (reference A.3)."""
    upstream = {
        **body,
        "status": status,
        "create_time": 1793500000,
        "update_time": 1793500100,
        "appid": "wx0000000000000001",
    }
    if status >= 2:
        upstream["coupon_info"] = {**body["coupon_info"], "ext_info": {"valid_time": 1793500100}}
    return upstream


def shop(
    name: str,
    status: str = "active",
    *,
    body: dict[str, Any] | None = None,
    protect: bool = False,
    file: str = "manifests/double11/shop.yaml",
    line: int = 1,
    ignore: tuple[IgnoreRule, ...] = (),
) -> DesiredCoupon:
    return DesiredCoupon(
        kind="ShopCoupon",
        name=name,
        status=status,
        body=body if body is not None else shop_body(name),
        source=SourceRef(file, line),
        protect=protect,
        ignore_drift=ignore,
    )


def shop_state(name: str, status: int, *, body: dict[str, Any] | None = None, protect: bool = False) -> ResourceState:
    upstream_body = body if body is not None else shop_body(name)
    return ResourceState(
        address=f"shop_coupon.{name}",
        kind="ShopCoupon",
        upstream_id=str(upstream_body["out_coupon_id"]),
        upstream=shop_upstream(upstream_body, status),
        desired_digest="",
        protect=protect,
        created_at="2026-10-20T08:00:00Z",
        updated_at="2026-10-20T08:00:01Z",
    )


def product_body(
    *,
    display_name: str = "咖啡满100减20",
    discount_amount: int = 2000,
    max_count: int = 1000,
    out_product_no: str = "coffee-combo",
    begin: str = "2026-11-11T00:00:00+08:00",
    end: str = "2026-12-11T00:00:00+08:00",
) -> dict[str, Any]:
    """A ProductCoupon create body minus out_request_no and brand_id (reference B.2-B.5)."""
    return {
        "scope": "ALL",
        "type": "NORMAL",
        "usage_mode": "SINGLE",
        "single_usage_info": {"normal_coupon": {"threshold": 10000, "discount_amount": discount_amount}},
        "display_info": {
            "name": display_name,
            "image_url": "https://wxpaylogo.qpic.cn/wxpaylogo/coffee.png",
            "background_url": "https://wxpaylogo.qpic.cn/wxpaylogo/coffee-bg.png",
        },
        "out_product_no": out_product_no,
        "stocks": {  # decision D29: named stocks; the first is sent with create
            "main": {
                "remark": "first batch",
                "coupon_code_mode": "WECHATPAY",
                "stock_send_rule": {"max_count": max_count, "max_count_per_user": 1},
                "single_usage_rule": {
                    "coupon_available_period": {"available_begin_time": begin, "available_end_time": end}
                },
                "usage_rule_display_info": {
                    "coupon_usage_method_list": ["MINI_PROGRAM"],
                    "mini_program_appid": "wx0000000000000001",
                    "mini_program_path": "/pages/coupon",
                    "usage_description": "全场满100可用",
                },
                "coupon_display_info": {"code_display_mode": "QRCODE"},
                "notify_config": {"notify_appid": "wx0000000000000001"},
                "store_scope": "NONE",
            }
        },
    }


def sequential_body(*, begin: str, end: str) -> dict[str, Any]:
    """A legacy usage_mode SEQUENTIAL body (reference B.0, B.4): its claim window is in the stock's
    sequential_usage_rule (stocks.main)."""
    body = product_body(begin=begin, end=end)
    del body["single_usage_info"]
    stock = dict(body["stocks"]["main"])
    period = stock.pop("single_usage_rule")["coupon_available_period"]
    stock["sequential_usage_rule"] = {
        "coupon_available_period": period,
        "normal_coupon_list": [
            {"threshold": 10000, "discount_amount": 1000},
            {"threshold": 10000, "discount_amount": 2000},
        ],
    }
    return {
        **body,
        "usage_mode": "SEQUENTIAL",
        "sequential_usage_info": {"type": "INCREMENTAL", "count": 2, "available_days": 30},
        "stocks": {"main": stock},
    }


def product(
    name: str,
    *,
    body: dict[str, Any] | None = None,
    protect: bool = False,
    brand_id: str | None = None,
    file: str = "manifests/double11/product.yaml",
    line: int = 1,
) -> DesiredCoupon:
    return DesiredCoupon(
        kind="ProductCoupon",
        name=name,
        status="active",
        body=body if body is not None else product_body(),
        source=SourceRef(file, line),
        protect=protect,
        brand_id=brand_id,
    )


def product_state(
    name: str,
    state: str = "EFFECTIVE",
    *,
    coupon_id: str = "1000000013",
    body: dict[str, Any] | None = None,
    protect: bool = False,
) -> ResourceState:
    upstream = {
        **(body if body is not None else product_body()),
        "product_coupon_id": coupon_id,
        "brand_id": BRAND,
        "state": state,
    }
    return ResourceState(
        address=f"product_coupon.{name}",
        kind="ProductCoupon",
        upstream_id=coupon_id,
        upstream=upstream,
        desired_digest="",
        protect=protect,
        brand_id=BRAND,
        created_at="2026-10-20T08:00:00Z",
        updated_at="2026-10-20T08:00:01Z",
    )


def plan_of(
    desired: list[DesiredCoupon],
    state: list[ResourceState],
    *,
    targets: tuple[str, ...] = (),
    drift: tuple[DriftItem, ...] = (),
    serial: int = 7,
    now: datetime = NOW,
    refreshed: bool = True,
) -> Plan:
    """make_plan with the fixed test identity (lineage, serial, clock, brand)."""
    return make_plan(
        desired,
        {s.address: s for s in state},
        lineage=LINEAGE,
        serial=serial,
        manifest_digest="9f2b" + "0" * 60,
        now=now,
        tool_version="0.1.0",
        default_brand_id=BRAND,
        targets=targets,
        refreshed=refreshed,
        drift=drift,
        git_commit="3e5d9a1",
    )
