"""`couponctl import`: adopting coupons that exist upstream (`import ADDRESS ID` and `import --generate DIR`).

An adopted coupon enters state with an empty desired digest; the next plan compares it with its manifest field by
field. `--generate` writes one manifest per coupon, converted from the upstream object back into manifest form
(read-only fields dropped, status named), and adopts it, so the next plan shows no changes for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from reconciler.commands.common import Clock, now_utc
from reconciler.commands.progress import CallProgress, ProgressSink
from reconciler.commands.runs import OpenRun, locked_run
from reconciler.commands.stock_reads import PagedReads
from reconciler.commands.upstream import Upstream, open_upstream
from reconciler.config import Settings
from reconciler.errors import StateError, UpstreamError
from reconciler.plan.kinds import PRODUCT_RULES, SHOP_RULES, STOCK_KEYS, STOCK_RESPONSE_ONLY
from reconciler.plan.read_selection import STOCK_LIST, STORE_READ
from reconciler.providers.pacing import Pacer
from reconciler.providers.wechatpay import WechatPayProvider
from reconciler.resources import (
    NAME_MAX_CHARS,
    NAME_PATTERN,
    SHOP_STATUS_NAME,
    DesiredCoupon,
    ResourceState,
    make_address,
    split_address,
)
from reconciler.stocks import DEFAULT_STOCK_NAME, MAP_TO_SINGLE, STOCK_NAME_MAX_CHARS, iter_stocks
from reconciler.store.api import StateStore
from reconciler.times import iso_utc


async def _read(upstream: Upstream, kind: str, upstream_id: str, brand_id: str | None) -> Mapping[str, Any] | None:
    family = "shop" if kind == "ShopCoupon" else "product"
    if family not in upstream.providers:
        raise StateError(f"no {family} credentials configured: cannot read {upstream_id}")
    provider = upstream.providers[family]
    return (
        await provider.read(upstream_id, brand_id=brand_id) if family == "product" else await provider.read(upstream_id)
    )


def _resource(
    address: str, kind: Any, upstream_id: str, obj: Mapping[str, Any], brand_id: str | None, now: str
) -> ResourceState:
    return ResourceState(
        address=address,
        kind=kind,
        upstream_id=upstream_id,
        upstream=dict(obj),
        desired_digest="",
        brand_id=brand_id if kind == "ProductCoupon" else None,
        created_at=now,
        updated_at=now,
    )


async def adopt(
    settings: Settings,
    store: StateStore,
    address: str,
    upstream_id: str,
    brand_id: str | None,
    clock: Clock = now_utc,
) -> ResourceState:
    kind, _ = split_address(address)
    if store.get(address) is not None:
        raise StateError(f"{address} is already in state; `couponctl state rm {address}` first to re-import it")
    for existing in store.resources().values():
        if existing.kind == kind and existing.upstream_id == upstream_id:
            raise StateError(f"{upstream_id} is already managed as {existing.address}")
    declared = _declared(settings, address)
    async with open_upstream(settings) as upstream:
        brand = brand_id or (declared.brand_id if declared is not None else None) or upstream.default_brand_id
        obj = await _read(upstream, kind, upstream_id, brand)
        if obj is not None and kind == "ProductCoupon":
            # Its stocks (GET never returns them, reference B.2): without them the next plan would show every stock
            # field as a difference. Named as the manifest declares them, in order, when it does (decision D29).
            names = _declared_names(declared)
            pages = PagedReads(Pacer.from_settings(settings), address)
            found = await _read_stocks(upstream.providers["product"], upstream_id, brand, obj, names, pages)
            if found is not None:
                obj = {**obj, _stock_key(obj): found.state}
    if obj is None:
        raise StateError(f"{address}: upstream has no coupon {upstream_id}")
    resource = _resource(address, kind, upstream_id, obj, brand, iso_utc(clock()))
    if declared is not None:  # `protect` lives in state: an import after `state rm` must not drop it
        resource = replace(resource, protect=declared.protect)
    store.put(resource)
    return resource


def _declared(settings: Settings, address: str) -> DesiredCoupon | None:
    """The manifests' declaration of `address`, if they load and declare it (its `protect` and brand are kept)."""
    from reconciler.commands.common import manifest_paths
    from reconciler.errors import CouponctlError
    from reconciler.manifest import load_manifests

    try:
        loaded = load_manifests(manifest_paths(settings, ()), root=settings.root)
    except (CouponctlError, OSError):
        return None  # manifests that do not load say nothing about this coupon; the next plan reports them
    return next((c for c in loaded.coupons if c.address == address), None)


