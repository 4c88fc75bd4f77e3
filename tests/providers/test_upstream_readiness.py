"""Issue 15 item 3 on the client side: the 45011 wait, the not-found setting and platform-certificate verification.

No real sleeping (an injected wall clock and sleep) and no network (the sandbox in-process, on httpx.ASGITransport).
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any, TypeVar

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from reconciler.config import Secret, load_settings
from reconciler.errors import ConfigError, SignatureError, TransientUpstreamError, UpstreamError
from reconciler.plan.model import Call
from reconciler.providers.factory import build_providers
from reconciler.providers.pacing import NEXT_MINUTE_MARGIN_S, Pacer, retry_call, until_next_minute
from reconciler.providers.shop import ShopProvider
from reconciler.providers.wechatpay import WechatPayProvider
from reconciler.sandbox import SandboxConfig, SandboxCredentials, create_app, generate_credentials
from reconciler.sandbox.signing import encrypt_resource, new_platform_certificate
from tests.providers.fake_shop import APPID, SECRET, FakeShop, answer
from tests.providers.test_against_sandbox import add, product_create

T = TypeVar("T")
BASE_URL = "http://sandbox.test"
APIV3_KEY = "0123456789abcdef0123456789ABCDEF"  # 32 characters, as WeChat Pay issues them


class WallTime:
    """A wall clock (Unix seconds) that moves only when someone sleeps."""

    def __init__(self, now: float) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


# --- 45011: wait into the next minute ---------------------------------------------------------------------------


def test_45011_waits_into_the_next_minute_not_inside_it() -> None:
    """After "api minute-quota reach limit must slower retry next minute" the retry starts in the next wall-clock
    minute (plus the margin), however short the exponential backoff would have been; other transient codes keep the
    short backoff."""
    time = WallTime(1_800_000_015.5)  # 15.5 s into a minute
    starts: list[float] = []
    errors = [45011, 45011, -1]

    async def fn() -> str:
        starts.append(time.now)
        if errors:
            raise TransientUpstreamError(call="shop.add", message="quota", code=errors.pop(0))
        return "ok"

    result = asyncio.run(
        retry_call(fn, base_delay=0.5, jitter=lambda cap: cap, sleep=time.sleep, wall_clock=time.clock)
    )
    assert result == "ok"
    assert time.sleeps[0] == pytest.approx(60 - 15.5 + NEXT_MINUTE_MARGIN_S)
    minutes = [int(s // 60) for s in starts]
    assert minutes[1] == minutes[0] + 1 and minutes[2] == minutes[1] + 1  # each 45011 retry in a new minute
    assert starts[1] % 60 == pytest.approx(NEXT_MINUTE_MARGIN_S)
    assert time.sleeps[2] == pytest.approx(2.0)  # -1: the ordinary backoff (0.5 x 2^2), no minute wait


def test_until_next_minute_is_never_zero() -> None:
    assert until_next_minute(1_800_000_040.0) == pytest.approx(20 + NEXT_MINUTE_MARGIN_S)
    assert until_next_minute(1_800_000_000.0 - 1_800_000_000.0 % 60) == pytest.approx(60 + NEXT_MINUTE_MARGIN_S)


def test_a_shop_call_answered_45011_is_sent_again_only_in_the_next_minute() -> None:
    """Through the run's Pacer and the shop provider: 45011 twice, then success; three sends, each in its own minute,
    and the coupon is added once."""
    fake = FakeShop()
    fake.faults = [lambda _r: answer(45011, "api minute-quota reach limit must slower retry next minute")] * 2
    time = WallTime(1_800_000_030.0)
    sends: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/shop/coupon/add":
            sends.append(time.now)
        return fake(request)

    async def main() -> None:
        transport = httpx.MockTransport(handler)
        provider = ShopProvider(APPID, Secret(SECRET), "https://api.weixin.qq.com", transport=transport)
        pacer = Pacer({}, sleep=time.sleep, wall_clock=time.clock, jitter=lambda cap: cap)
        try:
            await pacer.retry(lambda: provider.execute(add("quota-1")))
        finally:
            await provider.aclose()

    asyncio.run(main())
    assert [int(s // 60) for s in sends] == [int(sends[0] // 60) + i for i in range(3)]
    assert list(fake.coupons) == ["quota-1"]


# --- the not-found errcodes are a setting -----------------------------------------------------------------------


@asynccontextmanager
async def sandbox(**config: Any) -> AsyncIterator[tuple[SandboxCredentials, httpx.ASGITransport]]:
    credentials = generate_credentials()
    app = create_app(credentials, SandboxConfig(**config))
    yield credentials, httpx.ASGITransport(app=app)


def test_another_not_found_code_reads_as_missing_only_when_configured() -> None:
    """A sandbox answering 1090099 for an unknown coupon: the default client reports the error (it does not guess);
    a client configured with that code reads the coupon as missing."""

    async def main() -> tuple[Any, UpstreamError]:
        async with sandbox(shop_not_found_errcode=1090099) as (creds, transport):
            configured = ShopProvider(
                creds.appid, Secret(creds.app_secret), BASE_URL, transport=transport, not_found_errcodes=[1090099]
            )
            default = ShopProvider(creds.appid, Secret(creds.app_secret), BASE_URL, transport=transport)
            try:
                missing = await configured.read("gone")
                with pytest.raises(UpstreamError) as refused:
                    await default.read("gone")
                return missing, refused.value
            finally:
                await configured.aclose()
                await default.aclose()

    missing, refused = asyncio.run(main())
    assert missing is None
    assert refused.code == 1090099


def test_not_found_errcodes_setting_reaches_the_provider(tmp_path: Path) -> None:
    (tmp_path / "couponctl.toml").write_text('[shop]\nappid = "wx1"\nnot_found_errcodes = [1090057, 1090099]\n')
    settings = load_settings(cwd=tmp_path)
    assert settings.shop.not_found_errcodes == (1090057, 1090099)
    built = build_providers(settings, families=("shop",), environ={"COUPONCTL_SHOP_APPSECRET": "s"})
    shop = built["shop"]
    assert isinstance(shop, ShopProvider) and shop.not_found_errcodes == {1090057, 1090099}
    asyncio.run(shop.aclose())
    (tmp_path / "couponctl.toml").write_text('[shop]\nnot_found_errcodes = ["1090057"]\n')
    with pytest.raises(ConfigError, match="not_found_errcodes must be a list of non-zero integer errcodes"):
        load_settings(cwd=tmp_path)


# --- platform-certificate verification ---------------------------------------------------------------------------


def cert_provider(
    creds: SandboxCredentials, transport: httpx.AsyncBaseTransport, apiv3_key: str = APIV3_KEY
) -> WechatPayProvider:
    """A client for a merchant not yet on the WeChat Pay public key: no public key at all, only the APIv3 key."""
    return WechatPayProvider(
        creds.mchid,
        creds.merchant_serial_no,
        creds.merchant_private_key_pem.encode(),
        "",
        b"",
        BASE_URL,
        creds.brand_id,
        transport=transport,
        apiv3_key=apiv3_key.encode(),
    )


def create_call(creds: SandboxCredentials) -> Call:
    """The product.create call of test_against_sandbox, for these credentials."""
    return product_create(SimpleNamespace(credentials=creds))  # type: ignore[arg-type]  # it reads .credentials


class Rewriting(httpx.AsyncBaseTransport):
    """Passes requests to the sandbox and lets a test rewrite answers (a man in the middle)."""

    def __init__(
        self, inner: httpx.AsyncBaseTransport, rewrite: Callable[[httpx.Request, httpx.Response], bytes | None]
    ) -> None:
        self.inner = inner
        self.rewrite = rewrite
        self.paths: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        body = await response.aread()
        self.paths.append(request.url.path)
        new = self.rewrite(request, httpx.Response(response.status_code, headers=response.headers, content=body))
        headers = [(k, v) for k, v in response.headers.items() if k.lower() != "content-length"]
        return httpx.Response(response.status_code, headers=headers, content=body if new is None else new)


def run_with(config: dict[str, Any], scenario: Callable[[SandboxCredentials, httpx.ASGITransport], Awaitable[T]]) -> T:
    async def main() -> T:
        async with sandbox(**config) as (creds, transport):
            return await scenario(creds, transport)

    return asyncio.run(main())


def test_certificate_mode_client_verifies_answers_signed_by_the_platform_certificate() -> None:
    """The client downloads /v3/certificates once, decrypts it with the APIv3 key, and then every answer (signed by
    the platform certificate, named by its hex serial) verifies: create and read work end to end."""

    async def scenario(creds: SandboxCredentials, transport: httpx.ASGITransport) -> tuple[Any, ...]:
        spy = Rewriting(transport, lambda _req, _resp: None)
        provider = cert_provider(creds, spy)
        try:
            created = await provider.execute(create_call(creds))
            read = await provider.read(str(created.upstream_id))
        finally:
            await provider.aclose()
        return created, read, spy.paths

    created, read, paths = run_with({"apiv3_key": APIV3_KEY}, scenario)
    assert read is not None and read["product_coupon_id"] == created.upstream_id
    assert paths.count("/v3/certificates") == 1
    assert paths[0] == "/v3/certificates"


def test_a_wrong_apiv3_key_sends_nothing() -> None:
    """A certificate that does not decrypt (wrong APIv3 key) is refused before any business call is sent."""

    async def scenario(creds: SandboxCredentials, transport: httpx.ASGITransport) -> tuple[Any, ...]:
        spy = Rewriting(transport, lambda _req, _resp: None)
        provider = cert_provider(creds, spy, apiv3_key="X" * 32)
        try:
            with pytest.raises(SignatureError) as refused:
                await provider.execute(create_call(creds))
        finally:
            await provider.aclose()
        return refused.value, spy.paths

    refused, paths = run_with({"apiv3_key": APIV3_KEY}, scenario)
    assert "does not decrypt" in str(refused)
    assert paths == ["/v3/certificates"]


def test_a_wrong_certificate_is_refused() -> None:
    """A man in the middle who swaps in another certificate (even one encrypted with the right APIv3 key) cannot get
    it trusted: the download's own signature does not verify with it, and nothing else is sent."""
    other = new_platform_certificate(1_800_000_000.0)

    def swap(request: httpx.Request, response: httpx.Response) -> bytes | None:
        if request.url.path != "/v3/certificates":
            return None
        data = json.loads(response.content)
        data["data"][0]["encrypt_certificate"] = encrypt_resource(APIV3_KEY, other.pem)
        data["data"][0]["serial_no"] = response.headers["Wechatpay-Serial"]  # keep the serial the answer names
        return json.dumps(data).encode()

    async def scenario(creds: SandboxCredentials, transport: httpx.ASGITransport) -> tuple[Any, ...]:
        spy = Rewriting(transport, swap)
        provider = cert_provider(creds, spy)
        try:
            with pytest.raises(SignatureError) as refused:
                await provider.read("1000000001")
        finally:
            await provider.aclose()
        return refused.value, spy.paths

    refused, paths = run_with({"apiv3_key": APIV3_KEY}, scenario)
    assert "platform certificates" in str(refused) or "signature" in str(refused)
    assert paths == ["/v3/certificates"]


