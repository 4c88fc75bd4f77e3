"""SandboxConfig: every tunable of the emulator, with the defaults the project chose where the reference is silent.

Each default cites `docs/upstream.md` (the "reference") or is marked "our default" when the
documentation does not state the value.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any

# Operation names: the call log, the rate limits and the fault rules all use exactly these strings.
SHOP_OPERATIONS: tuple[str, ...] = (
    "shop.add",
    "shop.update",
    "shop.get",
    "shop.get_list",
    "shop.update_status",
    "shop.update_coupon_stock",
    "shop.confirm",
)
TOKEN_OPERATIONS: tuple[str, ...] = ("token", "stable_token")
PRODUCT_OPERATIONS: tuple[str, ...] = (
    "product.create",
    "product.get",
    "product.patch",
    "product.deactivate",
    "product.stocks.list",
    "product.stocks.get",
    "product.stocks.create",
    "product.stocks.deactivate",
    "product.stocks.patch",
    "product.stocks.update_budget",
    "product.stocks.upload_codes",  # coupon codes (decision D35, codes.py)
    "product.stocks.associate_stores",  # store association (decision D34, stores.py)
    "product.stocks.disassociate_stores",
    "product.stocks.associated_stores",
    "product.stock_bundles.create",
    "product.stock_bundles.patch",
    "product.stock_bundles.update_budget",
    "product.media.upload_image",
    "product.notify_configs",
)
# Brand routes (`/brand/marketing/product-coupon/...`, reference B.0/C.2): same endpoints, their own buckets.
BRAND_OPERATIONS: tuple[str, ...] = tuple(f"brand.{op}" for op in PRODUCT_OPERATIONS if "media" not in op)
OPERATIONS: tuple[str, ...] = TOKEN_OPERATIONS + SHOP_OPERATIONS + PRODUCT_OPERATIONS + BRAND_OPERATIONS

# Reference B.12: every product-coupon endpoint is limited to 20/s (create: 20/s in the 2025-11 doc).
PRODUCT_RATE_PER_SECOND = 20.0
# Reference A.10: the v1 doc says "most APIs 800 calls / 30 s"; not restated for /shop, so this is our default.
SHOP_RATE_PER_SECOND = 800.0 / 30.0
# Reference A.9.2: stable_token allows 10,000 calls/min.
STABLE_TOKEN_RATE_PER_SECOND = 10_000.0 / 60.0

DEFAULT_RATE_LIMITS: Mapping[str, float] = MappingProxyType(
    {
        **{op: SHOP_RATE_PER_SECOND for op in SHOP_OPERATIONS},
        "stable_token": STABLE_TOKEN_RATE_PER_SECOND,
        # /cgi-bin/token only has a daily quota (2000/day, reference A.9.1), not modelled by a per-second bucket:
        # no limit by default (our default).
        # The image upload has no documented limit (our default: none).
        **{op: PRODUCT_RATE_PER_SECOND for op in PRODUCT_OPERATIONS if op != "product.media.upload_image"},
        # Reference B.1: "20/秒（品牌ID维度）" on brand routes.
        **{op: PRODUCT_RATE_PER_SECOND for op in BRAND_OPERATIONS},
    }
)

# Reference E Family-2 item 7: image URLs must come from the upload API. The sandbox accepts https URLs under these
# prefixes (our default; the first is the CDN host WeChat Pay images live on); its own upload endpoint answers URLs
# under the first one.
DEFAULT_IMAGE_URL_PREFIXES: tuple[str, ...] = ("https://wxpaylogo.qpic.cn/", "https://sandbox.invalid/images/")


@dataclass(frozen=True)
class SandboxConfig:
    """How the sandbox behaves; every field has the documented value or a named default of ours."""

    # Reference A.9: expires_in is 7200 s; the old token stays usable 5 minutes after rotation.
    token_lifetime_s: float = 7200.0
    token_grace_s: float = 300.0
    # Reference A.9.2: force_refresh at most 20 per day and at least 30 s apart.
    stable_force_refresh_per_day: int = 20
    stable_force_refresh_min_interval_s: float = 30.0
    # Reference C.1 / F.12: request timestamps older or newer than this are refused (HK doc: 300 s).
    request_time_window_s: float = 300.0
    # Reference B.5 / F.6: initial state after create is undocumented; EFFECTIVE by default, AUDITING on request.
    product_initial_state: str = "EFFECTIVE"
    # Operation -> requests per second (token bucket). A missing operation is not limited.
    rate_limits: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_RATE_LIMITS))
    # Bucket size in seconds of rate (our default: one second's worth, so a client pacing at R/s never sees a 429).
    rate_limit_burst_s: float = 1.0
    # Reference A.10 / A.8: 300000 = "instantaneous frequency too high"; 45009 = daily quota (our default: 300000).
    shop_rate_limit_errcode: int = 300000
    # Account prerequisites (issue 17 item 4; all off by default, so the demo needs none; `prerequisites.py`):
    # Reference A.2 / E Family-1 item 4: `/shop/coupon/confirm` must be called before the other coupon calls.
    confirm_required: bool = False
    # Reference B.1 / F.11: product-coupon create needs the partner's notify URL set (`notify-configs`) [INF].
    notify_config_required: bool = False
    # Reference B.0: brands that have not authorised the partner (403 NO_AUTH), even the credentials' own brand.
    unauthorised_brand_ids: tuple[str, ...] = ()
    image_url_prefixes: tuple[str, ...] = DEFAULT_IMAGE_URL_PREFIXES
    # Reference B.11: APIv3 accepts only 1-3 byte UTF-8 characters.
    reject_4byte_utf8: bool = True
    # Reference B.9: same out_request_no with a different body -> 400 INVALID_REQUEST (or ALREADY_EXISTS on create).
    idempotency_mismatch_code: str = "INVALID_REQUEST"
    # Reference A.7 / F.1: the out_product_ids cap is unknown; 128 is a project assumption.
    shop_max_out_product_ids: int = 128
    # Brands, besides the credentials' brand_id, that have authorised the partner (reference E Family-2 item 4).
    extra_brand_ids: tuple[str, ...] = ()
    # Switches for what the docs leave open, so clients are tested against each reading (issue 15 item 3):
    # Reference A.6.4: `get` / `get_list` may answer a status-1 coupon with a partial `coupon_info` [D example].
    # "full" (our default: the whole stored body), "partial" (coupon_info keeps only `name`) or "zero_filled"
    # (every coupon_info leaf answered as 0 / "" / []); which fields real WeChat leaves out is an inference.
    shop_status1_body: str = "full"
    # Reference F.3: the errcode for an unknown out_coupon_id is not documented; 1090057 is our default (the
    # "coupon not found" ret_code of the claim callback, A.2). Set another to test a client's not-found setting.
    shop_not_found_errcode: int = 1090057
    # Reference B.7 / B.8: PATCH and deactivate in EFFECTIVE only (our default, from B.10); the PATCH doc page
    # itself only says "已创建商品券" (the coupon exists), so False accepts them in AUDITING too [INF].
    product_patch_requires_effective: bool = True
    # Reference C.3 / C.4: `GET /v3/certificates` serves the platform certificate encrypted with this APIv3 key
    # (32 ASCII characters; AEAD_AES_256_GCM). Empty: the merchant has set no APIv3 key, and the call is refused.
    apiv3_key: str = ""
    # Reference B.10: a SENDING / PAUSED stock whose `available_end_time` has passed on the sandbox clock reads as
    # STOPPED (computed on read). False keeps such stocks in their state (for tests with fixed dates in the past).
    stock_stops_at_end_time: bool = True
    # Decision D34: store ids the brand does not have; associating them fails in `failed_store_list` (stores.py).
    unknown_store_ids: tuple[str, ...] = ()
    clock: Callable[[], float] = time.time


_TUPLE_FIELDS = {"image_url_prefixes", "extra_brand_ids", "unauthorised_brand_ids", "unknown_store_ids"}
SHOP_STATUS1_BODIES = ("full", "partial", "zero_filled")


def config_from_mapping(values: Mapping[str, Any], base: SandboxConfig | None = None) -> SandboxConfig:
    """A SandboxConfig from JSON-like values (e.g. `--config-json`); unknown keys are an error."""
    base = base or SandboxConfig()
    known = {f.name for f in fields(SandboxConfig)} - {"clock"}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"unknown sandbox config keys: {', '.join(unknown)}")
    changes: dict[str, Any] = {}
    for key, value in values.items():
        if key == "rate_limits":
            check_operations(dict(value))
            merged = dict(base.rate_limits)
            for op, rate in dict(value).items():
                if rate is None:
                    merged.pop(op, None)
                else:
                    merged[op] = float(rate)
            changes[key] = merged
        elif key in _TUPLE_FIELDS:
            changes[key] = tuple(value)
        else:
            changes[key] = value
    config = _replace(base, changes)
    if config.product_initial_state not in {"EFFECTIVE", "AUDITING"}:
        raise ValueError("product_initial_state must be EFFECTIVE or AUDITING")
    if config.idempotency_mismatch_code not in {"INVALID_REQUEST", "ALREADY_EXISTS"}:
        raise ValueError("idempotency_mismatch_code must be INVALID_REQUEST or ALREADY_EXISTS")
    if config.shop_status1_body not in SHOP_STATUS1_BODIES:
        raise ValueError(f"shop_status1_body must be one of {', '.join(SHOP_STATUS1_BODIES)}")
    if (
        isinstance(config.shop_not_found_errcode, bool)
        or not isinstance(config.shop_not_found_errcode, int)
        or (config.shop_not_found_errcode == 0)
    ):
        raise ValueError("shop_not_found_errcode must be a non-zero integer")
    if config.apiv3_key and len(config.apiv3_key.encode()) != 32:
        raise ValueError("apiv3_key must be 32 ASCII characters (reference C.4: AEAD_AES_256_GCM key)")
    return config


def check_operations(names: Mapping[str, Any]) -> None:
    """Refuse rate limits for operations that do not exist (a typo would silently limit nothing)."""
    unknown = sorted(set(names) - set(OPERATIONS))
    if unknown:
        raise ValueError(f"unknown operations: {', '.join(unknown)} (known: {', '.join(OPERATIONS)})")


def _replace(config: SandboxConfig, changes: Mapping[str, Any]) -> SandboxConfig:
    import dataclasses

    return dataclasses.replace(config, **changes)