def shop_manifest(coupon: Mapping[str, Any]) -> dict[str, Any]:
    spec = {k: v for k, v in coupon.items() if k not in SHOP_RULES.read_only}
    info = dict(spec.get("coupon_info", {}))
    info.pop("ext_info", None)
    spec["coupon_info"] = info
    out_id = str(coupon["out_coupon_id"])
    name = out_id.lower()
    if not NAME_PATTERN.fullmatch(name):
        name = re.sub(r"[^a-z0-9_-]", "-", name)[:NAME_MAX_CHARS]
    doc: dict[str, Any] = {
        "kind": "ShopCoupon",
        "name": name,
        "status": SHOP_STATUS_NAME.get(int(coupon.get("status", 1)), "draft"),
    }
    if name == out_id:
        spec.pop("out_coupon_id", None)
    doc["spec"] = spec
    return doc


def product_manifest(
    entity: Mapping[str, Any], name: str, stocks: Mapping[str, Mapping[str, Any]] | None
) -> dict[str, Any]:
    """The manifest of a product coupon: its one stock (bundle) as `stock:` (`stock_bundle:`), as before decision
    D29, or several as the named `stocks:` (`stock_bundles:`) map."""
    spec = {k: v for k, v in entity.items() if k not in PRODUCT_RULES.read_only and k not in STOCK_KEYS}
    if stocks:
        key = _stock_key(entity)
        if list(stocks) == [DEFAULT_STOCK_NAME]:
            spec[MAP_TO_SINGLE[key]] = dict(stocks[DEFAULT_STOCK_NAME])
        else:
            spec[key] = {stock_name: dict(stock) for stock_name, stock in stocks.items()}
    doc: dict[str, Any] = {"kind": "ProductCoupon", "name": name}
    if entity.get("brand_id"):
        doc["brand_id"] = str(entity["brand_id"])
    doc["spec"] = spec
    return doc


async def generate(
    settings: Settings,
    store: StateStore,
    directory: str,
    product_ids: Sequence[str],
    brand_id: str | None,
    clock: Clock = now_utc,
    progress: ProgressSink | None = None,
) -> list[str]:
    """Write manifests for unmanaged shop coupons (and the given product ids), adopt them, return the files.
    `progress` is told of every read (the shop list's pages, one GET per product id) and every retry."""
    out_dir = Path(directory)
    out_dir.mkdir(parents=True, exist_ok=True)
    managed_shop = {r.upstream_id for r in store.resources().values() if r.kind == "ShopCoupon"}
    managed_product = {r.upstream_id for r in store.resources().values() if r.kind == "ProductCoupon"}
    written: list[str] = []
    async with open_upstream(settings) as upstream:
        pacer = Pacer.from_settings(settings)
        shop = upstream.providers.get("shop")
        # one list-stocks page per product coupon at least (each has a stock, reference B.5); more shop or stock
        # pages and the stores of SPECIFIC stocks are learned as they are read: the total grows
        expected = {"shop.get_list": 1 if shop is not None else 0, "product.get": len(product_ids)}
        expected[STOCK_LIST] = len(product_ids)
        tracker = CallProgress(progress, "reading upstream", expected, pacer)
        tracker.start()

        async def page(fn: Any) -> Any:
            answer = await pacer.retry(fn, subject="the shop coupon list")
            tracker.called("shop.get_list")
            return answer

        if shop is not None:
            async for coupon in shop.list_all(before_page=lambda: pacer.wait("shop.get_list"), retry=page):
                if str(coupon.get("out_coupon_id")) in managed_shop:
                    continue
                doc = shop_manifest(coupon)
                address = make_address("ShopCoupon", doc["name"])
                if store.get(address) is not None:
                    continue
                written.append(_write(out_dir, doc))
                out_id = str(coupon["out_coupon_id"])
                store.put(_resource(address, "ShopCoupon", out_id, coupon, None, iso_utc(clock())))
        for pid in product_ids:
            if pid in managed_product:
                raise StateError(f"product coupon {pid} is already managed")
            brand = brand_id or upstream.default_brand_id
            provider = upstream.providers.get("product")
            if provider is None:
                raise StateError("no WeChat Pay credentials configured: cannot read product coupons")

            async def read(
                pid: str = pid, brand: str | None = brand, reader: Any = provider
            ) -> Mapping[str, Any] | None:
                await pacer.wait("product.get")
                return await reader.read(pid, brand_id=brand)  # type: ignore[no-any-return]

            entity = await pacer.retry(read, subject=f"product coupon {pid}")
            tracker.called("product.get")
            if entity is None:
                raise UpstreamError(call="product.get", message=f"product coupon {pid} not found", code="NOT_FOUND")
            pages = PagedReads(pacer, f"product coupon {pid}", tracker.called)  # paced like drift's reads
            found = await _read_stocks(provider, pid, brand, entity, (), pages)
            doc = product_manifest(entity, f"product-{pid}", found.manifest if found is not None else None)
            written.append(_write(out_dir, doc))
            upstream_obj = dict(entity)
            if found is not None:
                upstream_obj[_stock_key(entity)] = found.state
            address = make_address("ProductCoupon", doc["name"])
            store.put(_resource(address, "ProductCoupon", pid, upstream_obj, brand, iso_utc(clock())))
        tracker.finish()
    return written


