"""WechatPayProvider against a hand-written WeChat Pay (MockTransport) that checks signatures and signs answers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
import pytest

from reconciler.errors import SignatureError, TransientUpstreamError, UpstreamError
from reconciler.plan.model import Call
from reconciler.providers.base import Provider
from reconciler.providers.pacing import retry_after_of
from reconciler.providers.wechatpay import WechatPayProvider
from tests.providers.fake_wechatpay import BASE, BRAND_ID, MCHID, PUBLIC_KEY_ID, SERIAL_NO, FakeWechatPay

T = TypeVar("T")

DISPLAY = {
    "name": "咖啡套餐券",
    "image_url": "https://wxpaylogo.qpic.cn/a",
    "background_url": "https://wxpaylogo.qpic.cn/b",
}
CREATE = Call(
    operation="product.create",
    payload={
        "out_request_no": "lineage-coffee-create-01",
        "brand_id": BRAND_ID,
        "scope": "ALL",
        "type": "NORMAL",
        "usage_mode": "SINGLE",
        "single_usage_info": {"normal_coupon": {"threshold": 10000, "discount_amount": 2000}},
        "display_info": DISPLAY,
        "stock": {"remark": "first", "coupon_code_mode": "WECHATPAY"},
    },
)


def run(fake: FakeWechatPay, body: Callable[[WechatPayProvider], Awaitable[T]]) -> T:
    """Run `body` with a provider wired to `fake`, closing the client afterwards."""

    async def main() -> T:
        provider = WechatPayProvider(
            MCHID,
            SERIAL_NO,
            fake.merchant.private_pem,
            PUBLIC_KEY_ID,
            fake.platform.public_pem,
            "https://api.mch.weixin.qq.com",
            BRAND_ID,
            transport=httpx.MockTransport(fake),
        )
        try:
            return await body(provider)
        finally:
            await provider.aclose()

    return asyncio.run(main())


def test_provider_satisfies_the_protocol() -> None:
    """WechatPayProvider is usable wherever a base.Provider is expected."""
    fake = FakeWechatPay()

    async def check(p: WechatPayProvider) -> str:
        provider: Provider = p
        return provider.family

    assert run(fake, check) == "product"


def test_create_sends_exact_signed_bytes_and_returns_verified_entity() -> None:
    """Create posts the compact UTF-8 JSON it signed and returns the new id, entity with stock, and Request-ID."""
    fake = FakeWechatPay()
    result = run(fake, lambda p: p.execute(CREATE))
    assert result.upstream_id == "1000000013"
    assert result.entity is not None
    assert result.entity["stock"]["stock_id"] == "1000000013001"
    assert result.request_id == "08E68E97CC0610DF0618AC86BCA80120082880CF05-0"
    sent = fake.received[0]
    assert sent.body == json.dumps(CREATE.payload, ensure_ascii=False, separators=(",", ":")).encode()
    assert "咖啡".encode() in sent.body
    assert sent.raw_path == BASE.encode()
    assert sent.headers["Content-Type"] == "application/json"
    assert sent.headers["Wechatpay-Serial"] == PUBLIC_KEY_ID


def test_patch_deactivate_and_read_follow_the_documented_routes() -> None:
    """PATCH and deactivate address the coupon by id; read GETs it with ?brand_id= and sees the new state."""
    fake = FakeWechatPay()

    async def scenario(p: WechatPayProvider) -> tuple[Any, ...]:
        created = await p.execute(CREATE)
        assert created.upstream_id is not None
        new_display = dict(DISPLAY, name="新咖啡套餐券")
        patched = await p.execute(
            Call(
                operation="product.patch",
                target=created.upstream_id,
                payload={"out_request_no": "patch-000001", "display_info": new_display, "brand_id": BRAND_ID},
            )
        )
        gone = await p.execute(
            Call(
                operation="product.deactivate",
                target=created.upstream_id,
                payload={"out_request_no": "deact-000001", "deactivate_reason": "replaced", "brand_id": BRAND_ID},
            )
        )
        now = await p.read(created.upstream_id)
        return patched, gone, now

    patched, gone, now = run(fake, scenario)
    assert patched.entity["display_info"]["name"] == "新咖啡套餐券"
    assert gone.entity["state"] == "DEACTIVATED"
    assert gone.upstream_id == "1000000013"
    assert now["state"] == "DEACTIVATED"
    assert [(r.method, r.raw_path) for r in fake.received] == [
        ("POST", BASE.encode()),
        ("PATCH", f"{BASE}/1000000013".encode()),
        ("POST", f"{BASE}/1000000013/deactivate".encode()),
        ("GET", f"{BASE}/1000000013?brand_id={BRAND_ID}".encode()),
    ]
    assert fake.received[3].body == b""


def test_read_unknown_coupon_returns_none() -> None:
    """A 404 NOT_FOUND (business code 268578608) means the coupon does not exist: read returns None."""
    assert run(FakeWechatPay(), lambda p: p.read("999")) is None


def test_read_other_brand_uses_given_brand_id() -> None:
    """read(brand_id=...) overrides the configured brand in the query string."""
    fake = FakeWechatPay()

    async def scenario(p: WechatPayProvider) -> Any:
        await p.execute(CREATE)
        return await p.read("1000000013", brand_id="777")

    assert run(fake, scenario) is None
    assert fake.received[-1].raw_path.endswith(b"?brand_id=777")


def tamper(fake: FakeWechatPay) -> Callable[[httpx.Request], httpx.Response]:
    def fault(request: httpx.Request) -> httpx.Response:
        good = fake.signed(200, {"product_coupon_id": "1000000013", "state": "EFFECTIVE"})
        return httpx.Response(200, headers=good.headers, content=good.content.replace(b"EFFECTIVE", b"AUDITING!"))

    return fault


def test_tampered_2xx_is_refused() -> None:
    """A 2xx whose body was altered after signing raises SignatureError and returns nothing."""
    fake = FakeWechatPay()
    fake.faults.append(tamper(fake))
    with pytest.raises(SignatureError) as info:
        run(fake, lambda p: p.execute(CREATE))
    assert info.value.call == "product.create"
    assert info.value.http_status == 200


def test_unsigned_2xx_is_refused() -> None:
    """A 2xx without Wechatpay-* headers is an attack, not a success."""
    fake = FakeWechatPay()
    fake.faults.append(lambda r: httpx.Response(200, json={"product_coupon_id": "1", "state": "EFFECTIVE"}))
    with pytest.raises(SignatureError, match="unsigned"):
        run(fake, lambda p: p.execute(CREATE))


def test_2xx_signed_by_another_key_is_refused() -> None:
    """A 2xx signed with a key other than the configured WeChat Pay public key is refused."""
    fake = FakeWechatPay()
    impostor = FakeWechatPay(platform=FakeWechatPay().merchant)
    fake.faults.append(lambda r: impostor.signed(200, {"product_coupon_id": "1"}))
    with pytest.raises(SignatureError, match="bad signature"):
        run(fake, lambda p: p.execute(CREATE))


def test_stale_2xx_is_refused() -> None:
    """A correctly signed 2xx whose timestamp is 10 minutes old is refused (replay)."""
    fake = FakeWechatPay()
    old = FakeWechatPay(platform=fake.platform, clock=lambda: fake.clock() - 600)
    fake.faults.append(lambda r: old.signed(200, {"product_coupon_id": "1"}))
    with pytest.raises(SignatureError, match="away from now"):
        run(fake, lambda p: p.execute(CREATE))


def test_signature_error_from_server_maps_to_upstream_error() -> None:
    """Our request signed with a key WeChat does not know gets 401 SIGN_ERROR, a non-transient UpstreamError."""
    fake = FakeWechatPay()
    stranger = FakeWechatPay(merchant=fake.platform, platform=fake.platform)

    async def scenario(_: WechatPayProvider) -> Any:
        provider = WechatPayProvider(
            MCHID,
            SERIAL_NO,
            stranger.merchant.private_pem,
            PUBLIC_KEY_ID,
            fake.platform.public_pem,
            "https://api.mch.weixin.qq.com",
            BRAND_ID,
            transport=httpx.MockTransport(fake),
        )
        try:
            return await provider.execute(CREATE)
        finally:
            await provider.aclose()

    with pytest.raises(UpstreamError) as info:
        run(fake, scenario)
    assert type(info.value) is UpstreamError
    assert info.value.http_status == 401
    assert info.value.code == "SIGN_ERROR"


@pytest.mark.parametrize(
    ("status", "code"), [(429, "RATELIMIT_EXCEEDED"), (500, "SYSTEM_ERROR"), (503, "SERVICE_UNAVAILABLE")]
)
def test_429_and_5xx_are_transient(status: int, code: str) -> None:
    """429 and 5xx are retryable and keep the code, message and Request-ID."""
    fake = FakeWechatPay()
    fake.faults.append(lambda r: fake.error(status, code, "稍后再试", business_code="270924289"))
    with pytest.raises(TransientUpstreamError) as info:
        run(fake, lambda p: p.execute(CREATE))
    err = info.value
    assert (err.http_status, err.code, err.upstream_message) == (status, code, "稍后再试")
    assert err.request_id == "08E68E97CC0610DF0618AC86BCA80120082880CF05-270924289"
    assert f"HTTP {status}" in str(err) and "Request-ID" in str(err)


def test_unsigned_5xx_is_still_a_transient_error() -> None:
    """Error responses need not be signed (F.14): an unsigned 502 from a gateway is transient, not an attack."""
    fake = FakeWechatPay()
    fake.faults.append(lambda r: httpx.Response(502, text="<html>bad gateway</html>"))
    with pytest.raises(TransientUpstreamError) as info:
        run(fake, lambda p: p.execute(CREATE))
    assert info.value.http_status == 502
    assert info.value.code is None


def test_tampered_signed_error_is_refused() -> None:
    """An error response that is signed but altered fails verification like a 2xx would."""
    fake = FakeWechatPay()

    def fault(request: httpx.Request) -> httpx.Response:
        good = fake.error(400, "PARAM_ERROR", "bad")
        return httpx.Response(400, headers=good.headers, content=good.content.replace(b"bad", b"BAD"))

    fake.faults.append(fault)
    with pytest.raises(SignatureError):
        run(fake, lambda p: p.execute(CREATE))


def test_4xx_is_a_plain_upstream_error_with_detail() -> None:
    """A 400 carries http status, code, message, detail and Request-ID, and is not retryable."""
    fake = FakeWechatPay()
    detail = {"field": "/display_info/name", "value": "x", "issue": "too short", "location": "body"}
    fake.faults.append(lambda r: fake.error(400, "PARAM_ERROR", "参数错误", detail=detail, business_code="268578224"))
    with pytest.raises(UpstreamError) as info:
        run(fake, lambda p: p.execute(CREATE))
    err = info.value
    assert not isinstance(err, TransientUpstreamError)
    assert (err.http_status, err.code, err.detail) == (400, "PARAM_ERROR", detail)
    assert err.request_id is not None and err.request_id.endswith("-268578224")
    assert str(err).startswith("product.create failed, HTTP 400, code PARAM_ERROR: 参数错误")


def test_retry_after_is_carried_on_429() -> None:
    """A 429 with Retry-After tells the retry loop how long the server wants us to wait."""
    fake = FakeWechatPay()

    def fault(request: httpx.Request) -> httpx.Response:
        response = fake.error(429, "RATELIMIT_EXCEEDED", "slow down")
        response.headers["Retry-After"] = "2"
        return response

    fake.faults.append(fault)
    with pytest.raises(TransientUpstreamError) as info:
        run(fake, lambda p: p.execute(CREATE))
    assert retry_after_of(info.value) == 2.0


@pytest.mark.parametrize(
    "exc",
    [
        httpx.ConnectTimeout("connect timed out"),
        httpx.ReadTimeout("read timed out"),
        httpx.ConnectError("connection refused"),
        httpx.ReadError("connection reset"),
        httpx.RemoteProtocolError("peer closed connection without sending complete message body"),
    ],
)
def test_timeouts_and_dropped_connections_are_transient(exc: Exception) -> None:
    """Timeouts, refused and dropped connections and incomplete reads are retryable."""
    fake = FakeWechatPay()

    def fault(request: httpx.Request) -> httpx.Response:
        raise exc

    fake.faults.append(fault)
    with pytest.raises(TransientUpstreamError) as info:
        run(fake, lambda p: p.execute(CREATE))
    assert info.value.call == "product.create"
    assert info.value.__cause__ is None


def test_list_all_is_not_available() -> None:
    """Product coupons have no list API (B.1)."""

    async def scenario(p: WechatPayProvider) -> None:
        p.list_all()

    with pytest.raises(NotImplementedError):
        run(FakeWechatPay(), scenario)


def test_patch_without_target_is_refused_before_sending() -> None:
    """A PATCH call without a product_coupon_id is a programming error; nothing is sent."""
    fake = FakeWechatPay()
    with pytest.raises(ValueError):
        run(fake, lambda p: p.execute(Call(operation="product.patch", payload={"display_info": DISPLAY})))
    assert fake.received == []


def test_signed_2xx_that_is_not_json_is_an_error() -> None:
    """A correctly signed 2xx whose body is not a JSON object is an UpstreamError, never a crash."""
    fake = FakeWechatPay()
    fake.faults.append(lambda r: fake.signed(200, ["not", "an", "object"]))
    with pytest.raises(UpstreamError, match="not a JSON object"):
        run(fake, lambda p: p.execute(CREATE))
