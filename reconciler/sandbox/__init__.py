"""The sandbox: an independent emulator of both upstream API families (contract §3.1).

It implements the Mini Program `/shop/coupon/*` + access_token APIs and the WeChat Pay APIv3 partner product-coupon
APIs from `docs/upstream.md`, and imports nothing from `manifest`, `plan`, `providers` or `apply`, so a
wrong client rule cannot be mirrored by a wrong sandbox rule. Use it in-process through `httpx.ASGITransport`
(`create_app(...)`) or served on loopback (`couponctl sandbox serve`). See docs/sandbox.md.
"""

from __future__ import annotations

from reconciler.sandbox.app import InjectedConnectionDrop, Sandbox, create_app
from reconciler.sandbox.config import (
    BRAND_OPERATIONS,
    DEFAULT_RATE_LIMITS,
    OPERATIONS,
    PRODUCT_OPERATIONS,
    SHOP_OPERATIONS,
    TOKEN_OPERATIONS,
    SandboxConfig,
    config_from_mapping,
)
from reconciler.sandbox.credentials import (
    SandboxCredentials,
    generate_credentials,
    load_credentials,
    load_or_create_credentials,
    save_credentials,
)

__all__ = [
    "BRAND_OPERATIONS",
    "DEFAULT_RATE_LIMITS",
    "OPERATIONS",
    "PRODUCT_OPERATIONS",
    "SHOP_OPERATIONS",
    "TOKEN_OPERATIONS",
    "InjectedConnectionDrop",
    "Sandbox",
    "SandboxConfig",
    "SandboxCredentials",
    "config_from_mapping",
    "create_app",
    "generate_credentials",
    "load_credentials",
    "load_or_create_credentials",
    "save_credentials",
]
