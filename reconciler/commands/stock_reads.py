"""Reading a product coupon's stocks for refresh, drift and the refreshing plan (decision D29, reference B.4).

GET of a coupon never returns its stocks (B.2): for every product coupon whose state knows stocks, list-stocks is
read too (paged, each page paced as `product.stock.list` and retried on its own), and the listed stocks are put under
the names state knows them by (`plan/stock_drift.py`), so drift compares them and refresh records their counters.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from reconciler.plan.read_selection import STOCK_LIST, STORE_READ
from reconciler.plan.stock_drift import has_stocks, with_listed_stocks
from reconciler.providers.pacing import Pacer
from reconciler.resources import ResourceState


async def with_stock_list(
    provider: Any,
    pacer: Pacer,
    resource: ResourceState,
    current: Mapping[str, Any] | None,
    *,
    on_page: Callable[[str], None] | None = None,
) -> Mapping[str, Any] | None:
    """`current` (the coupon as GET returned it) with its stocks as listed now; unchanged when the coupon is gone,
    when state knows no stock of it, or when the provider cannot list stocks. `on_page` is told the operation of
    each page read (`product.stock.list`, `product.stock.associated_stores`), once whatever its retries."""
    if current is None or not has_stocks(resource) or not hasattr(provider, "read_stocks"):
        return current

    async def before_page() -> None:
        await pacer.wait(STOCK_LIST)

    def counted(operation: str) -> Callable[[Callable[[], Awaitable[Any]]], Awaitable[Any]]:
        async def page(fn: Callable[[], Awaitable[Any]]) -> Any:
            answer = await pacer.retry(fn, subject=f"the stocks of {resource.address}")
            if on_page is not None:  # one page read, whatever its retries
                on_page(operation)
            return answer

        return page

    listed = await provider.read_stocks(
        resource.upstream_id, brand_id=resource.brand_id, before_page=before_page, retry=counted(STOCK_LIST)
    )
    merged = with_listed_stocks(resource, current, listed)
    if hasattr(provider, "read_stores"):  # the stores of SPECIFIC stocks, as associated now (decision D34)
        await with_associated_stores(provider, pacer, resource, merged, counted(STORE_READ))
    return merged


async def with_associated_stores(
    provider: Any,
    pacer: Pacer,
    resource: ResourceState,
    merged: dict[str, Any],
    page: Callable[[Callable[[], Awaitable[Any]]], Awaitable[Any]],
) -> None:
    """Put, in place, the store ids `associated-stores` reads now into every live SPECIFIC stock of `merged` whose
    entry in state records stores (decision D34): drift compares them, refresh records them."""
    stocks = merged.get("stocks")
    if not isinstance(stocks, dict):
        return

    async def before_page() -> None:
        await pacer.wait(STORE_READ)

    for name, stock in list(stocks.items()):
        if not isinstance(stock, Mapping) or stock.get("store_scope") != "SPECIFIC" or "stores" not in stock:
            continue
        if stock.get("state") in ("STOPPED", "DEACTIVATED") or not stock.get("stock_id"):
            continue
        ids = await provider.read_stores(
            resource.upstream_id,
            str(stock["stock_id"]),
            brand_id=resource.brand_id,
            before_page=before_page,
            retry=page,
        )
        stocks[name] = {**stock, "stores": ids}
