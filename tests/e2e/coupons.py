"""Manifests for end-to-end tests, as data (written to YAML by the tests). Windows are in 2028: far ahead."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

RECEIVE = {
    "start_time": "2028-11-11T00:00:00+08:00",
    "end_time": "2028-11-12T00:00:00+08:00",
    "limit_num_one_person": 1,
    "total_num": 10000,
}
PROMOTE = {"promote_type": 4, "finder": {"nickname": "视频号昵称"}}


def shop_active() -> dict[str, Any]:
    return shop_doc("e2e-store-100-off-20", total_num=10000)


def shop_draft() -> dict[str, Any]:
    return {
        "kind": "ShopCoupon",
        "name": "e2e-draft-direct-5",
        "status": "draft",
        "spec": {
            "type": 104,
            "promote_type": 4,
            "coupon_info": {
                "name": "直减5元",
                "promote_info": copy.deepcopy(PROMOTE),
                "discount_info": {"discount_fee": 500},
                "receive_info": dict(RECEIVE),
                "valid_info": {"valid_type": 3, "valid_second": 86400},
            },
        },
    }


def product_all(appid: str) -> dict[str, Any]:
    return product_doc("e2e-coffee", appid, "咖啡满50减10", bg="coffee-bg")


def shop_doc(name: str, *, status: str = "active", fee: int = 2000, total_num: int = 1000) -> dict[str, Any]:
    """A ShopCoupon (满100减fee) whose out_coupon_id is its name."""
    return {
        "kind": "ShopCoupon",
        "name": name,
        "status": status,
        "spec": {
            "type": 102,
            "promote_type": 4,
            "coupon_info": {
                "name": "满100减20",
                "promote_info": copy.deepcopy(PROMOTE),
                "discount_info": {"discount_condition": {"product_price": 10000}, "discount_fee": fee},
                "receive_info": {**RECEIVE, "total_num": total_num},
                "valid_info": {"valid_type": 2, "valid_day_num": 3},
            },
        },
    }


def product_doc(name: str, appid: str, label: str, *, discount: bool = False, bg: str = "bg") -> dict[str, Any]:
    """A ProductCoupon whose display name `label` identifies it upstream (the sandbox assigns the id)."""
    usage = (
        {"discount_coupon": {"threshold": 5000, "percent_off": 20}}
        if discount
        else {"normal_coupon": {"threshold": 5000, "discount_amount": 1000}}
    )
    return {
        "kind": "ProductCoupon",
        "name": name,
        "spec": {
            "scope": "ALL",
            "type": "DISCOUNT" if discount else "NORMAL",
            "usage_mode": "SINGLE",
            "single_usage_info": usage,
            "display_info": {
                "name": label,
                "image_url": "https://wxpaylogo.qpic.cn/rel/coffee.png",
                "background_url": f"https://wxpaylogo.qpic.cn/rel/{bg}.png",
            },
            "stock": {
                "coupon_code_mode": "WECHATPAY",
                "stock_send_rule": {"max_count": 1000, "max_count_per_user": 1},
                "single_usage_rule": {
                    "coupon_available_period": {
                        "available_begin_time": "2028-11-01T00:00:00+08:00",
                        "available_end_time": "2028-12-31T23:59:59+08:00",
                    }
                },
                "usage_rule_display_info": {
                    "coupon_usage_method_list": ["OFFLINE"],
                    "usage_description": "到店出示券码使用",
                },
                "coupon_display_info": {"code_display_mode": "QRCODE"},
                "notify_config": {"notify_appid": appid},
                "store_scope": "NONE",
            },
        },
    }


def as_discount(doc: dict[str, Any]) -> dict[str, Any]:
    """The same product coupon with an immutable field changed: NORMAL → DISCOUNT (forces replacement)."""
    new = copy.deepcopy(doc)
    new["spec"]["type"] = "DISCOUNT"
    new["spec"]["single_usage_info"] = {"discount_coupon": {"threshold": 5000, "percent_off": 20}}
    return new


def write(path: Path, docs: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump_all(docs, allow_unicode=True, sort_keys=False), encoding="utf-8")
