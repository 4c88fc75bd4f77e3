"""Campaign data for the report's tests, made in-process: desired coupons, the state, and plans from the real
planner. Times are pinned: NOW is 2028-11-09 12:00 +08:00, a day before the campaign opens."""

from __future__ import annotations

import zlib
from datetime import UTC, datetime
from typing import Any

from reconciler.plan.model import Plan
from reconciler.plan.planner import make_plan
from reconciler.resources import DesiredCoupon, ResourceState, SourceRef
from reconciler.times import BEIJING, cn_iso

NOW = datetime(2028, 11, 9, 4, 0, tzinfo=UTC)  # 2028-11-09 12:00:00 +08:00
DAY = 86400


def bj(text: str) -> int:
    """Unix seconds of a +08:00 wall time `YYYY-MM-DD HH:MM`."""
    return int(datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=BEIJING).timestamp())


def shop_body(
    out_id: str,
    start: int,
    end: int,
    *,
    fee: int = 2000,
    total: int = 1000,
    valid: dict[str, Any] | None = None,
    name: str = "满100减20",
) -> dict[str, Any]:
    return {
        "out_coupon_id": out_id,
        "type": 102,
        "promote_type": 4,
        "coupon_info": {
            "name": name,
            "promote_info": {"promote_type": 4, "finder": {"nickname": "视频号昵称"}},
            "discount_info": {"discount_condition": {"product_price": 10000}, "discount_fee": fee},
            "receive_info": {"start_time": start, "end_time": end, "limit_num_one_person": 1, "total_num": total},
            "valid_info": valid or {"valid_type": 2, "valid_day_num": 3},
        },
    }


def product_body(
    i: int, begin: int, end: int, *, days: int | None = None, wait: int | None = None, name: str = "咖啡满100减20"
) -> dict[str, Any]:
    period: dict[str, Any] = {
        "available_begin_time": cn_iso(datetime.fromtimestamp(begin, UTC)),
        "available_end_time": cn_iso(datetime.fromtimestamp(end, UTC)),
    }
    if days is not None:
        period["available_days"] = days
    if wait is not None:
        period["wait_days_after_receive"] = wait
    return {
        "scope": "ALL",
        "type": "NORMAL",
        "usage_mode": "SINGLE",
        "single_usage_info": {"normal_coupon": {"threshold": 10000, "discount_amount": 1500}},
        "display_info": {
            "name": name,
            "image_url": "https://wxpaylogo.qpic.cn/wxpaylogo/coffee.png",
            "background_url": "https://wxpaylogo.qpic.cn/wxpaylogo/coffee-bg.png",
        },
        "out_product_no": f"sku-{i:06d}",
        "stocks": {
            "main": {
                "coupon_code_mode": "WECHATPAY",
                "stock_send_rule": {"max_count": 500, "max_count_per_user": 1},
                "single_usage_rule": {"coupon_available_period": period},
                "usage_rule_display_info": {
                    "coupon_usage_method_list": ["MINI_PROGRAM"],
                    "usage_description": "满100可用",
                },
                "coupon_display_info": {"code_display_mode": "QRCODE"},
                "notify_config": {"notify_appid": "wx0000000000000001"},
                "store_scope": "NONE",
            }
        },
    }


def shop(name: str, file: str, line: int, body: dict[str, Any], status: str = "active") -> DesiredCoupon:
    return DesiredCoupon("ShopCoupon", name, status, body, SourceRef(file, line))


def product(name: str, file: str, line: int, body: dict[str, Any]) -> DesiredCoupon:
    return DesiredCoupon("ProductCoupon", name, "active", body, SourceRef(file, line), brand_id="120344")


def live(coupon: DesiredCoupon, body: dict[str, Any] | None = None, *, shop_status: int = 2) -> ResourceState:
    """The state of `coupon` as created (with `body` instead of the declared one, to make a difference)."""
    upstream = dict(body or coupon.body)
    if coupon.kind == "ShopCoupon":
        upstream["status"] = shop_status
        upstream_id = str(upstream["out_coupon_id"])
        brand = None
    else:
        upstream_id = str(1_000_000_000 + zlib.crc32(coupon.name.encode()) % 1_000_000)
        upstream.update(product_coupon_id=upstream_id, state="EFFECTIVE")
        brand = "120344"
    return ResourceState(coupon.address, coupon.kind, upstream_id, upstream, coupon.digest, brand_id=brand)