def _stock_key(entity: Mapping[str, Any]) -> str:
    return "stock_bundles" if entity.get("usage_mode") == "PROGRESSIVE_BUNDLE" else "stocks"


@dataclass(frozen=True, slots=True)
class _Stocks:
    """A coupon's stocks by name: as a manifest declares them, and as state keeps them (with what upstream added)."""

    manifest: dict[str, dict[str, Any]]
    state: dict[str, dict[str, Any]]


def _declared_names(declared: DesiredCoupon | None) -> tuple[str, ...]:
    if declared is None:
        return ()
    return tuple(name for _, name, _ in iter_stocks(declared.body))


def _stock_names(count: int, ids: Sequence[str], declared: Sequence[str], prefix: str) -> list[str]:
    """Names for `count` stocks: the declared ones in order, then `main` for the first and `<prefix>-<id>` for the
    others (decision D29: the first is the one the coupon was created with)."""
    names: list[str] = []
    for i in range(count):
        if i < len(declared):
            name = declared[i]
        elif i == 0:
            name = DEFAULT_STOCK_NAME
        else:
            name = re.sub(r"[^a-z0-9_-]", "-", f"{prefix}-{ids[i]}".lower())[:STOCK_NAME_MAX_CHARS]
        while name in names:
            name = f"{name[: STOCK_NAME_MAX_CHARS - 2]}-{i}"
        names.append(name)
    return names


async def _read_stocks(
    provider: Any,
    product_coupon_id: str,
    brand_id: str | None,
    entity: Mapping[str, Any],
    declared: Sequence[str],
    pages: PagedReads,
) -> _Stocks | None:
    """The coupon's stocks (or stock bundles) from list-stocks (reference B.4), named, or None when it has none; each
    page of the list and of a SPECIFIC stock's stores paced and retried by `pages`.

    Stocks already DEACTIVATED upstream are left out (they cannot come back); `declared` names them in order."""
    if not isinstance(provider, WechatPayProvider):
        raise StateError("reading a product coupon's stocks needs the WeChat Pay provider")
    stocks = await provider.read_stocks(product_coupon_id, brand_id=brand_id, **pages.hooks(STOCK_LIST))
    listed = [dict(s) for s in stocks]
    if entity.get("usage_mode") == "PROGRESSIVE_BUNDLE":
        groups: dict[str, list[Mapping[str, Any]]] = {}
        for stock in listed:
            info = stock.get("stock_bundle_info")
            if isinstance(info, Mapping):
                groups.setdefault(str(info.get("stock_bundle_id", "")), []).append(stock)
        bundles = [(bid, steps, bundle_manifest(steps, entity)) for bid, steps in groups.items()]
        kept = [(bid, steps, b) for bid, steps, b in bundles if b is not None]
        names = _stock_names(len(kept), [bid for bid, _, _ in kept], declared, "bundle")
        manifest = {name: b for name, (_, _, b) in zip(names, kept, strict=True)}
        state = {
            name: {**b, "stock_bundle_id": bid, "stock_list": list(steps)}
            for name, (bid, steps, b) in zip(names, kept, strict=True)
        }
        return _Stocks(manifest, state) if manifest else None
    live = [s for s in listed if s.get("state") != "DEACTIVATED"] or listed[:1]
    if not live:
        return None
    names = _stock_names(len(live), [str(s.get("stock_id", i)) for i, s in enumerate(live)], declared, "stock")
    manifest = {
        name: {k: v for k, v in s.items() if k not in STOCK_RESPONSE_ONLY} for name, s in zip(names, live, strict=True)
    }
    state = dict(zip(names, live, strict=True))
    for name, stock in state.items():  # a SPECIFIC stock's stores (decision D34): `stores:` in both
        if stock.get("store_scope") == "SPECIFIC" and stock.get("stock_id") and stock.get("state") in LIVE:
            stock_id = str(stock["stock_id"])
            ids = await provider.read_stores(product_coupon_id, stock_id, brand_id=brand_id, **pages.hooks(STORE_READ))
            manifest[name]["stores"] = ids
            state[name] = {**stock, "stores": ids}
    return _Stocks(manifest, state)


