"""Both providers against the in-process sandbox (httpx.ASGITransport): an independent emulator of both APIs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import pytest

from reconciler.config import Secret
from reconciler.errors import TransientUpstreamError, UpstreamError
from reconciler.plan.model import Call
from reconciler.providers.pacing import Pacer, retry_call
from reconciler.providers.shop import ShopProvider
from reconciler.providers.wechatpay import WechatPayProvider
from reconciler.sandbox import SandboxConfig, SandboxCredentials, create_app, generate_credentials

T = TypeVar("T")
BASE_URL = "http://sandbox.test"


class SettableClock:
    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@dataclass
class World:
    shop: ShopProvider
    product: WechatPayProvider
    admin: httpx.AsyncClient
    credentials: SandboxCredentials
    sandbox_clock: SettableClock

    async def faults(self, *rules: dict[str, Any]) -> None:
        (await self.admin.put("/_sandbox/faults", json={"faults": list(rules)})).raise_for_status()

    async def calls(self) -> list[dict[str, Any]]:
        calls: list[dict[str, Any]] = (await self.admin.get("/_sandbox/calls")).json()["calls"]
        return calls

    async def state(self) -> dict[str, Any]:
        state: dict[str, Any] = (await self.admin.get("/_sandbox/state")).json()
        return state


@asynccontextmanager
async def world(**config: Any) -> AsyncIterator[World]:
    credentials = generate_credentials()
    clock = SettableClock()
    app = create_app(credentials, SandboxConfig(clock=clock, **config))
    transport = httpx.ASGITransport(app=app)
    shop = ShopProvider(credentials.appid, Secret(credentials.app_secret), BASE_URL, transport=transport)
    product = WechatPayProvider(
        credentials.mchid,
        credentials.merchant_serial_no,
        credentials.merchant_private_key_pem.encode(),
        credentials.public_key_id,
        credentials.wechatpay_public_key_pem.encode(),
        BASE_URL,
        credentials.brand_id,
        transport=transport,
    )
    admin = httpx.AsyncClient(base_url=BASE_URL, transport=transport)
    try:
        yield World(shop, product, admin, credentials, clock)
    finally:
        await shop.aclose()
        await product.aclose()
        await admin.aclose()


def run(scenario: Callable[[World], Awaitable[T]], **config: Any) -> T:
    async def main() -> T:
        async with world(**config) as w:
            return await scenario(w)

    return asyncio.run(main())


def shop_coupon(out_coupon_id: str) -> dict[str, Any]:
    start = int(time.time()) + 86400
    return {
        "out_coupon_id": out_coupon_id,
        "type": 102,
        "promote_type": 4,
        "coupon_info": {
            "name": "满100减20",
            "promote_info": {"promote_type": 4, "finder": {"nickname": "视频号昵称"}},
            "discount_info": {"discount_condition": {"product_price": 10000}, "discount_fee": 2000},
            "receive_info": {
                "start_time": start,
                "end_time": start + 86400,
                "limit_num_one_person": 1,
                "total_num": 10000,
            },
            "valid_info": {"valid_type": 2, "valid_day_num": 3},
        },
    }


def add(out_coupon_id: str) -> Call:
    return Call(operation="shop.add", payload={"coupon": shop_coupon(out_coupon_id)}, target=out_coupon_id)


def status(out_coupon_id: str, value: int) -> Call:
    return Call(
        operation="shop.update_status", payload={"out_coupon_id": out_coupon_id, "status": value}, target=out_coupon_id
    )


def product_create(w: World, out_request_no: str = "providers-create-0001") -> Call:
    return Call(
        operation="product.create",
        out_request_no=out_request_no,
        payload={
            "out_request_no": out_request_no,
            "brand_id": w.credentials.brand_id,
            "scope": "ALL",
            "type": "NORMAL",
            "usage_mode": "SINGLE",
            "single_usage_info": {"normal_coupon": {"threshold": 5000, "discount_amount": 1000}},
            "display_info": {
                "name": "咖啡满50减10",
                "image_url": "https://wxpaylogo.qpic.cn/p/coffee.png",
                "background_url": "https://wxpaylogo.qpic.cn/p/coffee-bg.png",
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
                "notify_config": {"notify_appid": w.credentials.appid},
                "store_scope": "NONE",
            },
        },
    )


def test_shop_lifecycle_against_the_sandbox() -> None:
    """add, activate, read and list a shop coupon; unknown ids read as None; refused transitions are errors."""

    async def scenario(w: World) -> tuple[Any, ...]:
        await w.shop.execute(add("sbx-1"))
        await w.shop.execute(status("sbx-1", 2))
        await w.shop.execute(add("sbx-2"))
        coupon = await w.shop.read("sbx-1")
        missing = await w.shop.read("no-such-coupon")
        listed = [c async for c in w.shop.list_all()]
        with pytest.raises(UpstreamError) as back:
            await w.shop.execute(status("sbx-1", 1))
        with pytest.raises(UpstreamError) as dup:
            await w.shop.execute(add("sbx-2"))
        return coupon, missing, listed, back.value, dup.value

    coupon, missing, listed, back, dup = run(scenario)
    assert coupon["status"] == 2
    assert missing is None
    by_id = {c["out_coupon_id"]: c for c in listed}
    assert set(by_id) == {"sbx-1", "sbx-2"}
    assert "coupon_stock" in by_id["sbx-1"] and "coupon_stock" not in by_id["sbx-2"]
    for err in (back, dup):
        assert not isinstance(err, TransientUpstreamError)
        assert isinstance(err.code, int) and err.code != 0
        assert err.request_id is not None


def test_shop_list_all_pages_through_the_sandbox() -> None:
    """More than one page of coupons is listed completely, 200 per get_list call."""

    async def scenario(w: World) -> tuple[int, list[dict[str, Any]]]:
        for i in range(205):
            await w.shop.execute(add(f"page-{i:03d}"))
        count = len([c async for c in w.shop.list_all()])
        return count, [c for c in await w.calls() if c["operation"] == "shop.get_list"]

    count, pages = run(scenario, rate_limits={})
    assert count == 205
    assert len(pages) == 2


def test_shop_token_expiry_is_refreshed_once() -> None:
    """When the sandbox's clock passes the token's lifetime, the next call gets 42001, one refresh, and succeeds."""

    async def scenario(w: World) -> list[tuple[str, Any]]:
        await w.shop.execute(add("exp-1"))
        w.sandbox_clock.offset += 7200 + 301  # past expires_in and the rollover grace
        await w.shop.execute(status("exp-1", 2))
        return [(c["operation"], c.get("errcode")) for c in await w.calls()]

    assert run(scenario) == [
        ("stable_token", 0),
        ("shop.add", 0),
        ("shop.update_status", 42001),
        ("stable_token", 0),
        ("shop.update_status", 0),
    ]


def test_shop_injected_40001_is_refreshed_once_and_45009_stops() -> None:
    """An injected 40001 costs one refresh and one resend; an injected 45009 is a plain, non-retryable error."""

    async def scenario(w: World) -> tuple[list[tuple[str, Any]], UpstreamError]:
        await w.faults({"operation": "shop.add", "kind": "errcode", "value": 40001, "count": 1})
        await w.shop.execute(add("tok-1"))
        await w.faults({"operation": "shop.get", "kind": "errcode", "value": 45009, "count": 1})
        with pytest.raises(UpstreamError) as info:
            await retry_call(lambda: w.shop.read("tok-1"), sleep=lambda s: asyncio.sleep(0))
        return [(c["operation"], c.get("errcode")) for c in await w.calls()], info.value

    calls, quota = run(scenario)
    assert calls == [
        ("stable_token", 0),
        ("shop.add", 40001),
        ("stable_token", 0),
        ("shop.add", 0),
        ("shop.get", 45009),
    ]
    assert not isinstance(quota, TransientUpstreamError)
    assert "daily API quota" in str(quota)


def test_shop_transient_faults_are_retried_to_success() -> None:
    """-1, 300000 and HTTP 502 from the sandbox are retried by retry_call until the add lands once."""

    async def scenario(w: World) -> tuple[list[Any], dict[str, Any]]:
        await w.faults(
            {"operation": "shop.add", "kind": "errcode", "value": -1, "count": 1},
            {"operation": "shop.add", "kind": "errcode", "value": 300000, "count": 1},
            {"operation": "shop.add", "kind": "http_status", "value": 502, "count": 1},
        )
        await retry_call(lambda: w.shop.execute(add("tr-1")), sleep=lambda s: asyncio.sleep(0))
        return [c.get("errcode") for c in await w.calls() if c["operation"] == "shop.add"], await w.state()

    codes, state = run(scenario)
    assert len(codes) == 4 and codes[-1] == 0
    assert [c["coupon"]["out_coupon_id"] for c in state["shop_coupons"]] == ["tr-1"]


def test_product_lifecycle_against_the_sandbox() -> None:
    """create, read, PATCH and deactivate a product coupon with real signatures both ways; unknown ids read as None."""

    async def scenario(w: World) -> tuple[Any, ...]:
        created = await w.product.execute(product_create(w))
        assert created.upstream_id is not None
        read = await w.product.read(created.upstream_id)
        display = dict(created.entity["display_info"], name="咖啡满50减12") if created.entity else {}
        patched = await w.product.execute(
            Call(
                operation="product.patch",
                target=created.upstream_id,
                payload={
                    "out_request_no": "providers-patch-0001",
                    "display_info": display,
                    "brand_id": w.credentials.brand_id,
                },
            )
        )
        gone = await w.product.execute(
            Call(
                operation="product.deactivate",
                target=created.upstream_id,
                payload={
                    "out_request_no": "providers-deact-0001",
                    "deactivate_reason": "replaced",
                    "brand_id": w.credentials.brand_id,
                },
            )
        )
        after = await w.product.read(created.upstream_id)
        missing = await w.product.read("999999999")
        return created, read, patched, gone, after, missing

    created, read, patched, gone, after, missing = run(scenario)
    assert created.entity["state"] == "EFFECTIVE" and "stock" in created.entity
    assert created.request_id
    assert read["product_coupon_id"] == created.upstream_id and "stock" not in read
    assert patched.entity["display_info"]["name"] == "咖啡满50减12"
    assert gone.entity["state"] == "DEACTIVATED"
    assert after["state"] == "DEACTIVATED"
    assert missing is None


def test_product_invalid_body_is_a_param_error() -> None:
    """A create the sandbox refuses comes back as a non-retryable 400 with code and Request-ID."""

    async def scenario(w: World) -> UpstreamError:
        call = product_create(w)
        payload = dict(call.payload, scope="EVERYWHERE")
        with pytest.raises(UpstreamError) as info:
            await w.product.execute(Call(operation="product.create", payload=payload))
        return info.value

    err = run(scenario)
    assert not isinstance(err, TransientUpstreamError)
    assert err.http_status == 400
    assert err.code in {"PARAM_ERROR", "INVALID_REQUEST"}
    assert err.request_id


def test_product_dropped_answer_is_transient_and_resend_is_idempotent() -> None:
    """A create committed but dropped is transient; resending the same out_request_no yields the same coupon."""

    async def scenario(w: World) -> tuple[str | None, dict[str, Any]]:
        await w.faults({"operation": "product.create", "kind": "drop_after_commit", "count": 1})
        call = product_create(w, "providers-drop-0001")
        with pytest.raises(TransientUpstreamError):
            await w.product.execute(call)
        again = await w.product.execute(call)
        return again.upstream_id, await w.state()

    upstream_id, state = run(scenario)
    assert [p["product_coupon_id"] for p in state["product_coupons"]] == [upstream_id]


def test_product_429_and_500_are_retried_to_success() -> None:
    """Injected 429 and 500 answers are transient; retry_call lands the create exactly once."""

    async def scenario(w: World) -> tuple[list[Any], int]:
        await w.faults(
            {"operation": "product.create", "kind": "http_status", "value": 429, "count": 1},
            {"operation": "product.create", "kind": "errcode", "value": "SYSTEM_ERROR", "count": 1},
        )
        await retry_call(lambda: w.product.execute(product_create(w)), sleep=lambda s: asyncio.sleep(0))
        codes = [c.get("code") for c in await w.calls() if c["operation"] == "product.create"]
        return codes, len((await w.state())["product_coupons"])

    codes, count = run(scenario)
    assert codes[:2] == ["RATELIMIT_EXCEEDED", "SYSTEM_ERROR"]
    assert len(codes) == 3
    assert count == 1


def read_codes(calls: list[dict[str, Any]], operation: str) -> list[Any]:
    return [c.get("errcode", c.get("code")) for c in calls if c["operation"] == operation]


def test_pacing_at_the_sandbox_limit_meets_no_429() -> None:
    """100 reads per family at once, each waiting for its slot in a run's Pacer at the sandbox's 50/s (as the
    applier and refresh do before every call), are never throttled (about 2 s)."""
    rates = {"shop.get": 50.0, "product.get": 50.0}
    pacer = Pacer(rates)

    async def paced(operation: str, read: Callable[[], Awaitable[T]]) -> T:
        await pacer.wait(operation)
        return await read()

    async def main() -> list[dict[str, Any]]:
        async with world(rate_limits=rates) as w:
            await w.shop.execute(add("pace-1"))
            created = await w.product.execute(product_create(w))
            assert created.upstream_id is not None
            product_id = created.upstream_id
            await asyncio.gather(
                *(paced("shop.get", lambda: w.shop.read("pace-1")) for _ in range(100)),
                *(paced("product.get", lambda: w.product.read(product_id)) for _ in range(100)),
            )
            return await w.calls()

    calls = asyncio.run(main())
    assert read_codes(calls, "shop.get") == [0] * 100
    assert set(read_codes(calls, "product.get")) <= {"OK", "0", 0, None}
    assert len(read_codes(calls, "product.get")) == 100


def test_without_pacing_the_same_burst_is_throttled() -> None:
    """Control for the test above: the same shop burst without our limiter does meet the sandbox's throttling."""
    rates = {"shop.get": 50.0}

    async def main() -> list[dict[str, Any]]:
        async with world(rate_limits=rates) as w:
            await w.shop.execute(add("pace-1"))
            results = await asyncio.gather(*(w.shop.read("pace-1") for _ in range(100)), return_exceptions=True)
            assert any(isinstance(r, TransientUpstreamError) for r in results)
            return await w.calls()

    assert 300000 in read_codes(asyncio.run(main()), "shop.get")
