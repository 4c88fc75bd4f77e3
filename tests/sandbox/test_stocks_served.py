"""Stocks against the served sandbox over real HTTP (issue 16): the third-party `wechatpayv3` SDK changes a stock and
its budget (and verifies every answer's signature), and the admin routes sell a campaign out."""

from __future__ import annotations

import time
from typing import Any

import httpx
from wechatpayv3.type import RequestType

from tests.sandbox.helpers import PRODUCTS, display_info, unique
from tests.sandbox.stock_support import rfc3339, stock_body
from tests.sandbox.test_wechatpayv3 import call, creds_of, sdk
from tests.sandbox_server import ServedSandbox


def live_stock() -> dict[str, Any]:
    """A stock available from yesterday for 30 days of the served sandbox's (real) clock."""
    body = stock_body()
    now = time.time()
    body["single_usage_rule"]["coupon_available_period"] = {
        "available_begin_time": rfc3339(now - 86_400),
        "available_end_time": rfc3339(now + 30 * 86_400),
    }
    return body


def test_wechatpayv3_patches_a_stock_and_raises_its_budget_after_a_sell_out(served: ServedSandbox) -> None:
    """Create, sell out through the admin route, PATCH the stock and raise its budget with the SDK."""
    client = sdk(served)
    creds = creds_of(served)
    body = {"out_request_no": unique("sdks"), "brand_id": creds.brand_id, "scope": "ALL", "type": "NORMAL",
            "usage_mode": "SINGLE", "display_info": display_info(),
            "single_usage_info": {"normal_coupon": {"threshold": 10000, "discount_amount": 1000}},
            "stock": live_stock()}  # fmt: skip
    code, created = call(client, PRODUCTS, RequestType.POST, body)
    assert code == 200, created
    pid, sid = created["product_coupon_id"], created["stock"]["stock_id"]
    assert served.send_stock(sid, 1000)["sent_count_info"]["total_count"] == 1000
    with httpx.Client(timeout=10) as admin:
        assert admin.post(f"{served.url}/_sandbox/stocks/{sid}/send", json={"count": 1}).status_code == 409
    patch = {"out_request_no": unique("sdkp"), "brand_id": creds.brand_id, "remark": "SDK改"}
    code, patched = call(client, f"{PRODUCTS}/{pid}/stocks/{sid}", RequestType.PATCH, patch)
    assert code == 200 and patched["remark"] == "SDK改" and patched["state"] == "SENDING"
    budget = {"out_request_no": unique("sdkb"), "brand_id": creds.brand_id, "update_mode": "MAX_COUNT",
              "current_max_count": 1000, "target_max_count": 5000}  # fmt: skip
    url = f"{PRODUCTS}/{pid}/stocks/{sid}/update-budget"
    code, raised = call(client, url, RequestType.POST, budget)
    assert code == 200 and raised["stock_send_rule"]["max_count"] == 5000
    assert raised["sent_count_info"]["total_count"] == 1000
    code, again = call(client, url, RequestType.POST, budget)
    assert code == 200 and again == raised
    code, got = call(client, f"{PRODUCTS}/{pid}/stocks/{sid}?brand_id={creds.brand_id}", RequestType.GET)
    assert code == 200 and got == raised
    assert served.move_stock(sid, "pause")["state"] == "PAUSED"
    ops = [c["operation"] for c in served.calls() if pid in c["path"]]
    assert ops[-4:] == [
        "product.stocks.patch",
        "product.stocks.update_budget",
        "product.stocks.update_budget",
        "product.stocks.get",
    ]