def test_an_answer_signed_by_an_unknown_certificate_is_refused_after_one_new_download() -> None:
    """An answer naming a serial we do not hold makes the client download the certificates once more (WeChat may
    have rotated them); when the serial is still unknown, the answer is refused."""
    foreign = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def forge(request: httpx.Request, response: httpx.Response) -> bytes | None:
        if "/product-coupons/" not in request.url.path:
            return None
        ts, nonce = response.headers["Wechatpay-Timestamp"], response.headers["Wechatpay-Nonce"]
        message = f"{ts}\n{nonce}\n".encode() + response.content + b"\n"
        signature = base64.b64encode(foreign.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()
        response.headers["Wechatpay-Signature"] = signature
        response.headers["Wechatpay-Serial"] = "ABCDEF0123456789"
        return None

    class Forging(Rewriting):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            response = await self.inner.handle_async_request(request)
            body = await response.aread()
            self.paths.append(request.url.path)
            copy = httpx.Response(response.status_code, headers=response.headers, content=body)
            self.rewrite(request, copy)
            headers = [(k, v) for k, v in copy.headers.items() if k.lower() != "content-length"]
            return httpx.Response(copy.status_code, headers=headers, content=body)

    async def scenario(creds: SandboxCredentials, transport: httpx.ASGITransport) -> tuple[Any, ...]:
        spy = Forging(transport, forge)
        provider = cert_provider(creds, spy)
        try:
            with pytest.raises(SignatureError) as refused:
                await provider.read("1000000001")
        finally:
            await provider.aclose()
        return refused.value, spy.paths

    refused, paths = run_with({"apiv3_key": APIV3_KEY}, scenario)
    assert "unknown key" in str(refused)  # also for a "not found" answer: a forged 404 is never a missing coupon
    assert paths.count("/v3/certificates") == 2


def test_certificate_mode_settings_need_the_apiv3_key_not_the_public_key(tmp_path: Path) -> None:
    """[wechatpay] verification = "platform_certificate": no public_key_id / public_key_file needed; the APIv3 key
    comes from the environment, and a missing or malformed one is a ConfigError that never shows it."""
    creds = generate_credentials()
    key_file = tmp_path / "apiclient_key.pem"
    key_file.write_text(creds.merchant_private_key_pem)
    (tmp_path / "couponctl.toml").write_text(
        f'[wechatpay]\nmchid = "{creds.mchid}"\nserial_no = "{creds.merchant_serial_no}"\n'
        f'verification = "platform_certificate"\nbase_url = "{BASE_URL}"\n'
    )
    settings = load_settings(cwd=tmp_path)
    env = {"COUPONCTL_WECHATPAY_KEY_FILE": str(key_file)}
    with pytest.raises(ConfigError, match="COUPONCTL_WECHATPAY_APIV3_KEY"):
        build_providers(settings, families=("product",), environ=env)
    with pytest.raises(ConfigError, match="must be 32 characters") as short:
        build_providers(settings, families=("product",), environ={**env, "COUPONCTL_WECHATPAY_APIV3_KEY": "short-key"})
    assert "short-key" not in str(short.value)
    good = {**env, "COUPONCTL_WECHATPAY_APIV3_KEY": APIV3_KEY}
    built = build_providers(settings, families=("product",), environ=good)
    assert isinstance(built["product"], WechatPayProvider)
    asyncio.run(built["product"].aclose())
    (tmp_path / "couponctl.toml").write_text('[wechatpay]\nverification = "certificates"\n')
    with pytest.raises(ConfigError, match='must be "public_key" or "platform_certificate"'):
        load_settings(cwd=tmp_path)


def test_public_key_mode_is_unchanged_beside_a_certificate_capable_sandbox() -> None:
    """A merchant on the public key keeps being answered (and verified) with the public key even when the sandbox
    can serve certificates: the request's Wechatpay-Serial names the key family (reference C.3)."""

    async def scenario(creds: SandboxCredentials, transport: httpx.ASGITransport) -> tuple[Any, ...]:
        spy = Rewriting(transport, lambda _req, _resp: None)
        provider = WechatPayProvider(
            creds.mchid,
            creds.merchant_serial_no,
            creds.merchant_private_key_pem.encode(),
            creds.public_key_id,
            creds.wechatpay_public_key_pem.encode(),
            BASE_URL,
            creds.brand_id,
            transport=spy,
        )
        try:
            missing = await provider.read("1000000001")
        finally:
            await provider.aclose()
        return missing, spy.paths

    missing, paths = run_with({"apiv3_key": APIV3_KEY}, scenario)
    assert missing is None
    assert "/v3/certificates" not in paths


def test_shop_provider_unaffected_by_call_shape() -> None:
    """Guard: a Call for the shop still names its coupon (used by the fake in the 45011 test)."""
    call = add("x")
    assert isinstance(call, Call) and call.target == "x"
