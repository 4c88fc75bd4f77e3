"""The one interface both upstream families sit behind.

A provider executes plan `Call`s and reads coupons. It knows nothing about addresses, state or plans beyond the
`Call` value; the applier attributes errors to addresses (`UpstreamError.with_address`). Providers are async
(httpx.AsyncClient) so the applier can keep several calls in flight under its rate limits.

Errors: `TransientUpstreamError` for what is worth retrying with the same request (429, 5xx, errcode -1 / 300000 /
45011, timeouts, dropped connections); `SignatureError` for WeChat Pay responses failing verification;
`UpstreamError` for everything else. Messages never contain a secret or an unredacted URL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from reconciler.plan.model import Call


@dataclass(frozen=True, slots=True)
class CallResult:
    """What one successful call returned.

    `entity` is the upstream object after the call when the API returns it (WeChat Pay create / PATCH / deactivate
    return the full product coupon; create also returns `stock` / `stock_bundle`), else None (shop calls answer only
    `{"errcode": 0}`). `upstream_id` is the id the call concerned (for product.create: the new product_coupon_id).
    """

    operation: str
    upstream_id: str | None
    entity: Mapping[str, Any] | None = None
    request_id: str | None = None  # WeChat Pay Request-ID, or the shop errmsg rid when present
    http_status: int = 200
    raw: Mapping[str, Any] = field(default_factory=dict)


class Provider(Protocol):
    """One upstream family."""

    family: str  # "shop" | "product"

    async def execute(self, call: Call) -> CallResult:
        """Send exactly `call.payload` for `call.operation`; raise an UpstreamError subclass on failure."""
        ...

    async def read(self, upstream_id: str, *, brand_id: str | None = None) -> Mapping[str, Any] | None:
        """The coupon as upstream holds it now (shop: the `coupon` object; product: the entity), or None when
        upstream says it does not exist."""
        ...

    def list_all(
        self,
        *,
        before_page: Callable[[], Awaitable[None]] | None = None,
        retry: Callable[[Callable[[], Awaitable[Any]]], Awaitable[Any]] | None = None,
    ) -> AsyncIterator[Mapping[str, Any]]:
        """Every coupon upstream knows (shop: get_list pages of <= 200), awaiting `before_page` before each page
        (the caller's pacing) and fetching each page through `retry` when given (the caller's retry policy, so a
        transient error re-reads one page, not the whole list). Product coupons have no list API: the product
        provider raises NotImplementedError."""
        ...

    async def aclose(self) -> None: ...
