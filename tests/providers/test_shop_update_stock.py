"""ShopProvider's `shop.update_stock` (reference A.6.6, decision D30) against the in-process sandbox: the call goes to
/shop/coupon/update_coupon_stock with the access token like every shop call, the journal's request number stays out
of the body, and a refusal says what to do without ever showing the token."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from reconciler.config import Secret
from reconciler.errors import UpstreamError
from reconciler.plan.model import Call
from reconciler.providers.shop import STOCK_REFUSED_HINT, ShopProvider
from reconciler.sandbox import SandboxConfig, create_app, generate_credentials
from tests.sandbox.helpers import shop_coupon

BASE_URL = "http://sandbox.test"
START = 1_790_000_000.0


def stock_call(issued: int, received: int, number: str | None = "cc" + "0" * 30) -> Call:
    body = {"coupon_stock": {"out_coupon_id": "qty", "stock_info": {"issued_num": issued, "receive_num": received}}}
    return Call(operation="shop.update_stock", payload=body, target="qty", out_request_no=number)


class Recording(httpx.AsyncBaseTransport):
    """The sandbox's transport, keeping every request the provider sends."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.sent: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        return await self.inner.handle_async_request(request)


SENT: list[httpx.Request] = []


def scenario(run: Any) -> None:
    credentials = generate_credentials()
    app = create_app(credentials, SandboxConfig(clock=lambda: START))

    async def main() -> None:
        transport = Recording(httpx.ASGITransport(app=app))
        SENT[:] = []
        transport.sent = SENT
        shop = ShopProvider(credentials.appid, Secret(credentials.app_secret), BASE_URL, transport=transport)
        admin = httpx.AsyncClient(base_url=BASE_URL, transport=transport)
        try:
            await shop.execute(Call("shop.add", {"coupon": shop_coupon("qty")}, target="qty"))
            await shop.execute(Call("shop.update_status", {"out_coupon_id": "qty", "status": 2}, target="qty"))
            await run(shop, admin)
        finally:
            await shop.aclose()
            await admin.aclose()

    asyncio.run(main())
    app.state.sandbox.close()


def test_update_stock_is_sent_to_update_coupon_stock_with_the_body_only() -> None:
    async def run(shop: ShopProvider, admin: httpx.AsyncClient) -> None:
        (await admin.post("/_sandbox/shop-coupons/qty/claim", json={"count": 20})).raise_for_status()
        result = await shop.execute(stock_call(980, 20))
        assert result.operation == "shop.update_stock" and result.upstream_id == "qty"
        [call] = [c for c in (await admin.get("/_sandbox/calls")).json()["calls"] if "update_coupon_stock" in c["path"]]
        assert call["operation"] == "shop.update_coupon_stock" and call["errcode"] == 0
        # The token travels in the query, like every shop call (A.9), and the sandbox's log redacts it too.
        assert call["path"].endswith("update_coupon_stock?access_token=REDACTED")
        assert shop._token and shop._token not in str(call)
        [request] = [r for r in SENT if r.url.path == "/shop/coupon/update_coupon_stock"]
        assert request.method == "POST" and set(request.url.params) == {"access_token"}
        # /shop/coupon has no request number (A.6): the journal's number is not sent, the body is the payload.
        assert json.loads(request.content) == stock_call(980, 20).payload
        coupon = await shop.read("qty")
        assert coupon is not None and coupon["coupon_info"]["receive_info"]["total_num"] == 1000
        listed = [c async for c in shop.list_all()]
        assert listed[0]["coupon_stock"]["stock_info"] == {"issued_num": 980, "receive_num": 20}

    scenario(run)


def test_a_refusal_names_the_code_and_the_remedy_but_never_the_token() -> None:
    async def run(shop: ShopProvider, admin: httpx.AsyncClient) -> None:
        (await admin.post("/_sandbox/shop-coupons/qty/claim", json={"count": 5})).raise_for_status()
        with pytest.raises(UpstreamError) as caught:
            await shop.execute(stock_call(5000, 0))
        error = caught.value
        assert error.code == 1090059 and error.call == "shop.update_stock"
        assert STOCK_REFUSED_HINT in str(error) and "couponctl refresh" in str(error)
        assert "receive_num 0 does not match the 5 coupons already handed out" in str(error)
        token = shop._token
        assert token and token not in str(error) and token not in repr(error)
        assert "access_token" not in str(error)

    scenario(run)


def test_other_shop_refusals_carry_no_stock_hint() -> None:
    async def run(shop: ShopProvider, admin: httpx.AsyncClient) -> None:
        with pytest.raises(UpstreamError) as caught:
            await shop.execute(Call("shop.update_status", {"out_coupon_id": "qty", "status": 1}, target="qty"))
        assert STOCK_REFUSED_HINT not in str(caught.value)

    scenario(run)
