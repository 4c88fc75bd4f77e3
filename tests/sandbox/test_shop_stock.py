"""`/shop/coupon/update_coupon_stock` in the sandbox, strict as reference A.6.6 says we read it: absolute values,
`receive_num` equal to the handed-out count, `issued_num` >= 0, only in status 2; the total follows issued + received
and `get_list` echoes the stock; the admin `claim` route plays users claiming coupons."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from reconciler.sandbox import SandboxConfig, create_app, generate_credentials
from reconciler.sandbox.shop import ERR_STOCK_MISSING, ERR_STOCK_STALE, ERR_WRONG_STATUS
from tests.sandbox.helpers import shop_coupon

CREDS = generate_credentials()
START = 1_790_000_000.0


class Shop:
    """Shop calls with a token, and the admin API, against one in-process sandbox."""

    def __init__(self, client: httpx.AsyncClient, token: str) -> None:
        self.client = client
        self.token = token

    async def call(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await self.client.post(f"/shop/coupon/{name}", params={"access_token": self.token}, json=body)
        assert response.status_code == 200  # A.1: errors travel in the body
        result: dict[str, Any] = response.json()
        return result

    async def admin(self, method: str, path: str, body: Any = None) -> httpx.Response:
        return await self.client.request(method, f"/_sandbox/{path}", json=body)

    async def active(self, out_coupon_id: str, total: int = 1000) -> None:
        coupon = shop_coupon(out_coupon_id)
        coupon["coupon_info"]["receive_info"]["total_num"] = total
        assert (await self.call("add", {"coupon": coupon}))["errcode"] == 0
        assert (await self.call("update_status", {"out_coupon_id": out_coupon_id, "status": 2}))["errcode"] == 0

    async def stock(self, out_coupon_id: str, issued: Any, received: Any) -> int:
        body = {"coupon_stock": {"out_coupon_id": out_coupon_id, "stock_info": {"issued_num": issued,
                                                                                "receive_num": received}}}  # fmt: skip
        return int((await self.call("update_coupon_stock", body))["errcode"])

    async def listed(self, out_coupon_id: str) -> dict[str, Any]:
        listing = await self.call("get_list", {"page_size": 200, "offset": 0})
        entry: dict[str, Any] = next(e for e in listing["result_list"] if e["coupon"]["out_coupon_id"] == out_coupon_id)
        return entry

    async def total(self, out_coupon_id: str) -> int:
        coupon = (await self.call("get", {"out_coupon_id": out_coupon_id}))["result"]["coupon"]
        return int(coupon["coupon_info"]["receive_info"]["total_num"])


def run(scenario: Callable[[Shop], Awaitable[None]]) -> None:
    app = create_app(CREDS, SandboxConfig(clock=lambda: START), None)

    async def main() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
            query = {"grant_type": "client_credential", "appid": CREDS.appid, "secret": CREDS.app_secret}
            token = str((await client.get("/cgi-bin/token", params=query)).json()["access_token"])
            await scenario(Shop(client, token))

    asyncio.run(main())
    app.state.sandbox.close()


def test_raise_after_claims_sets_the_absolute_stock_and_the_total_follows() -> None:
    async def scenario(shop: Shop) -> None:
        await shop.active("qty-raise")
        assert (await shop.listed("qty-raise"))["coupon_stock"]["stock_info"] == {"issued_num": 1000, "receive_num": 0}
        claimed = await shop.admin("POST", "shop-coupons/qty-raise/claim", {"count": 300})
        assert claimed.status_code == 200
        assert claimed.json()["stock_info"] == {"issued_num": 700, "receive_num": 300}
        assert await shop.total("qty-raise") == 1000  # claims move coupons from left to handed out
        assert await shop.stock("qty-raise", 4700, 300) == 0
        entry = await shop.listed("qty-raise")
        assert entry["coupon_stock"]["stock_info"] == {"issued_num": 4700, "receive_num": 300}
        assert entry["coupon"]["coupon_info"]["receive_info"]["total_num"] == 5000
        assert await shop.total("qty-raise") == 5000
        # Absolute, not an increment: the same body again changes nothing.
        assert await shop.stock("qty-raise", 4700, 300) == 0
        assert await shop.total("qty-raise") == 5000
        # Lowering to exactly what was handed out leaves nothing to claim; that is allowed.
        assert await shop.stock("qty-raise", 0, 300) == 0
        assert await shop.total("qty-raise") == 300

    run(scenario)


def test_a_stale_receive_num_is_refused_and_changes_nothing() -> None:
    async def scenario(shop: Shop) -> None:
        await shop.active("qty-stale")
        assert (await shop.admin("POST", "shop-coupons/qty-stale/claim", {"count": 842})).status_code == 200
        for received in (0, 841, 843):
            answer = await shop.call(
                "update_coupon_stock",
                {"coupon_stock": {"out_coupon_id": "qty-stale",
                                  "stock_info": {"issued_num": 5000 - received, "receive_num": received}}},
            )  # fmt: skip
            assert answer["errcode"] == ERR_STOCK_STALE
            assert "842" in answer["errmsg"]
        assert (await shop.listed("qty-stale"))["coupon_stock"]["stock_info"] == {"issued_num": 158, "receive_num": 842}
        assert await shop.total("qty-stale") == 1000

    run(scenario)


def test_values_and_statuses_are_checked() -> None:
    async def scenario(shop: Shop) -> None:
        draft = shop_coupon("qty-draft")
        assert (await shop.call("add", {"coupon": draft}))["errcode"] == 0
        assert await shop.stock("qty-draft", 500, 0) == ERR_STOCK_MISSING  # 1090005 before activation (A.6.6)
        await shop.active("qty-vals")
        assert await shop.stock("qty-vals", -1, 0) == 40097
        assert await shop.stock("qty-vals", "10", 0) == 40097
        assert await shop.stock("qty-vals", True, 0) == 40097
        assert await shop.stock("qty-vals", 0, 0) == 40097  # a total of 0: add requires total_num >= 1
        assert await shop.stock("qty-vals", 10, None) == 990007
        assert await shop.stock("qty-ghost", 10, 0) == 1090057
        await shop.active("qty-void")
        assert (await shop.call("update_status", {"out_coupon_id": "qty-void", "status": 4}))["errcode"] == 0
        assert await shop.stock("qty-void", 2000, 0) == ERR_WRONG_STATUS
        assert await shop.total("qty-void") == 1000

    run(scenario)


def test_claim_route_refuses_what_users_could_not_do() -> None:
    async def scenario(shop: Shop) -> None:
        draft = shop_coupon("qty-claim-draft")
        assert (await shop.call("add", {"coupon": draft}))["errcode"] == 0
        assert (await shop.admin("POST", "shop-coupons/qty-claim-draft/claim", {"count": 1})).status_code == 400
        assert (await shop.admin("POST", "shop-coupons/qty-nobody/claim", {"count": 1})).status_code == 404
        await shop.active("qty-claim", total=10)
        for bad in ({"count": 0}, {"count": "3"}, {}, [1]):
            assert (await shop.admin("POST", "shop-coupons/qty-claim/claim", bad)).status_code == 400
        too_many = await shop.admin("POST", "shop-coupons/qty-claim/claim", {"count": 11})
        assert too_many.status_code == 400 and "only 10" in too_many.json()["error"]
        assert (await shop.admin("POST", "shop-coupons/qty-claim/claim", {"count": 10})).status_code == 200
        assert (await shop.listed("qty-claim"))["coupon_stock"]["stock_info"] == {"issued_num": 0, "receive_num": 10}

    run(scenario)
