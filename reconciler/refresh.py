"""Reading upstream for drift, refresh and plan: every managed coupon, at the rate limits (design §2.6).

Shop coupons are enumerated with `get_list` pages (<= 200 each, reference A.6.4), which also reveals unmanaged
ones. Product coupons have no list API (B.1): one GET per known product_coupon_id, several in flight, paced at
the documented 20/s.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from reconciler.apply.pacing import Pacer
from reconciler.config import Settings
from reconciler.plan.drift import compare, refreshed, unmanaged_shop
from reconciler.plan.model import DriftItem
from reconciler.resources import IgnoreRule, ResourceState
from reconciler.upstream import Upstream, open_upstream
from reconciler.workflow import iso, now_utc


@dataclass
class UpstreamSnapshot:
    """What upstream holds now for each managed address (None = missing), plus coupons nobody manages."""

    current: dict[str, Mapping[str, Any] | None] = field(default_factory=dict)
    listed_shop: list[Mapping[str, Any]] = field(default_factory=list)
    reads: int = 0


async def read_upstream(
    upstream: Upstream, resources: Mapping[str, ResourceState], pacer: Pacer, *, parallelism: int = 16
) -> UpstreamSnapshot:
    snap = UpstreamSnapshot()
    shop = {r.upstream_id: r for r in resources.values() if r.kind == "ShopCoupon"}
    products = [r for r in resources.values() if r.kind == "ProductCoupon"]
    if shop or "shop" in upstream.providers:
        provider = upstream.providers.get("shop")
        if provider is not None:
            async for coupon in _paced_list(provider, pacer, snap):
                snap.listed_shop.append(coupon)
            by_id = {str(c.get("out_coupon_id")): c for c in snap.listed_shop}
            for out_id, resource in shop.items():
                snap.current[resource.address] = by_id.get(out_id)
    if products:
        provider = upstream.providers["product"]
        semaphore = asyncio.Semaphore(parallelism)

        async def read_one(resource: ResourceState) -> None:
            async with semaphore:

                async def attempt() -> Mapping[str, Any] | None:
                    await pacer.wait("product.get")
                    return await provider.read(resource.upstream_id, brand_id=resource.brand_id)

                snap.current[resource.address] = await pacer.retry(attempt)
                snap.reads += 1

        await asyncio.gather(*(read_one(r) for r in products))
    return snap


async def _paced_list(provider: Any, pacer: Pacer, snap: UpstreamSnapshot) -> Any:
    """All shop coupons, page by page (the provider pages get_list; each page is one paced call)."""
    async for item in provider.list_all(before_page=lambda: pacer.wait("shop.get_list"), retry=pacer.retry):
        snap.reads += 1
        yield item


def drift_of(
    resources: Mapping[str, ResourceState],
    snap: UpstreamSnapshot,
    ignore: Mapping[str, Sequence[IgnoreRule]] | None = None,
) -> list[DriftItem]:
    items: list[DriftItem] = []
    for address, resource in sorted(resources.items()):
        if address not in snap.current:
            continue
        item = compare(resource, snap.current[address], (ignore or {}).get(address, ()))
        if item is not None:
            items.append(item)
    managed = {r.upstream_id for r in resources.values() if r.kind == "ShopCoupon"}
    items.extend(unmanaged_shop(snap.listed_shop, managed))
    return items


def refreshed_state(
    resources: Mapping[str, ResourceState], snap: UpstreamSnapshot, now_iso: str
) -> dict[str, ResourceState]:
    """State as upstream holds it now: missing coupons dropped (the plan re-creates them), others updated."""
    out: dict[str, ResourceState] = {}
    for address, resource in resources.items():
        if address not in snap.current:
            out[address] = resource
            continue
        current = snap.current[address]
        if current is not None:
            out[address] = refreshed(resource, current, now_iso)
    return out


async def refresh_state(
    settings: Settings, resources: Mapping[str, ResourceState]
) -> tuple[dict[str, ResourceState], list[DriftItem]]:
    """Read upstream (nothing is written) and return the refreshed state and the drift found."""
    if not resources:
        return {}, []
    async with open_upstream(settings) as upstream:
        snap = await read_upstream(upstream, resources, Pacer.from_settings(settings))
    return refreshed_state(resources, snap, iso(now_utc())), drift_of(resources, snap)
