"""The sandbox in-process through httpx.ASGITransport, with an injected clock: tokens, timestamps, buckets, faults."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.sandbox import OPERATIONS, SandboxConfig, SandboxCredentials, create_app, generate_credentials
from tests.sandbox.helpers import PRODUCTS, authorization, product_body, shop_coupon, unique, verify_response

CREDS = generate_credentials()
START = 1_790_000_000.0


class Clock:
    """A settable clock for the sandbox (never real time)."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


Client = httpx.AsyncClient


def run(config: SandboxConfig, scenario: Callable[[Client], Awaitable[None]], data: str | None = None) -> None:
    app = create_app(CREDS, config, data)

    async def main() -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox") as client:
            await scenario(client)

    asyncio.run(main())
    app.state.sandbox.close()


async def token(client: Client, creds: SandboxCredentials = CREDS) -> str:
    query = {"grant_type": "client_credential", "appid": creds.appid, "secret": creds.app_secret}
    return str((await client.get("/cgi-bin/token", params=query)).json()["access_token"])


async def stable(client: Client, force: bool = False) -> dict[str, Any]:
    body = {"grant_type": "client_credential", "appid": CREDS.appid, "secret": CREDS.app_secret, "force_refresh": force}
    result: dict[str, Any] = (await client.post("/cgi-bin/stable_token", json=body)).json()
    return result


async def get_list(client: Client, access_token: str) -> int:
    response = await client.post("/shop/coupon/get_list", params={"access_token": access_token}, json={"page_size": 1})
    return int(response.json()["errcode"])


async def signed(
    client: Client, method: str, url: str, body: Any = None, timestamp: float | None = None
) -> httpx.Response:
    content = b"" if body is None else json.dumps(body, ensure_ascii=False).encode()
    auth = authorization(CREDS, method, url, content, timestamp=None if timestamp is None else int(timestamp))
    return await client.request(method, url, content=content, headers={"Authorization": auth})


def test_token_expires_after_its_lifetime() -> None:
    """A token works until expires_in has passed, then answers 42001 (E Family-1 item 2)."""
    clock = Clock()

    async def scenario(client: Client) -> None:
        access_token = await token(client)
        clock.now += 7199
        assert await get_list(client, access_token) == 0
        clock.now += 1
        assert await get_list(client, access_token) == 42001

    run(SandboxConfig(clock=clock), scenario)


def test_rotation_keeps_the_old_token_for_the_grace_window_only() -> None:
    """After /cgi-bin/token rotates, the old token works for 300 s more, then 40001 (A.9.1)."""
    clock = Clock()

    async def scenario(client: Client) -> None:
        old = await token(client)
        clock.now += 100
        new = await token(client)
        clock.now += 299
        assert await get_list(client, old) == 0
        clock.now += 1
        assert await get_list(client, old) == 40001
        assert await get_list(client, new) == 0

    run(SandboxConfig(clock=clock), scenario)


def test_configurable_short_lifetime_and_pools_are_isolated() -> None:
    """token_lifetime_s is honoured, and a /cgi-bin/token rotation never touches the stable_token pool (A.9.2)."""
    clock = Clock()

    async def scenario(client: Client) -> None:
        first = await stable(client)
        assert first["expires_in"] == 600
        await token(client)
        await token(client)
        clock.now += 301
        assert await get_list(client, first["access_token"]) == 0
        clock.now += 300
        assert await get_list(client, first["access_token"]) == 42001

    run(SandboxConfig(clock=clock, token_lifetime_s=600, token_grace_s=60), scenario)


def test_stable_token_renews_in_the_last_five_minutes_and_both_stay_valid() -> None:
    """stable_token returns the same token until 5 minutes before expiry, then a new one; the old one still works."""
    clock = Clock()

    async def scenario(client: Client) -> None:
        first = await stable(client)
        clock.now += 6000
        same = await stable(client)
        assert same["access_token"] == first["access_token"]
        assert same["expires_in"] == 1200
        clock.now += 1000  # 200 s left
        renewed = await stable(client)
        assert renewed["access_token"] != first["access_token"]
        assert renewed["expires_in"] == 7200
        assert await get_list(client, first["access_token"]) == 0
        clock.now += 200
        assert await get_list(client, first["access_token"]) == 42001
        assert await get_list(client, renewed["access_token"]) == 0

    run(SandboxConfig(clock=clock), scenario)


