"""Pure: which managed coupons drift, refresh and a refreshing plan read upstream (decision D31).

A coupon is skipped only when its last-known state is one upstream can never leave, so nothing about it can change
any more:

- a product coupon `DEACTIVATED` (reference B.10: final; B.8: its stocks are deactivated with it);
- a shop coupon in status 3 (expired) or 4 (voided) (reference A.4.2: the only moves are 1 -> 2, 2 -> 3, 2 -> 4).

Windows that are over are *not* a reason to skip: an `EFFECTIVE` product coupon whose stocks have all stopped can
still be PATCHed, deactivated or given a new stock in the console (reference B.7, B.1), and a shop coupon in status
2 can still be voided (A.4.2). Shop coupons are listed by `get_list` pages (A.6.4), which read every shop coupon at
once, so the listing is skipped only when nothing in the state can change any more (a campaign that has wholly
ended costs no read at all); then unmanaged shop coupons are not looked for, and the report says so. `--all`
(`everything=True`) reads everything, as before D31.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

from reconciler.plan.stock_drift import BUNDLES, STOCKS, has_stocks
from reconciler.resources import ResourceState

# Why a coupon was skipped, in the order the summary names them.
REASONS = ("deactivated", "expired", "voided")
SHOP_PAGE_SIZE = 200  # reference A.6.4: get_list pages hold at most 200 coupons
STOCK_LIST, STORE_READ = "product.stock.list", "product.stock.associated_stores"
STOCK_PAGE_SIZE = 50  # reference B.4: list-stocks pages hold at most 50 stocks (the size couponctl asks for)
STORE_PAGE_SIZE = 200  # reference B.4 (doc 4015781546): associated-stores pages hold at most 200 ids
ENDED_STOCK_STATES = frozenset({"STOPPED", "DEACTIVATED"})  # reference B.10: no store is read for them (D34)


def ended_reason(resource: ResourceState) -> str | None:
    """Why `resource` can no longer change upstream ("deactivated", "expired", "voided"), or None when it can."""
    if resource.kind == "ProductCoupon":
        return "deactivated" if resource.status == "DEACTIVATED" else None
    return {"3": "expired", "4": "voided"}.get(resource.status)


@dataclass(frozen=True, slots=True)
class ReadSelection:
    """What to read: the product coupons to GET one by one, whether to list shop coupons, and what was skipped."""

    products: tuple[ResourceState, ...]
    list_shop: bool
    skipped: Mapping[str, str] = field(default_factory=dict)  # address -> reason
    shop_listing_skipped: bool = False  # True when the listing was skipped although a shop provider is configured

    @property
    def skipped_counts(self) -> dict[str, int]:
        """reason -> how many coupons it skipped, in REASONS order, only reasons that occur."""
        counts = Counter(self.skipped.values())
        return {reason: counts[reason] for reason in REASONS if counts[reason]}

    def expected_calls(self, listed_shop_coupons: int) -> dict[str, int]:
        """Calls this selection will make, per operation, for the progress total and ETA. The shop pages are an
        estimate from the shop coupons in state (unmanaged ones add pages, learned once the first page answers)."""
        calls = {"product.get": len(self.products)} if self.products else {}
        for resource in self.products:
            for operation, pages in stock_reads(resource).items():
                calls[operation] = calls.get(operation, 0) + pages
        if self.list_shop:
            calls["shop.get_list"] = max(1, -(-listed_shop_coupons // SHOP_PAGE_SIZE))
        return calls

    def summary(self) -> str | None:
        """`skipped 4,980 coupons that can no longer change: 4,900 deactivated, 80 voided (--all reads them)`."""
        return skipped_sentence(self.skipped_counts, self.shop_listing_skipped)


def stock_reads(resource: ResourceState) -> dict[str, int]:
    """The list-stocks pages and associated-stores pages reading `resource`'s stocks takes, per operation, as far as
    state tells: one list page per 50 stocks it names (bundle steps included) and, for each live SPECIFIC stock whose
    entry records stores, one associated-stores page per 200 of them (at least one each). Stocks added or deactivated
    outside couponctl since, or a coupon gone upstream, make the count differ; the reader counts what it does."""
    if not has_stocks(resource):
        return {}
    stocks = _entries(resource.upstream.get(STOCKS))
    known = len(stocks)
    for bundle in _entries(resource.upstream.get(BUNDLES)):
        steps = bundle.get("stock_list")
        known += len(steps) if isinstance(steps, list) and steps else 1
    calls = {STOCK_LIST: max(1, -(-known // STOCK_PAGE_SIZE))}
    store_pages = 0
    for stock in stocks:
        ids = stock.get("stores")
        if stock.get("store_scope") != "SPECIFIC" or not isinstance(ids, list) or not stock.get("stock_id"):
            continue
        if stock.get("state") not in ENDED_STOCK_STATES:
            store_pages += max(1, -(-len(ids) // STORE_PAGE_SIZE))
    if store_pages:
        calls[STORE_READ] = store_pages
    return calls


def _entries(value: object) -> list[Mapping[str, object]]:
    return [v for v in value.values() if isinstance(v, Mapping)] if isinstance(value, Mapping) else []


def skipped_sentence(counts: Mapping[str, int], shop_not_listed: bool = False) -> str | None:
    """The one sentence that says what was not read and why (drift, refresh and plan print it), or None."""
    total = sum(counts.values())
    if not total:
        return None
    parts = ", ".join(f"{n:,} {reason}" for reason, n in counts.items())
    noun = "coupon" if total == 1 else "coupons"
    text = f"skipped {total:,} {noun} that can no longer change: {parts}"
    if shop_not_listed:
        text += "; unmanaged shop coupons were not looked for"
    return text + " (--all reads them)"


def select_reads(
    resources: Mapping[str, ResourceState],
    *,
    everything: bool = False,
    shop_configured: bool = True,
    must_list_shop: bool = False,
) -> ReadSelection:
    """The reads for `resources` (state) under decision D31.

    `shop_configured`: a shop provider exists (without one nothing is listed, as before). `must_list_shop`: the
    caller needs the listing whatever the state says (a refreshing plan with declared shop coupons missing from
    state adopts them from it, decision D17). With an empty state the listing happens (it is the only way to see
    unmanaged shop coupons, and nothing managed says the campaign has ended).
    """
    if everything:
        return ReadSelection(tuple(r for r in resources.values() if r.kind == "ProductCoupon"), shop_configured)
    skipped: dict[str, str] = {}
    products: list[ResourceState] = []
    live_shop = False
    for address, resource in resources.items():
        reason = ended_reason(resource)
        if resource.kind == "ProductCoupon":
            if reason is None:
                products.append(resource)
            else:
                skipped[address] = reason
        elif reason is None:
            live_shop = True
    campaign_ended = bool(resources) and not products and not live_shop
    list_shop = shop_configured and (must_list_shop or not campaign_ended)
    if shop_configured and not list_shop:  # every shop coupon in state is terminal: none is listed
        for address, resource in resources.items():
            reason = ended_reason(resource)
            if resource.kind == "ShopCoupon" and reason is not None:
                skipped[address] = reason
    return ReadSelection(tuple(products), list_shop, skipped, shop_listing_skipped=shop_configured and not list_shop)
