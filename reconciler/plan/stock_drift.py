"""Pure: a product coupon's stocks as upstream lists them, named as state names them, and their drift (decision D29).

GET of a coupon never returns its stocks (reference B.2); refresh and drift read them with list-stocks (B.4) and
this module puts the listed stocks under the names state knows them by (matched by `stock_id`, bundles by
`stock_bundle_id`):

- a field of a declared stock edited in the console is drift (`stocks.main.remark`);
- a declared stock deactivated in the console is drift (`stocks.main.state: SENDING -> DEACTIVATED`), and refresh
  keeps it in state with that state (the plan then says what to do with it);
- a live stock that state does not know was added outside couponctl: reported with its id, never recorded under a
  name (so no plan ever deactivates it);
- `sent_count_info`, `coupon_code_count_info`, the stock `state` otherwise, and the other response-only fields are
  never drift, but refresh records them (the plan's "842 already sent" comes from there).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from reconciler.plan.code_calls import codes_drift
from reconciler.plan.diff import diff_values
from reconciler.plan.kinds import STOCK_RESPONSE_ONLY
from reconciler.plan.model import FieldChange
from reconciler.plan.store_calls import STORES, stores_drift
from reconciler.resources import ResourceState

STOCKS, BUNDLES = "stocks", "stock_bundles"
# Where the listed stocks that state does not know are carried from the read to the comparison (never stored).
OUTSIDE_KEY = "stocks_added_outside_couponctl"
# The fields each step stock of a bundle carries from its bundle (reference B.4; what a bundle PATCH changes).
BUNDLE_SHARED = (
    "remark",
    "coupon_code_mode",
    "stock_send_rule",
    "usage_rule_display_info",
    "coupon_display_info",
    "notify_config",
    "store_scope",
)


def has_stocks(resource: ResourceState) -> bool:
    """Does state know stocks of this coupon (so refresh and drift read its stock list)?"""
    return resource.kind == "ProductCoupon" and any(
        isinstance(resource.upstream.get(key), Mapping) and resource.upstream.get(key) for key in (STOCKS, BUNDLES)
    )


def _named(upstream: Mapping[str, Any], key: str) -> dict[str, Mapping[str, Any]]:
    raw = upstream.get(key)
    return {str(k): v for k, v in raw.items() if isinstance(v, Mapping)} if isinstance(raw, Mapping) else {}


def with_listed_stocks(
    resource: ResourceState, entity: Mapping[str, Any], listed: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """The coupon as GET returned it plus its stocks as listed, by the names state knows them by. A declared stock
    that is not listed keeps its last-known entry; live stocks state does not know go under OUTSIDE_KEY."""
    by_id = {str(s.get("stock_id")): s for s in listed if s.get("stock_id") is not None}
    known: set[str] = {str(m.get("id")) for m in resource.extra.get("deposed_stocks") or [] if isinstance(m, Mapping)}
    stocks: dict[str, Any] = {}
    for name, entry in _named(resource.upstream, STOCKS).items():
        stock_id = str(entry.get("stock_id"))
        known.add(stock_id)
        stocks[name] = {**entry, **by_id[stock_id]} if stock_id in by_id else dict(entry)
    bundles: dict[str, Any] = {}
    for name, entry in _named(resource.upstream, BUNDLES).items():
        bundle_id = str(entry.get("stock_bundle_id"))
        steps = [s for s in listed if _bundle_of(s) == bundle_id]
        known.update(str(s.get("stock_id")) for s in steps)
        known.update(str(s.get("stock_id")) for s in entry.get("stock_list") or [] if isinstance(s, Mapping))
        bundles[name] = {**entry, **_shared(steps), "stock_list": [dict(s) for s in steps]} if steps else dict(entry)
    out = dict(entity)
    if stocks or STOCKS in resource.upstream:
        out[STOCKS] = stocks
    if bundles or BUNDLES in resource.upstream:
        out[BUNDLES] = bundles
    outside = [
        dict(s)
        for s in listed
        if str(s.get("stock_id")) not in known and s.get("state") != "DEACTIVATED" and not _bundle_of(s)
    ]
    if outside:
        out[OUTSIDE_KEY] = outside
    return out


def _shared(steps: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """What a bundle's step stocks hold of the bundle they were made from (reference B.4): the first step's copy of
    the fields a bundle PATCH or update-budget changes on every step."""
    first = min(steps, key=_index)
    return {k: first[k] for k in BUNDLE_SHARED if k in first}


def _index(stock: Mapping[str, Any]) -> int:
    info = stock.get("stock_bundle_info")
    value = info.get("stock_bundle_index") if isinstance(info, Mapping) else None
    return value if isinstance(value, int) else 0


def _bundle_of(stock: Mapping[str, Any]) -> str | None:
    info = stock.get("stock_bundle_info")
    bundle_id = info.get("stock_bundle_id") if isinstance(info, Mapping) else None
    return str(bundle_id) if bundle_id is not None else None


def stock_drift(resource: ResourceState, current: Mapping[str, Any]) -> tuple[list[FieldChange], list[str]]:
    """The stock changes between state and `current` (as `with_listed_stocks` made it), and the notes to show
    (stocks added or deactivated outside couponctl). Nothing when `current` carries no listed stocks."""
    changes: list[FieldChange] = []
    notes: list[str] = []
    for key in (STOCKS, BUNDLES):
        if key not in current:
            continue
        now = _named(current, key)
        for name, before in _named(resource.upstream, key).items():
            after = now.get(name)
            if after is None:
                continue
            changes.extend(diff_values(_editable(before, after), _editable(after, before), f"{key}.{name}"))
            changes.extend(stores_drift(name, before, after) if key == STOCKS else ())  # one line (decision D34)
            changes.extend(codes_drift(resource, name, after) if key == STOCKS else ())  # decision D35
            if after.get("state") == "DEACTIVATED" and before.get("state") != "DEACTIVATED":
                changes.append(
                    FieldChange(
                        f"{key}.{name}.state",
                        "change",
                        before.get("state"),
                        "DEACTIVATED",
                        reason="deactivated outside couponctl (irreversible)",
                    )
                )
                ident = after.get("stock_id") or after.get("stock_bundle_id")
                notes.append(f"stock {name} ({ident}) deactivated outside couponctl")
    for stock in current.get(OUTSIDE_KEY) or []:
        remark = f" ({stock.get('remark')})" if stock.get("remark") else ""
        notes.append(f"stock {stock.get('stock_id')}{remark} added outside couponctl")
    return changes, notes


def _editable(stock: Mapping[str, Any], other: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of `stock` a user can change that the other side also has (a field one side lacks is an echo
    hole, not an edit)."""
    return {k: v for k, v in stock.items() if k not in STOCK_RESPONSE_ONLY and k in other and k != STORES}


def recorded(current: Mapping[str, Any]) -> dict[str, Any]:
    """What refresh records: `current` without the stocks state must not name (those added outside couponctl)."""
    return {k: v for k, v in current.items() if k != OUTSIDE_KEY}
