"""The account's one-time prerequisites (issue 17 item 4), each behind a switch that is off by default.

- `/shop/coupon/confirm` called once (reference A.2), switch `confirm_required`: until then every other
  `/shop/coupon/*` call answers errcode 48001 (`shop.py`).
- A product-coupon notify URL set (B.1, F.11), switch `notify_config_required`: until then create answers
  400 INVALID_REQUEST.
- The brand has authorised the partner (B.0), switch `unauthorised_brand_ids` (brands that have not): every partner
  call naming such a brand answers 403 NO_AUTH.

The notify configuration is per partner merchant: the request carries no `brand_id` and "该地址配置为服务商维度配置"
(reference B.1 [3P]); on brand routes it is per brand. `GET` / `POST .../notify-configs` read and set it; the path
is unsure (F.11), so the singular spellings are answered too. Neither the answer of a `GET` with nothing set nor the
error of a create without it is documented: 404 NOT_FOUND and 400 INVALID_REQUEST are our defaults [INF]. With the
switch off the account counts as set up: a `GET` answers `DEFAULT_NOTIFY_URL` until a URL is set.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from reconciler.sandbox.config import SandboxConfig
from reconciler.sandbox.messages import Answer, PayError, Request, invalid_request, param_error
from reconciler.sandbox.store import Store, dumps

if TYPE_CHECKING:
    from reconciler.sandbox.wechatpay import Caller, ProductCouponService

# F.11: the reference's path, the SDK mirrors' spelling (`notify-config`) and the knowledge base's partner table
# (`/v3/marketing/product-coupon/notify-config`, without `partner/`) [S].
NOTIFY_CONFIG_PATHS = (
    "/v3/marketing/partner/product-coupon/notify-configs",
    "/v3/marketing/partner/product-coupon/notify-config",
    "/v3/marketing/product-coupon/notify-config",
)
BRAND_NOTIFY_CONFIG_PATHS = (
    "/brand/marketing/product-coupon/notify-configs",  # the brand variant's official sample [S]
    "/brand/marketing/product-coupon/notify-config",
)
NOTIFY_URL_MAX_CHARS = 256  # our default: the doc gives no length
# With the switch off the account is set up: a GET answers this until a URL is set (our default).
DEFAULT_NOTIFY_URL = "https://sandbox.invalid/notify/product-coupon"
NOT_SET_MESSAGE = "未设置商品券事件通知地址，请先调用设置商品券事件通知地址接口"  # [INF] our wording
CHINA = timezone(timedelta(hours=8))


def _key(owner: str) -> str:
    return f"notify_config|{owner}"


def notify_config(store: Store, owner: str) -> dict[str, Any] | None:
    """The notify configuration `owner` (a partner mchid, or "brand:<id>") has set, or None."""
    raw = store.get_meta(_key(owner))
    return None if raw is None else dict(json.loads(raw))


def require_notify_config(store: Store, config: SandboxConfig, owner: str) -> None:
    """Create refuses while the switch is on and no notify URL is set (400 INVALID_REQUEST, our default [INF])."""
    if config.notify_config_required and notify_config(store, owner) is None:
        raise invalid_request(f"{NOT_SET_MESSAGE}（notify-configs）后再创建商品券")


def brand_authorised(brand_id: str, brands: frozenset[str], config: SandboxConfig) -> bool:
    """Has `brand_id` authorised the partner? Known brands do, unless the switch withdraws it (B.0)."""
    return brand_id in brands and brand_id not in config.unauthorised_brand_ids


def handle_notify_configs(pay: ProductCouponService, request: Request, caller: Caller) -> Answer:
    """`GET` (the configuration, or 404 when none is set) and `POST {"notify_url"}` (set or replace it)."""
    if request.method == "GET":
        current = notify_config(pay.store, caller.owner)
        if current is None and pay.config.notify_config_required:
            raise PayError("NOT_FOUND", NOT_SET_MESSAGE)
        return pay.signed(200, current or {"notify_url": DEFAULT_NOTIFY_URL, "update_time": _time(0)})
    try:
        body = json.loads(request.body) if request.body.strip() else None
    except (ValueError, UnicodeDecodeError):
        raise param_error("/", "body is not valid JSON") from None
    if not isinstance(body, dict):
        raise param_error("/", "body must be a JSON object")
    for key in body:
        if key != "notify_url":
            raise param_error(f"/{key}", "is not accepted by this endpoint")
    url = body.get("notify_url")
    if not isinstance(url, str) or not url.startswith("https://") or len(url) > NOTIFY_URL_MAX_CHARS:
        raise param_error("/notify_url", f"must be an https URL of at most {NOTIFY_URL_MAX_CHARS} characters", url)
    stored = {"notify_url": url, "update_time": _time(pay.config.clock())}
    with pay.store.transaction():
        pay.store.set_meta(_key(caller.owner), dumps(stored))
    return pay.signed(200, stored)


def _time(ts: float) -> str:
    return datetime.fromtimestamp(ts, CHINA).isoformat(timespec="seconds")
