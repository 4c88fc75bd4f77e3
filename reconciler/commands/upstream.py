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
from typing import TYPE_CHECKING

from reconciler.commands.common import refuse_outside_project
from reconciler.config import Secret, Settings
from reconciler.errors import ConfigError

if TYPE_CHECKING:  # httpx, the providers and the sandbox load when a run opens its upstream (start-up, D1)
    from reconciler.providers.base import Provider
    from reconciler.sandbox import SandboxCredentials

SANDBOX_BASE_URL = "http://sandbox.invalid"  # never resolved: the ASGI transport answers in-process


@dataclass(frozen=True, slots=True)
class Upstream:
    """The providers of one run, keyed by family ("shop", "product"), and the default brand."""

    providers: Mapping[str, Provider]
    default_brand_id: str | None
    description: str


def sandbox_credentials(settings: Settings) -> SandboxCredentials:
    """The embedded sandbox's credentials under `[upstream] sandbox_dir`, generated (and written) on first use."""
    from reconciler.sandbox import load_or_create_credentials
    from reconciler.sandbox.credentials import CREDENTIALS_FILE

    sandbox_dir = settings.resolve(settings.upstream.sandbox_dir)
    keys = sandbox_dir / "keys"
    if not (keys / CREDENTIALS_FILE).exists():
        refuse_outside_project(settings, "new sandbox keys", keys)
    try:
        sandbox_dir.mkdir(parents=True, exist_ok=True)
        return load_or_create_credentials(keys)
    except OSError as exc:
        raise ConfigError(f"cannot read or write the embedded sandbox's keys in {keys}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"the embedded sandbox's keys in {keys} are damaged: a file there is not text "
            f"(byte {exc.start}); restore them, or move the folder {sandbox_dir} away to start a "
            "new embedded sandbox"
        ) from None
    except (ValueError, TypeError, AttributeError) as exc:  # JSON errors are ValueErrors
        raise ConfigError(
            f"the embedded sandbox's keys in {keys} are damaged ({exc}); restore them, or move the "
            f"folder {sandbox_dir} away to start a new embedded sandbox"
        ) from None


def default_brand_id(settings: Settings) -> str | None:
    """The brand of product coupons whose manifest names none: `[wechatpay] brand_id`, else (embedded sandbox) the
    sandbox's own brand, which asks for the sandbox credentials (creating them on first use). A command that opens
    the upstream reads the same value from `Upstream.default_brand_id` instead."""
    if settings.wechatpay.brand_id:
        return settings.wechatpay.brand_id
    if settings.upstream.mode == "sandbox":
        return sandbox_credentials(settings).brand_id
    return None


def _embedded_upstream(settings: Settings) -> Upstream:
    import sqlite3

    import httpx

    from reconciler.providers.shop import ShopProvider
    from reconciler.providers.wechatpay import WechatPayProvider
    from reconciler.sandbox import SandboxConfig, create_app

    sandbox_dir = settings.resolve(settings.upstream.sandbox_dir)
    creds = sandbox_credentials(settings)
    config = SandboxConfig(extra_brand_ids=tuple(settings.upstream.sandbox_brand_ids))
    try:
        app = create_app(creds, config, data=str(sandbox_dir / "sandbox.db"))
    except ValueError as exc:  # a key file that is text but not a usable PEM key (the sandbox parses its keys here)
        raise ConfigError(
            f"the embedded sandbox's keys in {sandbox_dir / 'keys'} are damaged ({exc}); restore them, or move the "
            f"folder {sandbox_dir} away to start a new embedded sandbox"
        ) from None
    except sqlite3.DatabaseError as exc:  # sandbox.db is not an SQLite database (or a damaged one)
        raise ConfigError(
            f"the embedded sandbox's data file {sandbox_dir / 'sandbox.db'} cannot be opened ({exc}); restore it, "
            f"or move the folder {sandbox_dir} away to start a new embedded sandbox"
        ) from None
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
            files_root=settings.root,  # image uploads read their planned files under it (decision D33)
        ),
    }
    brand = settings.wechatpay.brand_id or creds.brand_id
    return Upstream(providers, brand, f"embedded sandbox ({_display(sandbox_dir, settings.root)})")


def _wechat_upstream(settings: Settings) -> Upstream:
    """The configured families only: a shop-only project needs no WeChat Pay keys, and the other way round."""
    from reconciler.providers.factory import build_providers

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
    upstream = _embedded_upstream(settings) if settings.upstream.mode == "sandbox" else _wechat_upstream(settings)
    try:
        yield upstream
    finally:
        for provider in upstream.providers.values():
            await provider.aclose()
