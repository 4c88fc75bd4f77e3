"""Reading a product coupon's stocks for refresh, drift and the refreshing plan (decision D29, reference B.4).

GET of a coupon never returns its stocks (B.2): for every product coupon whose state knows stocks, list-stocks is
read too (paged, each page paced as `product.stock.list` and retried on its own), and the listed stocks are put under
the names state knows them by (`plan/stock_drift.py`), so drift compares them and refresh records their counters.
`PagedReads` is that pacing, shared with `import` (which reads the stocks and stores of the coupons it adopts).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.plan.read_selection import STOCK_LIST, STORE_READ
from reconciler.plan.stock_drift import has_stocks, with_listed_stocks
from reconciler.providers.pacing import Pacer
from reconciler.resources import ResourceState


@dataclass(frozen=True, slots=True)
class PagedReads:
    """The hooks a provider's paged read takes (`before_page`, `retry`): each page waits for its operation's slot in
    the run's pacer and is retried on its own (reference B.12, B.11), then `on_page` is told its operation (once,
    whatever its retries). `subject` names the coupon in retry notices."""

    pacer: Pacer
    subject: str
    on_page: Callable[[str], None] | None = None

    def hooks(self, operation: str) -> dict[str, Any]:
        """`before_page` and `retry` for pages of `operation` (`product.stock.list`, `…associated_stores`)."""

        async def before_page() -> None:
            await self.pacer.wait(operation)

        async def retry(fn: Callable[[], Awaitable[Any]]) -> Any:
            answer = await self.pacer.retry(fn, subject=self.subject)
            if self.on_page is not None:
                self.on_page(operation)
            return answer

        return {"before_page": before_page, "retry": retry}


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
    pages = PagedReads(pacer, f"the stocks of {resource.address}", on_page)
    listed = await provider.read_stocks(resource.upstream_id, brand_id=resource.brand_id, **pages.hooks(STOCK_LIST))
    merged = with_listed_stocks(resource, current, listed)
    if hasattr(provider, "read_stores"):  # the stores of SPECIFIC stocks, as associated now (decision D34)
        await with_associated_stores(provider, resource, merged, pages)
    return merged


async def with_associated_stores(
    provider: Any, resource: ResourceState, merged: dict[str, Any], pages: PagedReads
) -> None:
    """Put, in place, the store ids `associated-stores` reads now into every live SPECIFIC stock of `merged` whose
    entry in state records stores (decision D34): drift compares them, refresh records them."""
    stocks = merged.get("stocks")
    if not isinstance(stocks, dict):
        return
    for name, stock in list(stocks.items()):
        if not isinstance(stock, Mapping) or stock.get("store_scope") != "SPECIFIC" or "stores" not in stock:
            continue
        if stock.get("state") in ("STOPPED", "DEACTIVATED") or not stock.get("stock_id"):
            continue
        ids = await provider.read_stores(
            resource.upstream_id, str(stock["stock_id"]), brand_id=resource.brand_id, **pages.hooks(STORE_READ)
        )
        stocks[name] = {**stock, "stores": ids}
