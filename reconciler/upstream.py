"""Builds the providers for the configured upstream: the embedded sandbox or real WeChat.

`mode = "sandbox"` runs the emulator in-process (through httpx.ASGITransport), persisted under
`[upstream] sandbox_dir` (default state/sandbox): its data file and the credentials it generated on first use. The
client side is configured with those credentials exactly as it would be with real ones, so the same signing,
verification and token code runs in both modes.

`mode = "wechat"` uses `[shop]` and `[wechatpay]` with secrets from the environment. Pointing `base_url` at a
`couponctl sandbox serve` server is the way to run the real-mode code against the emulator over HTTP.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from reconciler.config import Secret, Settings
from reconciler.providers.base import Provider
from reconciler.providers.factory import build_providers
from reconciler.providers.shop import ShopProvider
from reconciler.providers.wechatpay import WechatPayProvider

SANDBOX_BASE_URL = "http://sandbox.invalid"  # never resolved: the ASGI transport answers in-process


@dataclass(frozen=True, slots=True)
class Upstream:
    """The providers of one run, keyed by family ("shop", "product"), and the default brand."""

    providers: Mapping[str, Provider]
    default_brand_id: str | None
    description: str


def _embedded_parts(settings: Settings) -> tuple[httpx.AsyncBaseTransport, Upstream]:
    from reconciler.sandbox import SandboxConfig, create_app, load_or_create_credentials

    sandbox_dir = settings.resolve(settings.upstream.sandbox_dir)
    sandbox_dir.mkdir(parents=True, exist_ok=True)
    creds = load_or_create_credentials(sandbox_dir / "keys")
    config = SandboxConfig(extra_brand_ids=tuple(settings.upstream.sandbox_brand_ids))
    app = create_app(creds, config, data=str(sandbox_dir / "sandbox.db"))
    transport = httpx.ASGITransport(app=app)
    timeout = settings.apply.request_timeout_s
    providers: dict[str, Provider] = {
        "shop": ShopProvider(
            creds.appid, Secret(creds.app_secret), SANDBOX_BASE_URL, transport=transport, timeout=timeout
        ),
        "product": WechatPayProvider(
            mchid=creds.mchid,
            serial_no=creds.merchant_serial_no,
            private_key_pem=creds.merchant_private_key_pem.encode(),
            public_key_id=creds.public_key_id,
            public_key_pem=creds.wechatpay_public_key_pem.encode(),
            base_url=SANDBOX_BASE_URL,
            brand_id=creds.brand_id,
            transport=transport,
            timeout=timeout,
        ),
    }
    brand = settings.wechatpay.brand_id or creds.brand_id
    return transport, Upstream(providers, brand, f"embedded sandbox ({_display(sandbox_dir, settings.root)})")


def _wechat_upstream(settings: Settings) -> Upstream:
    """The configured families only: a shop-only project needs no WeChat Pay keys, and the other way round."""
    families = [f for f, on in (("shop", settings.shop.appid), ("product", settings.wechatpay.mchid)) if on]
    providers = build_providers(settings, families=families)
    return Upstream(providers, settings.wechatpay.brand_id or None, "WeChat")


def _display(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


@contextlib.asynccontextmanager
async def open_upstream(settings: Settings) -> AsyncIterator[Upstream]:
    """The providers for this run; closes their HTTP clients on exit."""
    if settings.upstream.mode == "sandbox":
        _, upstream = _embedded_parts(settings)
    else:
        upstream = _wechat_upstream(settings)
    try:
        yield upstream
    finally:
        for provider in upstream.providers.values():
            await provider.aclose()
