"""Reading upstream (drift, refresh and the refreshed plan), and the `drift` and `refresh` commands.

Managed coupons that can still change are read at the rate limits (contract §2.6); those that cannot (decision D31,
`plan/read_selection.py`) are skipped and counted, and `everything` (`--all`) reads them too. Shop coupons are
enumerated with `get_list` pages (<= 200 each, reference A.6.4), which also reveals unmanaged ones. Product coupons
have no list API (B.1): one GET per known product_coupon_id, several in flight, paced at the documented 20/s. Each
call is told to an optional progress sink (`commands/progress.py`), retries included.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from reconciler.commands.common import Clock, manifest_paths, now_utc, open_state
from reconciler.commands.plan import PlanInputs, build_plan
from reconciler.commands.progress import CallProgress, ProgressSink
from reconciler.commands.runs import locked_run
from reconciler.commands.stock_reads import with_stock_list
from reconciler.commands.targets import check_targets
from reconciler.commands.upstream import Upstream, default_brand_id, open_upstream
from reconciler.config import Settings
from reconciler.plan.drift import ExpectedItem, ExpectedUnmanaged, compare, partition_unmanaged, refreshed
from reconciler.plan.model import DriftItem
from reconciler.plan.read_selection import SHOP_PAGE_SIZE, ReadSelection, select_reads
from reconciler.plan.shop import handed_out_changed
from reconciler.providers.pacing import Pacer
from reconciler.render.drift import DriftReport, PendingChange, pending_from_actions
from reconciler.resources import IgnoreRule, ResourceState
from reconciler.store.api import StateStore
from reconciler.times import iso_utc


@dataclass
class UpstreamSnapshot:
    """What upstream holds now for each address read (None = missing), coupons nobody manages, what was skipped."""

    current: dict[str, Mapping[str, Any] | None] = field(default_factory=dict)
    listed_shop: list[Mapping[str, Any]] = field(default_factory=list)
    reads: int = 0
    calls: int = 0
    selection: ReadSelection = field(default_factory=lambda: ReadSelection((), False))


async def read_upstream(
    upstream: Upstream,
    resources: Mapping[str, ResourceState],
    pacer: Pacer,
    *,
    everything: bool = False,
    must_list_shop: bool = False,
    progress: ProgressSink | None = None,
    parallelism: int = 16,
) -> UpstreamSnapshot:
    """Read what can still change (decision D31; `everything` reads all managed coupons) and tell `progress`."""
    shop_provider = upstream.providers.get("shop")
    selection = select_reads(
        resources, everything=everything, shop_configured=shop_provider is not None, must_list_shop=must_list_shop
    )
    snap = UpstreamSnapshot(selection=selection)
    shop = {r.upstream_id: r for r in resources.values() if r.kind == "ShopCoupon"}
    tracker = CallProgress(progress, "reading upstream", selection.expected_calls(len(shop)), pacer)
    note = selection.summary()
    if note:
        tracker.note(note)
    tracker.start()
    if selection.list_shop and shop_provider is not None:
        async for coupon in _paced_list(shop_provider, pacer, snap, tracker):
            snap.listed_shop.append(coupon)
        by_id = {str(c.get("out_coupon_id")): c for c in snap.listed_shop}
        for out_id, resource in shop.items():
            snap.current[resource.address] = by_id.get(out_id)
    if selection.products:
        provider = upstream.providers["product"]
        semaphore = asyncio.Semaphore(parallelism)

        async def read_one(resource: ResourceState) -> None:
            async with semaphore:

                async def attempt() -> Mapping[str, Any] | None:
                    await pacer.wait("product.get")
                    return await provider.read(resource.upstream_id, brand_id=resource.brand_id)

                current = await pacer.retry(attempt, subject=resource.address)

                def stock_page(operation: str) -> None:  # its stocks and stores too (D29, D34), counted up front
                    snap.calls += 1
                    tracker.called(operation)

                current = await with_stock_list(provider, pacer, resource, current, on_page=stock_page)
                snap.current[resource.address] = current
                snap.reads += 1
                snap.calls += 1
                tracker.called("product.get")

        await asyncio.gather(*(read_one(r) for r in selection.products))
    tracker.finish()
    return snap


async def _paced_list(provider: Any, pacer: Pacer, snap: UpstreamSnapshot, tracker: CallProgress) -> Any:
    """All shop coupons, page by page (the provider pages get_list; each page is one paced call, counted once
    whatever its retries; the first page's total_num corrects the progress total)."""
    first = True

    async def counted_page(fn: Any) -> Any:
        nonlocal first
        page = await pacer.retry(fn, subject="the shop coupon list")
        snap.calls += 1
        tracker.called("shop.get_list")
        total = page.get("total_num") if isinstance(page, Mapping) else None
        if first and isinstance(total, int):
            pages = max(1, -(-total // SHOP_PAGE_SIZE))
            tracker.grow("shop.get_list", pages - tracker.total_of("shop.get_list"))
        first = False
        return page

    async for item in provider.list_all(before_page=lambda: pacer.wait("shop.get_list"), retry=counted_page):
        snap.reads += 1
        yield item


def drift_of(
    resources: Mapping[str, ResourceState],
    snap: UpstreamSnapshot,
    ignore: Mapping[str, Sequence[IgnoreRule]] | None = None,
    expected: Sequence[ExpectedUnmanaged] = (),
) -> list[DriftItem]:
    """The drift found (unmanaged shop coupons covered by an `expected` entry are not drift: see expected_of)."""
    items: list[DriftItem] = []
    for address, resource in sorted(resources.items()):
        if address not in snap.current:
            continue
        item = compare(resource, snap.current[address], (ignore or {}).get(address, ()))
        if item is not None:
            items.append(item)
    items.extend(partition_unmanaged(snap.listed_shop, _managed_shop(resources), expected)[0])
    return items


def expected_of(
    resources: Mapping[str, ResourceState], snap: UpstreamSnapshot, expected: Sequence[ExpectedUnmanaged]
) -> list[ExpectedItem]:
    """The unmanaged shop coupons that `[[drift.expected_unmanaged]]` declares expected, each with its reason."""
    return partition_unmanaged(snap.listed_shop, _managed_shop(resources), expected)[1]


def _managed_shop(resources: Mapping[str, ResourceState]) -> set[str]:
    return {r.upstream_id for r in resources.values() if r.kind == "ShopCoupon"}


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


async def snapshot(
    settings: Settings,
    resources: Mapping[str, ResourceState],
    pacer: Pacer | None = None,
    *,
    everything: bool = False,
    progress: ProgressSink | None = None,
) -> UpstreamSnapshot:
    """Open the upstream and read the managed coupons that can still change (all with `everything`), and the
    unmanaged shop coupons."""
    async with open_upstream(settings) as upstream:
        pacer = pacer or Pacer.from_settings(settings)
        return await read_upstream(upstream, resources, pacer, everything=everything, progress=progress)


async def refreshed_plan(
    settings: Settings,
    store: StateStore,
    resources: Mapping[str, ResourceState],
    *,
    paths: Sequence[str],
    targets: Sequence[str],
    now: datetime,
    upstream: Upstream | None = None,
    pacer: Pacer | None = None,
    everything: bool = False,
    progress: ProgressSink | None = None,
) -> PlanInputs:
    """Plan against `resources` as upstream holds them now (nothing is written), with the drift found.

    Reads through `upstream` when the caller has it open (apply), else opens one. Even without resources it lists
    the shop coupons: a declared one that exists upstream but not in state is adopted, never added twice (D17).
    Bad manifests and a `--target` that selects nothing are refused before anything is read: bad input sends
    nothing upstream, not even a read. Coupons that can no longer change are not read (decision D31) unless
    `everything`; progress and what was skipped go to `progress`.
    """
    from reconciler.manifest import load_manifests
    from reconciler.manifest.cache import cache_for

    loaded = load_manifests(manifest_paths(settings, paths), root=settings.root, cache=cache_for(settings))
    if targets:
        check_targets(targets, [c.address for c in loaded.coupons], resources)
    pacer = pacer or Pacer.from_settings(settings)
    # D17: a declared shop coupon missing from state is adopted from the listing, so the listing must happen.
    adopt = any(c.kind == "ShopCoupon" and c.address not in resources for c in loaded.coupons)
    how: dict[str, Any] = {"everything": everything, "must_list_shop": adopt, "progress": progress}
    if upstream is None:
        async with open_upstream(settings) as opened:
            snap = await read_upstream(opened, resources, pacer, **how)
            brand = opened.default_brand_id
    else:
        snap = await read_upstream(upstream, resources, pacer, **how)
        brand = upstream.default_brand_id
    return build_plan(
        settings,
        store,
        paths=paths,
        targets=targets,
        now=now,
        default_brand_id=brand,
        state=refreshed_state(resources, snap, iso_utc(now)),
        drift=_without_found(drift_of(resources, snap, expected=settings.drift.expected_unmanaged), resources),
        refreshed=True,
        unmanaged_shop=unmanaged_listed(resources, snap),
        loaded=loaded,
    )


def unmanaged_listed(resources: Mapping[str, ResourceState], snap: UpstreamSnapshot) -> dict[str, Mapping[str, Any]]:
    """out_coupon_id -> upstream object of every listed shop coupon that no state entry manages (decision D17)."""
    managed = {r.upstream_id for r in resources.values() if r.kind == "ShopCoupon"}
    return {str(c.get("out_coupon_id")): c for c in snap.listed_shop if str(c.get("out_coupon_id", "")) not in managed}


def _without_found(items: Sequence[DriftItem], resources: Mapping[str, ResourceState]) -> list[DriftItem]:
    """The drift to show in a plan: none at all for an empty state (every listed coupon would be "unmanaged", and
    the ones declared are adopted by the plan itself), else everything found."""
    return list(items) if resources else []


def drift(
    settings: Settings,
    *,
    manifests: bool = True,
    clock: Clock = now_utc,
    everything: bool = False,
    progress: ProgressSink | None = None,
) -> DriftReport:
    """`couponctl drift`: what changed upstream outside couponctl (read-only; takes no lock).

    With `manifests`, also the manifest changes not yet applied (for context) and the manifests' ignore_drift rules.
    Coupons that can no longer change are skipped and counted (decision D31) unless `everything`.
    """
    store = open_state(settings)
    try:
        resources = store.resources()
        ignore: dict[str, tuple[IgnoreRule, ...]] = {}
        pending: tuple[PendingChange, ...] = ()
        if manifests:
            inputs = build_plan(
                settings,
                store,
                paths=(),
                targets=(),
                now=clock(),
                state=resources,
                default_brand_id=default_brand_id(settings),
            )
            pending = pending_from_actions([a for a in inputs.plan.actions if a.calls or a.type.value == "forget"])
            ignore = {c.address: c.ignore_drift for c in inputs.coupons if c.ignore_drift}
        snap = asyncio.run(snapshot(settings, resources, everything=everything, progress=progress))
    finally:
        store.close()
    expected = settings.drift.expected_unmanaged
    selection = snap.selection
    return DriftReport(
        tuple(drift_of(resources, snap, ignore, expected)),
        pending,
        len(resources) - len(selection.skipped),
        snap.reads,
        expected=tuple(expected_of(resources, snap, expected)),
        skipped=selection.skipped_counts,
        unmanaged_not_listed=selection.shop_listing_skipped,
        calls=snap.calls,
    )


@dataclass(frozen=True, slots=True)
class RefreshResult:
    """What `couponctl refresh` did: coupons read, coupons whose state changed, the drift it accepted."""

    checked: int
    changed: int
    drift: tuple[DriftItem, ...]
    skipped: str | None = None  # what was not read and why (decision D31), or None
    calls: int = 0


def refresh(
    settings: Settings,
    *,
    lock_timeout_s: float | None = None,
    clock: Clock = now_utc,
    everything: bool = False,
    progress: ProgressSink | None = None,
) -> RefreshResult:
    """`couponctl refresh`: accept upstream's current values into state, under the lock, recorded in history.

    Coupons missing upstream are removed from state, so the next plan proposes creating them again. Coupons that can
    no longer change are not read and keep their state (decision D31) unless `everything`; history records what
    was read and what was skipped.
    """
    with locked_run(settings, "refresh", lock_timeout_s=lock_timeout_s) as locked:
        resources = locked.store.resources()
        snap = asyncio.run(snapshot(settings, resources, everything=everything, progress=progress))
        items = tuple(drift_of(resources, snap))
        selection = snap.selection
        with locked.recorded() as run:
            changed = _write_refreshed(locked.store, resources, refreshed_state(resources, snap, iso_utc(clock())))
            run.summary = {
                "changed": changed,
                "drift": [d.address for d in items if d.category != "unmanaged"],
                "read": len(resources) - len(selection.skipped),
                "skipped": selection.skipped_counts,
                "calls": snap.calls,
            }
    skipped = len(selection.skipped)
    return RefreshResult(len(resources) - skipped, changed, items, selection.summary(), snap.calls)


def _write_refreshed(
    store: StateStore, resources: Mapping[str, ResourceState], new_state: Mapping[str, ResourceState]
) -> int:
    """Write the refreshed state, one resource at a time; returns how many changed.

    A coupon whose only news is upstream's own bookkeeping (update times, claim counters: the fields drift ignores)
    is not rewritten: nothing a user can change changed, and rewriting it would move the serial (making every saved
    plan stale) and be reported as an update. The exception is a shop coupon's handed-out count: a quantity change
    sends it (`update_coupon_stock`, decision D30), so a plan made with --no-refresh needs it recorded."""
    changed = 0
    for address, resource in resources.items():
        if address not in new_state:
            store.remove(address)
            changed += 1
        elif compare(resource, new_state[address].upstream) is not None or handed_out_changed(
            resource, new_state[address]
        ):
            store.put(new_state[address])
            changed += 1
    return changed