def test_force_refresh_is_limited_per_day() -> None:
    """force_refresh is allowed 20 times a day, at least 30 s apart (A.9.2)."""
    clock = Clock()

    async def scenario(client: Client) -> None:
        results = []
        for _ in range(21):
            results.append(await stable(client, force=True))
            clock.now += 31
        assert all("access_token" in r for r in results[:20])
        assert results[20]["errcode"] == 45009
        clock.now += 86400
        assert "access_token" in await stable(client, force=True)

    run(SandboxConfig(clock=clock), scenario)


def test_request_timestamps_outside_the_window_are_refused() -> None:
    """An APIv3 request whose timestamp differs from the sandbox clock by more than the window is a SIGN_ERROR."""
    clock = Clock()

    async def scenario(client: Client) -> None:
        url = f"{PRODUCTS}/1?brand_id={CREDS.brand_id}"
        assert (await signed(client, "GET", url, timestamp=clock.now - 300)).status_code == 404
        stale = await signed(client, "GET", url, timestamp=clock.now - 301)
        assert stale.status_code == 401 and stale.json()["code"] == "SIGN_ERROR"
        assert (await signed(client, "GET", url, timestamp=clock.now + 301)).status_code == 401
        assert verify_response(CREDS, stale)
        assert stale.headers["wechatpay-timestamp"] == str(int(clock.now))

    run(SandboxConfig(clock=clock), scenario)


def test_token_bucket_is_exact_with_an_injected_clock() -> None:
    """A 4/s bucket gives 4 calls at once, then exactly one more per 0.25 s (burst = one second of rate)."""
    clock = Clock()

    async def scenario(client: Client) -> None:
        url = f"{PRODUCTS}/1?brand_id={CREDS.brand_id}"
        statuses = [(await signed(client, "GET", url, timestamp=clock.now)).status_code for _ in range(6)]
        assert statuses == [404, 404, 404, 404, 429, 429]
        clock.now += 0.25
        assert (await signed(client, "GET", url, timestamp=clock.now)).status_code == 404
        assert (await signed(client, "GET", url, timestamp=clock.now)).status_code == 429
        clock.now += 10
        statuses = [(await signed(client, "GET", url, timestamp=clock.now)).status_code for _ in range(5)]
        assert statuses == [404, 404, 404, 404, 429]

    run(SandboxConfig(clock=clock, rate_limits={"product.get": 4}), scenario)


async def set_limits(client: Client, rates: dict[str, float]) -> None:
    """Merge rate limits through the admin API, as an operator of the served sandbox would."""
    response = await client.put("/_sandbox/limits", json={"rate_limits": rates})
    assert response.status_code == 200, response.text


STEP = 1 / 64  # simulated seconds per request: a power of two, so the clock and the buckets add up exactly


def test_burst_above_the_limit_is_refused_at_the_configured_rate() -> None:
    """With product.get at 5/s, a burst sent for 1.25 s gets 5 + 5 x elapsed answers (rounded down) and
    429 RATELIMIT_EXCEEDED for every other call."""
    clock = Clock()

    async def scenario(client: Client) -> None:
        pid = (await signed(client, "POST", PRODUCTS, product_body(CREDS, unique("rl")), clock.now)).json()[
            "product_coupon_id"
        ]
        await set_limits(client, {"product.get": 5})
        url = f"{PRODUCTS}/{pid}?brand_id={CREDS.brand_id}"
        accepted, refused_codes = 0, []
        for _ in range(80):  # 80 x 1/64 s: the last call goes out at 79/64 s
            response = await signed(client, "GET", url, timestamp=clock.now)
            if response.status_code == 429:
                refused_codes.append(response.json()["code"])
            else:
                assert response.status_code == 200, response.text
                accepted += 1
            clock.now += STEP
        elapsed = 79 * STEP
        assert accepted == int(5 + 5 * elapsed) == 11
        assert len(refused_codes) == 80 - 11
        assert set(refused_codes) == {"RATELIMIT_EXCEEDED"}

    run(SandboxConfig(clock=clock), scenario)


