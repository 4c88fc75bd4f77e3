"""In-process sandbox with an injected clock for the stock and bundle tests (issue 16): signed calls whose timestamps
follow the sandbox clock, stock bodies whose dates are relative to it, and the admin stock calls."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx

from reconciler.sandbox import OPERATIONS, SandboxConfig, create_app, generate_credentials
from tests.sandbox.helpers import PRODUCTS, authorization, display_info, stock, unique

CREDS = generate_credentials()
START = 1_790_000_000.0  # 2026-09-21, a fixed sandbox clock: nothing here reads real time
DAY = 86_400.0
CHINA = timezone(timedelta(hours=8))
NOT_SENDING = "268577984"
MISMATCH = "268578927"


class Clock:
    """A settable clock shared by the sandbox and the signer."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def rfc3339(ts: float) -> str:
    return datetime.fromtimestamp(ts, CHINA).isoformat(timespec="seconds")


def stock_body(end_days: float = 30, rule: dict[str, Any] | None = None, **send_rule: int) -> dict[str, Any]:
    """A valid scope=ALL stock available from a day before START until `end_days` after it."""
    body = stock(rule)
    body["single_usage_rule"]["coupon_available_period"] = {
        "available_begin_time": rfc3339(START - DAY),
        "available_end_time": rfc3339(START + end_days * DAY),
    }
    body["stock_send_rule"] = {"max_count": 1000, "max_count_per_user": 1, **send_rule}
    return body


def bundle_body(steps: int, end_days: float = 30, **send_rule: int) -> dict[str, Any]:
    """A stock bundle for a NORMAL PROGRESSIVE_BUNDLE coupon with `steps` steps."""
    bundle = stock_body(end_days, **send_rule)
    rule = bundle.pop("single_usage_rule")
    bundle["progressive_bundle_usage_rule"] = {
        "coupon_available_period": rule["coupon_available_period"],
        "normal_coupon_list": [{"threshold": 0, "discount_amount": 100 * (i + 1)} for i in range(steps)],
    }
    return bundle


class Sbx:
    """Signed WeChat Pay calls and admin calls against one in-process sandbox."""

    def __init__(self, client: httpx.AsyncClient, clock: Clock) -> None:
        self.client = client
        self.clock = clock
        self.brand = CREDS.brand_id

    async def call(self, method: str, url: str, body: Any = None, brand: bool = False) -> httpx.Response:
        """A signed call; `brand` signs with the brand scheme and sends Wechatpay-Serial (reference C.2)."""
        content = b"" if body is None else json.dumps(body, ensure_ascii=False).encode()
        auth = authorization(CREDS, method, url, content, timestamp=int(self.clock()))
        headers = {"Authorization": auth, "Content-Type": "application/json", "Accept": "application/json"}
        if brand:
            partner = f'WECHATPAY2-SHA256-RSA2048 mchid="{CREDS.mchid}"'
            headers["Authorization"] = auth.replace(partner, f'WECHATPAY-BRAND-SHA256-RSA2048 brand_id="{self.brand}"')
            headers["Wechatpay-Serial"] = CREDS.public_key_id
        return await self.client.request(method, url, content=content, headers=headers)

    async def ok(self, method: str, url: str, body: Any = None) -> dict[str, Any]:
        response = await self.call(method, url, body)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    async def admin(self, method: str, path: str, body: Any = None) -> httpx.Response:
        return await self.client.request(method, f"/_sandbox/{path}", json=body)

    async def coupon(self, stock_fields: dict[str, Any] | None = None) -> dict[str, Any]:
        """A scope=ALL NORMAL SINGLE-mode coupon with one stock."""
        body = {
            "out_request_no": unique("create"),
            "brand_id": self.brand,
            "scope": "ALL",
            "type": "NORMAL",
            "usage_mode": "SINGLE",
            "display_info": display_info(),
            "single_usage_info": {"normal_coupon": {"threshold": 10000, "discount_amount": 1000}},
            "stock": stock_fields or stock_body(),
        }
        return await self.ok("POST", PRODUCTS, body)

    async def bundle_coupon(self, count: int = 3, **send_rule: int) -> dict[str, Any]:
        body = {
            "out_request_no": unique("create"),
            "brand_id": self.brand,
            "scope": "ALL",
            "type": "NORMAL",
            "usage_mode": "PROGRESSIVE_BUNDLE",
            "display_info": display_info(),
            "progressive_bundle_usage_info": {"count": count, "interval_days": 0},
            "stock_bundle": bundle_body(count, **send_rule),
        }
        return await self.ok("POST", PRODUCTS, body)

    async def add_stock(self, pid: str, fields: dict[str, Any] | None = None) -> httpx.Response:
        body = {"out_request_no": unique("add"), "brand_id": self.brand, "stock": fields or stock_body()}
        return await self.call("POST", f"{PRODUCTS}/{pid}/stocks", body)

    async def get_stock(self, pid: str, sid: str) -> dict[str, Any]:
        return await self.ok("GET", f"{PRODUCTS}/{pid}/stocks/{sid}?brand_id={self.brand}")

    async def budget(self, pid: str, sid: str, field: str, current: int, target: int, **extra: Any) -> httpx.Response:
        mode = "MAX_COUNT" if field == "max_count" else "MAX_COUNT_PER_DAY"
        body = {"out_request_no": unique("budget"), "brand_id": self.brand, "update_mode": mode,
                f"current_{field}": current, f"target_{field}": target, **extra}  # fmt: skip
        return await self.call("POST", f"{PRODUCTS}/{pid}/stocks/{sid}/update-budget", body)

    async def patch_stock(self, pid: str, sid: str, **fields: Any) -> httpx.Response:
        body = {"out_request_no": unique("patch"), "brand_id": self.brand, **fields}
        return await self.call("PATCH", f"{PRODUCTS}/{pid}/stocks/{sid}", body)

    async def deactivate_stock(self, pid: str, sid: str) -> httpx.Response:
        body = {"out_request_no": unique("sd"), "brand_id": self.brand, "deactivate_reason": "结束"}
        return await self.call("POST", f"{PRODUCTS}/{pid}/stocks/{sid}/deactivate", body)

    async def send(self, sid: str, count: int) -> httpx.Response:
        return await self.admin("POST", f"stocks/{sid}/send", {"count": count})


def refused(response: httpx.Response, status: int, code: str, business: str | None = None) -> dict[str, Any]:
    """The answer is the APIv3 error `code` (and, when given, that business code in Request-ID)."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    if business is not None:
        assert response.headers["request-id"].endswith("-" + business), response.headers["request-id"]
    return body


def run(scenario: Callable[[Sbx], Awaitable[None]], **config: Any) -> None:
    """`scenario` against a fresh in-process sandbox (generous rate limits unless `rate_limits` is given)."""
    clock = Clock()
    config.setdefault("rate_limits", {op: 1_000_000.0 for op in OPERATIONS})
    app = create_app(CREDS, SandboxConfig(clock=clock, **config))

    async def main() -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox") as client:
            await scenario(Sbx(client, clock))

    try:
        asyncio.run(main())
    finally:
        app.state.sandbox.close()