LIVE = frozenset({"AUDITING", "SENDING", "PAUSED"})  # stock states whose stores can still be read (reference B.10)


# The fields a bundle's stocks share with the `stock_bundle` they were created from (reference B.4).
_BUNDLE_SHARED = (
    "remark",
    "coupon_code_mode",
    "stock_send_rule",
    "usage_rule_display_info",
    "coupon_display_info",
    "notify_config",
    "store_scope",
)
_RULE_KEY = {"NORMAL": "normal_coupon", "DISCOUNT": "discount_coupon", "EXCHANGE": "exchange_coupon"}


def bundle_manifest(stocks: Sequence[Mapping[str, Any]], entity: Mapping[str, Any]) -> dict[str, Any] | None:
    """One stock bundle of a PROGRESSIVE_BUNDLE coupon rebuilt from its stocks, or None when it has none.

    Reference B.4: a bundle is created as one `stock_bundle` with a ladder (`progressive_bundle_usage_rule`:
    one shared `coupon_available_period` and one rule per step) and answered as one stock per step, each with
    `stock_bundle_info.stock_bundle_index` and its step's rule as a `single_usage_rule` [INF: the list-stocks
    shape of a bundle's stocks is read from the create output the skills repo documents]. The manifest needs the
    bundle form back: a single stock here would fail validation (stock is for usage_mode SINGLE).
    """
    steps = [s for s in stocks if isinstance(s.get("stock_bundle_info"), Mapping)]
    if not steps:
        return None
    steps.sort(key=lambda s: int(s["stock_bundle_info"].get("stock_bundle_index", 0)))
    rule_key = _RULE_KEY.get(str(entity.get("type")), "normal_coupon")
    first = steps[0]
    rules = [s.get("single_usage_rule") or {} for s in steps]
    ladder = {
        "coupon_available_period": rules[0].get("coupon_available_period"),
        f"{rule_key}_list": [rule.get(rule_key) for rule in rules],
    }
    bundle = {key: first[key] for key in _BUNDLE_SHARED if key in first}
    bundle["progressive_bundle_usage_rule"] = ladder
    return bundle


def _write(out_dir: Path, doc: Mapping[str, Any]) -> str:
    path = out_dir / f"{doc['name']}.yaml"
    header = "# Generated by `couponctl import --generate` from the upstream coupon; review before committing.\n"
    path.write_text(header + yaml.safe_dump(dict(doc), allow_unicode=True, sort_keys=False), encoding="utf-8")
    return str(path)


def import_coupon(
    settings: Settings,
    address: str,
    upstream_id: str,
    *,
    brand_id: str | None = None,
    lock_timeout_s: float | None = None,
    clock: Clock = now_utc,
) -> ResourceState:
    """`couponctl import ADDRESS ID`: adopt one upstream coupon into state (under the lock, recorded in history)."""
    try:
        split_address(address)
    except ValueError as exc:
        raise StateError(str(exc)) from None
    with _import_run(settings, lock_timeout_s) as (store, run):
        resource = asyncio.run(adopt(settings, store, address, upstream_id, brand_id, clock))
        run.summary = {"imported": address}
    return resource


@contextlib.contextmanager
def _import_run(settings: Settings, lock_timeout_s: float | None) -> Iterator[tuple[StateStore, OpenRun]]:
    """The state open, locked and an `import` run recorded, for as long as an import writes (both import forms)."""
    with locked_run(settings, "import", lock_timeout_s=lock_timeout_s) as locked, locked.recorded() as run:
        yield locked.store, run


def import_generated(
    settings: Settings,
    directory: str,
    *,
    product_ids: Sequence[str] = (),
    brand_id: str | None = None,
    lock_timeout_s: float | None = None,
    clock: Clock = now_utc,
    progress: ProgressSink | None = None,
) -> list[str]:
    """`couponctl import --generate DIR`: write manifests for unmanaged coupons and adopt them; returns the files."""
    with _import_run(settings, lock_timeout_s) as (store, run):
        written = asyncio.run(generate(settings, store, directory, product_ids, brand_id, clock, progress))
        run.summary = {"generated": written}
    return written