def test_shop_burst_is_refused_with_errcode_300000() -> None:
    """Shop operations over their limit answer HTTP 200 with errcode 300000 (reference A.8 / A.10), at the
    configured rate: 4/s for 0.625 s gives 4 + 2 answers."""
    clock = Clock()

    async def scenario(client: Client) -> None:
        access_token = await token(client)
        await set_limits(client, {"shop.get_list": 4})
        results = []
        for _ in range(41):  # the last call goes out at 40/64 s = 0.625 s
            response = await client.post(
                "/shop/coupon/get_list", params={"access_token": access_token}, json={"page_size": 1}
            )
            assert response.status_code == 200
            results.append(int(response.json()["errcode"]))
            clock.now += STEP
        assert set(results) == {0, 300000}
        assert results.count(0) == int(4 + 4 * 40 * STEP) == 6

    run(SandboxConfig(clock=clock), scenario)


def test_a_client_pacing_at_the_limit_never_sees_a_429() -> None:
    """A client that empties the bucket with a full burst and then sends exactly R requests per second is never
    refused (token bucket: one token per 1/R s)."""
    clock = Clock()

    async def scenario(client: Client) -> None:
        await set_limits(client, {"product.get": 8})
        url = f"{PRODUCTS}/9999999999?brand_id={CREDS.brand_id}"
        burst = [(await signed(client, "GET", url, timestamp=clock.now)).status_code for _ in range(8)]
        assert burst == [404] * 8
        assert (await signed(client, "GET", url, timestamp=clock.now)).status_code == 429
        statuses = []
        for _ in range(40):
            clock.now += 1 / 8
            statuses.append((await signed(client, "GET", url, timestamp=clock.now)).status_code)
        assert statuses == [404] * 40

    run(SandboxConfig(clock=clock), scenario)


def test_drop_after_commit_in_process_is_a_transport_error() -> None:
    """In-process, a dropped answer surfaces as httpx.TransportError after the coupon was stored."""

    async def scenario(client: Client) -> None:
        await client.put("/_sandbox/faults", json=[{"operation": "shop.add", "kind": "drop_after_commit", "count": 1}])
        access_token = await token(client)
        out_coupon_id = unique("drop")
        with pytest.raises(httpx.TransportError):
            await client.post("/shop/coupon/add", params={"access_token": access_token},
                              json={"coupon": shop_coupon(out_coupon_id)})  # fmt: skip
        again = await client.post("/shop/coupon/add", params={"access_token": access_token},
                                  json={"coupon": shop_coupon(out_coupon_id)})  # fmt: skip
        assert again.json()["errcode"] == 1090003
        state = (await client.get("/_sandbox/state")).json()
        assert [c["coupon"]["out_coupon_id"] for c in state["shop_coupons"]] == [out_coupon_id]

    run(SandboxConfig(), scenario)