def plan_of(desired: list[DesiredCoupon], state: dict[str, ResourceState], *, refreshed: bool = True) -> Plan:
    return make_plan(
        desired,
        state,
        lineage="report-tests",
        serial=3,
        manifest_digest="0" * 64,
        now=NOW,
        tool_version="test",
        default_brand_id="120344",
        refreshed=refreshed,
        git_commit="0123456789abcdef0123456789abcdef01234567",
    )


SHOP_FILE = "manifests/double11/shop.yaml"
PRODUCT_FILE = "manifests/double11/product.yaml"
SPRING_FILE = "manifests/spring/shop.yaml"


def small_campaign() -> tuple[list[DesiredCoupon], dict[str, ResourceState], Plan]:
    """Seven coupons in three files: two creates, an update, a blocked change, a status transition and two
    unchanged ones, with relative and fixed validity windows."""
    open_, close = bj("2028-11-10 20:00"), bj("2028-11-12 00:00")
    blocked = shop("store-100-off-20", SHOP_FILE, 1, shop_body("store-100-off-20", open_, close, name="满100减25"))
    fixed = {"valid_type": 1, "start_time": open_, "end_time": bj("2028-11-20 23:59")}
    draft = shop("mug-10-off", SHOP_FILE, 20, shop_body("mug-10-off", open_, close, fee=1000, valid=fixed), "draft")
    new_shop = shop("beans-5-off", SHOP_FILE, 40, shop_body("beans-5-off", bj("2028-11-11 00:00"), close, fee=500))
    seconds = {"valid_type": 3, "valid_second": 7 * DAY}
    activate = shop("drip-3-off", SHOP_FILE, 60, shop_body("drip-3-off", open_, close, fee=300, valid=seconds))
    coffee = product("coffee-15-off", PRODUCT_FILE, 1, product_body(1, bj("2028-11-10 00:00"), bj("2028-11-30 23:59")))
    latte_body = product_body(2, bj("2028-11-10 00:00"), bj("2028-12-31 23:59"), days=7, wait=1, name="拿铁新名字")
    latte = product("latte-combo", PRODUCT_FILE, 30, latte_body)
    spring_body = shop_body("spring-8-off", bj("2029-03-01 00:00"), bj("2029-03-08 00:00"))
    spring = shop("spring-8-off", SPRING_FILE, 1, spring_body)
    desired = [blocked, draft, new_shop, activate, coffee, latte, spring]
    state = {
        blocked.address: live(blocked, shop_body("store-100-off-20", open_, close)),  # active, name edited: blocked
        draft.address: live(draft, shop_status=1),
        activate.address: live(activate, shop_status=1),  # draft upstream, declared active: a transition
        coffee.address: live(coffee),
        latte.address: live(latte, product_body(2, bj("2028-11-10 00:00"), bj("2028-12-31 23:59"), days=7, wait=1)),
    }
    return desired, state, plan_of(desired, state)


def big_campaign(n: int) -> tuple[list[DesiredCoupon], dict[str, ResourceState]]:
    """`n` coupons in 20 campaign folders over four months; the state holds four in five of them (one in a
    hundred of those with a different name upstream); the rest are new."""
    desired: list[DesiredCoupon] = []
    state: dict[str, ResourceState] = {}
    first = bj("2028-11-10 00:00")
    for i in range(n):
        folder = f"manifests/campaign-{i * 20 // n:02d}"
        start = first + (i % 120) * DAY
        end = start + (1 + i % 10) * DAY
        if i % 2 == 0:
            name = f"store-{i:06d}"
            body = shop_body(name, start, end, fee=100 * (1 + i % 30), name=f"满减{i}")
            coupon = shop(name, f"{folder}/shop.yaml", 1 + i * 20, body)
        else:
            name = f"coffee-{i:06d}"
            coupon = product(name, f"{folder}/product.yaml", 1 + i * 30, product_body(i, start, end, days=3))
        desired.append(coupon)
        if i % 5:
            differs = i % 100 == 1 and coupon.kind == "ProductCoupon"
            old = product_body(i, start, end, days=3, name="旧名字") if differs else None
            state[coupon.address] = live(coupon, old)
    return desired, state
