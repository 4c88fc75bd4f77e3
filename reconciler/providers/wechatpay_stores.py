"""The store association calls of a stock (decision D34; reference B.1, B.4): associate, disassociate, read.

| operation | call (under `…/product-coupons/{id}`) |
|---|---|
| `product.stock.associate_stores` | `POST …/stocks/{stock_id}/associate-stores` `{brand_id, store_list}` |
| `product.stock.disassociate_stores` | `POST …/stocks/{stock_id}/disassociate-stores` `{brand_id, store_list}` |
| `product.stock.associated_stores` (read) | `GET …/stocks/{stock_id}/associated-stores?brand_id=&page_size=&…` |

At most 200 ids per call [D docs 4015781302 / 4015781537]; the read pages by at most 200 (default 20) with an opaque
`page_token` [D doc 4015781546]. The associate answer is `{total_count, success_store_list, failed_store_list}` with a
`code` / `message` per failed id [3P SKIT `AssociateMarketingPartnerProductCouponStockToStoresResponse`]: a batch
with a failed id is a refusal here (`check_store_answer`), so state records only batches that landed whole and the next
plan sends the batch again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import quote

from reconciler.errors import UpstreamError
from reconciler.plan.model import Call

# operation -> (method, path under the coupon, names the stock): merged into wechatpay_stocks.STOCK_ROUTES
STORE_ROUTES: dict[str, tuple[str, str, bool]] = {
    "product.stock.associate_stores": ("POST", "/stocks/{id}/associate-stores", True),
    "product.stock.disassociate_stores": ("POST", "/stocks/{id}/disassociate-stores", True),
}
STORE_READ = "product.stock.associated_stores"  # the read's operation name (its rate: reconciler.upstream_facts)
STORE_PAGE_SIZE = 200  # reference B.4: page_size at most 200 (doc 4015781546)
MAX_STORE_PAGES = 1_000  # a bound so a looping token cannot spin (200,000 stores)
SHOWN_FAILURES = 3


def check_store_answer(call: Call, entity: Mapping[str, Any] | None) -> None:
    """Refuse an association answer that names failed ids (the batch is not recorded; the next plan re-sends it)."""
    if call.operation not in STORE_ROUTES or not entity:
        return
    failed = entity.get("failed_store_list")
    if not isinstance(failed, list) or not failed:
        return
    shown = "; ".join(
        f"{f.get('store_id')}: {f.get('code') or '?'} {f.get('message') or ''}".strip()
        for f in failed[:SHOWN_FAILURES]
        if isinstance(f, Mapping)
    )
    more = f" and {len(failed) - SHOWN_FAILURES} more" if len(failed) > SHOWN_FAILURES else ""
    raise UpstreamError(
        call=call.operation,
        message=f"{len(failed)} of the batch's stores failed ({shown}{more}); check the store ids, then apply again",
        code=str(failed[0].get("code")) if isinstance(failed[0], Mapping) and failed[0].get("code") else None,
    )


async def read_associated_stores(
    provider: Any,
    coupons_path: str,
    product_coupon_id: str,
    stock_id: str,
    brand_id: str,
    *,
    before_page: Callable[[], Awaitable[None]] | None = None,
    retry: Callable[[Callable[[], Awaitable[Any]]], Awaitable[Any]] | None = None,
) -> list[str]:
    """Every store id associated with the stock, sorted (paged, each page through `before_page` / `retry`)."""
    path = f"{coupons_path}/{quote(product_coupon_id, safe='')}/stocks/{quote(stock_id, safe='')}/associated-stores"
    ids: list[str] = []
    token: str | None = None
    for _page in range(MAX_STORE_PAGES):
        params = {"brand_id": brand_id, "page_size": str(STORE_PAGE_SIZE)}
        if token:
            params["page_token"] = token

        async def page_of(params: Mapping[str, str] = params) -> Any:
            if before_page is not None:
                await before_page()
            return await provider._send(STORE_READ, "GET", path, params=params)

        response = await (retry(page_of) if retry is not None else page_of())
        data = provider._entity(STORE_READ, response) or {}
        page = data.get("store_list") or []
        ids.extend(str(s["store_id"]) for s in page if isinstance(s, Mapping) and s.get("store_id") is not None)
        token = data.get("next_page_token") if isinstance(data.get("next_page_token"), str) else None
        if not token or not page:
            return sorted(set(ids))
    raise UpstreamError(call=STORE_READ, message=f"more than {MAX_STORE_PAGES} pages of stores")