def test_admin_edits_simulate_console_drift() -> None:
    """PATCH /_sandbox/... merges out-of-band edits that the public APIs then return."""

    async def scenario(client: Client) -> None:
        access_token = await token(client)
        out_coupon_id = unique("drift")
        await client.post("/shop/coupon/add", params={"access_token": access_token},
                          json={"coupon": shop_coupon(out_coupon_id)})  # fmt: skip
        edited = await client.patch(f"/_sandbox/shop-coupons/{out_coupon_id}",
                                    json={"coupon": {"coupon_info": {"name": "控制台改名"}}})  # fmt: skip
        assert edited.status_code == 200
        got = await client.post("/shop/coupon/get", params={"access_token": access_token},
                                json={"out_coupon_id": out_coupon_id})  # fmt: skip
        coupon = got.json()["result"]["coupon"]
        assert coupon["coupon_info"]["name"] == "控制台改名"
        assert coupon["coupon_info"]["receive_info"]["total_num"] == 500
        created = (await signed(client, "POST", PRODUCTS, product_body(CREDS, unique("drift")))).json()
        pid = created["product_coupon_id"]
        await client.patch(f"/_sandbox/product-coupons/{pid}", json={"display_info": {"name": "控制台改的名字"}})
        got_product = (await signed(client, "GET", f"{PRODUCTS}/{pid}?brand_id={CREDS.brand_id}")).json()
        assert got_product["display_info"]["name"] == "控制台改的名字"
        assert got_product["display_info"]["image_url"] == created["display_info"]["image_url"]
        assert (await client.post(f"/_sandbox/product-coupons/{pid}/review")).status_code == 409
        assert (await client.patch("/_sandbox/shop-coupons/ghost", json={})).status_code == 404

    run(SandboxConfig(), scenario)


def test_data_file_survives_a_new_app(tmp_path: Path) -> None:
    """With a data file, coupons, tokens and the product id sequence survive a new app on the same file."""
    data = str(tmp_path / "sandbox.db")
    saved: dict[str, Any] = {}
    config = SandboxConfig(rate_limits={op: 1000 for op in OPERATIONS})

    async def first(client: Client) -> None:
        saved["token"] = await token(client)
        await client.post("/shop/coupon/add", params={"access_token": saved["token"]},
                          json={"coupon": shop_coupon("kept")})  # fmt: skip
        saved["body"] = product_body(CREDS, unique("kept"))
        saved["pid"] = (await signed(client, "POST", PRODUCTS, saved["body"])).json()["product_coupon_id"]

    async def second(client: Client) -> None:
        got = await client.post("/shop/coupon/get", params={"access_token": saved["token"]},
                                json={"out_coupon_id": "kept"})  # fmt: skip
        assert got.json()["errcode"] == 0
        replay = (await signed(client, "POST", PRODUCTS, saved["body"])).json()
        assert replay["product_coupon_id"] == saved["pid"]
        fresh = (await signed(client, "POST", PRODUCTS, product_body(CREDS, unique("new")))).json()
        assert int(fresh["product_coupon_id"]) == int(saved["pid"]) + 1

    run(config, first, data)
    run(config, second, data)


def test_corrupt_upstream_data_never_leaks_a_traceback() -> None:
    """Unexpected failures answer errcode -1 / 500 SYSTEM_ERROR (signed) with no internals in the body."""

    async def scenario(client: Client) -> None:
        access_token = await token(client)
        await client.post("/shop/coupon/add", params={"access_token": access_token},
                          json={"coupon": shop_coupon("broken")})  # fmt: skip
        await client.patch("/_sandbox/shop-coupons/broken", json={"coupon": {"status": None}})
        shop = await client.post("/shop/coupon/update_status", params={"access_token": access_token},
                                 json={"out_coupon_id": "broken", "status": 2})  # fmt: skip
        assert shop.status_code == 200
        assert shop.json()["errcode"] == -1
        assert "Traceback" not in shop.text and "KeyError" not in shop.text
        pid = (await signed(client, "POST", PRODUCTS, product_body(CREDS, unique("broken")))).json()[
            "product_coupon_id"
        ]
        await client.patch(f"/_sandbox/product-coupons/{pid}", json={"scope": None})
        patch = {"out_request_no": unique("p"), "display_info": {"name": "abc"}, "brand_id": CREDS.brand_id}
        pay = await signed(client, "PATCH", f"{PRODUCTS}/{pid}", patch)
        assert pay.status_code == 500
        assert pay.json() == {"code": "SYSTEM_ERROR", "message": "系统错误"}
        assert verify_response(CREDS, pay)

    run(SandboxConfig(), scenario)


def test_confirm_gate_when_required() -> None:
    """With confirm_required, coupon calls answer 48001 until /shop/coupon/confirm succeeded (E Family-1 item 4)."""

    async def scenario(client: Client) -> None:
        access_token = await token(client)
        assert await get_list(client, access_token) == 48001
        confirm = await client.post("/shop/coupon/confirm", params={"access_token": access_token}, json={})
        assert confirm.json() == {"errcode": 0, "errmsg": "ok"}
        assert await get_list(client, access_token) == 0

    run(SandboxConfig(confirm_required=True), scenario)


def test_stable_token_transport_errors() -> None:
    """stable_token is POST-with-JSON only: GET 43002, empty 44002, bad JSON 47001, bad force_refresh 40097."""

    async def scenario(client: Client) -> None:
        assert (await client.get("/cgi-bin/stable_token")).json()["errcode"] == 43002
        assert (await client.post("/cgi-bin/stable_token", content=b"")).json()["errcode"] == 44002
        assert (await client.post("/cgi-bin/stable_token", content=b"{,}")).json()["errcode"] == 47001
        body = {"grant_type": "client_credential", "appid": CREDS.appid, "secret": CREDS.app_secret,
                "force_refresh": "yes"}  # fmt: skip
        assert (await client.post("/cgi-bin/stable_token", json=body)).json()["errcode"] == 40097
        assert (await client.post("/cgi-bin/stable_token", json={**body, "secret": "x"})).json()["errcode"] == 40125

    run(SandboxConfig(), scenario)


def test_extra_authorised_brands_and_other_brands_coupons_are_invisible() -> None:
    """A configured extra brand may create; its coupon is 404 when read under the main brand (B.6)."""

    async def scenario(client: Client) -> None:
        created = await signed(client, "POST", PRODUCTS, product_body(CREDS, unique("b2"), brand_id="777777"))
        assert created.status_code == 200
        pid = created.json()["product_coupon_id"]
        assert (await signed(client, "GET", f"{PRODUCTS}/{pid}?brand_id=777777")).status_code == 200
        assert (await signed(client, "GET", f"{PRODUCTS}/{pid}?brand_id={CREDS.brand_id}")).status_code == 404

    run(SandboxConfig(extra_brand_ids=("777777",)), scenario)


def test_already_exists_switch_for_create() -> None:
    """With idempotency_mismatch_code=ALREADY_EXISTS, a reused create number with another body answers that code."""

    async def scenario(client: Client) -> None:
        body = product_body(CREDS, unique("ae"))
        assert (await signed(client, "POST", PRODUCTS, body)).status_code == 200
        body["display_info"]["name"] = "别的名字呀"
        refused = await signed(client, "POST", PRODUCTS, body)
        assert refused.status_code == 400 and refused.json()["code"] == "ALREADY_EXISTS"

    run(SandboxConfig(idempotency_mismatch_code="ALREADY_EXISTS"), scenario)


def test_absurd_bodies_are_malformed_not_crashes() -> None:
    """Deeply nested JSON and out-of-range numbers answer 47001 / 40097 / PARAM_ERROR, never a system error."""

    async def scenario(client: Client) -> None:
        access_token = await token(client)
        for raw in (b"[" * 100_000, b'{"a":' * 50_000, b'{"coupon":' + b'{"a":' * 900 + b"1" + b"}" * 901):
            shop = await client.post("/shop/coupon/add", params={"access_token": access_token}, content=raw)
            assert shop.json()["errcode"] in {47001, 990007}, shop.text
            auth = authorization(CREDS, "POST", PRODUCTS, raw)
            pay = await client.post(PRODUCTS, content=raw, headers={"Authorization": auth})
            assert pay.status_code == 400 and pay.json()["code"] == "PARAM_ERROR", pay.text
        huge = await client.post("/shop/coupon/get_list", params={"access_token": access_token},
                                 json={"page_size": 10, "offset": 10**20})  # fmt: skip
        assert huge.json()["errcode"] == 40097

    run(SandboxConfig(), scenario)
