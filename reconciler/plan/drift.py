"""Pure: compare the last-known upstream object in state with what upstream holds now (contract §2.6).

Only fields a user or the console can change are compared. Read-only bookkeeping that upstream maintains by itself
(create/update times, appid, activation time, stock counters) is not drift. Stocks of product coupons are never
returned by GET (reference B.2), so the `stocks` / `stock_bundles` maps in state (decision D29) are kept as they are.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from fnmatch import fnmatchcase
from typing import Any

from reconciler.errors import ConfigError
from reconciler.plan.diff import diff_values as planner_diff
from reconciler.plan.diff import fill_echo_holes, under
from reconciler.plan.kinds import RULES, SHOP_RULES, STOCK_KEYS
from reconciler.plan.model import DriftItem, FieldChange
from reconciler.plan.stock_drift import BUNDLES, OUTSIDE_KEY, STOCKS, recorded, stock_drift
from reconciler.resources import IgnoreRule, ResourceState, make_address

# Upstream-maintained fields that are not drift: the response-only fields of kinds.py, except the lifecycle
# (a status / state moved outside couponctl is drift), plus stocks, which GET never returns (reference B.2).
SHOP_IGNORED = (SHOP_RULES.read_only - {"status"}) | {".".join(p) for p in SHOP_RULES.read_only_nested}
# Stocks are compared by `stock_drift.py` (listed with list-stocks, decision D29), not as part of the coupon.
PRODUCT_IGNORED = frozenset({*STOCK_KEYS, STOCKS, BUNDLES, OUTSIDE_KEY, "brand_id"})


def diff_values(before: Any, after: Any, path: str = "", ignored: frozenset[str] = frozenset()) -> list[FieldChange]:
    """The planner's field-level diff, without the changes at or under an ignored path."""

    def kept(change: FieldChange) -> bool:
        return not any(under(change.path, p) for p in ignored)

    return [c for c in planner_diff(before, after, path) if kept(c)]


def _ignored_for(resource: ResourceState, rules: Sequence[IgnoreRule]) -> frozenset[str]:
    base = SHOP_IGNORED if resource.kind == "ShopCoupon" else PRODUCT_IGNORED
    return base | {r.path for r in rules}


def compare(
    resource: ResourceState, current: Mapping[str, Any] | None, rules: Sequence[IgnoreRule] = ()
) -> DriftItem | None:
    """The drift of one managed coupon, or None when upstream still matches state."""
    if current is None:
        return DriftItem(
            resource.address,
            resource.kind,
            "missing",
            upstream_id=resource.upstream_id,
            note="upstream no longer knows this coupon",
        )
    current = fill_echo_holes(RULES[resource.kind], current, resource.upstream)  # a partial status-1 echo (A.6.4)
    ignored = _ignored_for(resource, rules)
    changes = tuple(diff_values(resource.upstream, current, "", ignored))
    notes: list[str] = []
    if resource.kind == "ProductCoupon":  # its stocks, when they were listed (decision D29)
        stock_changes, notes = stock_drift(resource, current)
        changes += tuple(c for c in stock_changes if not any(under(c.path, p) for p in ignored - PRODUCT_IGNORED))
    if resource.kind == "ProductCoupon" and current.get("state") == "DEACTIVATED" and resource.status != "DEACTIVATED":
        return DriftItem(
            resource.address,
            resource.kind,
            "terminal",
            changes=changes,
            upstream_id=resource.upstream_id,
            note="deactivated outside couponctl (irreversible)",
        )
    if (
        resource.kind == "ShopCoupon"
        and current.get("status") in (3, 4)
        and resource.upstream.get("status") not in (3, 4)
    ):
        return DriftItem(
            resource.address,
            resource.kind,
            "terminal",
            changes=changes,
            upstream_id=resource.upstream_id,
            note="expired or voided outside couponctl (terminal)",
        )
    if not changes and not notes:
        return None
    return DriftItem(
        resource.address,
        resource.kind,
        "changed",
        changes=changes,
        upstream_id=resource.upstream_id,
        note="; ".join(notes) or None,
    )


def refreshed(resource: ResourceState, current: Mapping[str, Any], now_iso: str) -> ResourceState:
    """The resource with upstream's current object as last-known (keeping the stocks state knows)."""
    # A.6.4: what a partial status-1 shop echo leaves out is kept from the last-known object.
    upstream = recorded(fill_echo_holes(RULES[resource.kind], current, resource.upstream))
    if resource.kind == "ProductCoupon":
        for key in STOCK_KEYS:
            if key not in upstream and key in resource.upstream:
                upstream[key] = resource.upstream[key]
    return replace(resource, upstream=upstream, updated_at=now_iso)


UNMANAGED_NOTE = "exists upstream but no manifest or state manages it: import it, or declare it expected"


def unmanaged_shop(listed: Iterable[Mapping[str, Any]], managed_ids: set[str]) -> list[DriftItem]:
    """Shop coupons upstream that no state entry manages (get_list enumerates them all, reference A.6.4)."""
    items = []
    for coupon in listed:
        out_id = str(coupon.get("out_coupon_id", ""))
        if out_id and out_id not in managed_ids:
            items.append(
                DriftItem(
                    make_address("ShopCoupon", out_id),
                    "ShopCoupon",
                    "unmanaged",
                    upstream_id=out_id,
                    note=UNMANAGED_NOTE,
                )
            )
    return sorted(items, key=lambda d: d.address)


# --------------------------------------------------------------------------- unmanaged coupons declared expected


@dataclass(frozen=True, slots=True)
class ExpectedUnmanaged:
    """One `[[drift.expected_unmanaged]]` entry of couponctl.toml: shop coupons nobody here manages, on purpose.

    `out_coupon_id` and `name` are shell-style globs (`team-b-*`), matched case-sensitively against the coupon's
    `out_coupon_id` and `coupon_info.name`; an entry that gives both needs both to match. `reason` is required:
    the report shows it next to every coupon the entry covers, so a reader knows why it is not drift.
    """

    reason: str
    out_coupon_id: str | None = None
    name: str | None = None

    def matches(self, coupon: Mapping[str, Any]) -> bool:
        info = coupon.get("coupon_info")
        name = str(info.get("name", "")) if isinstance(info, Mapping) else ""
        if self.out_coupon_id is not None and not fnmatchcase(str(coupon.get("out_coupon_id", "")), self.out_coupon_id):
            return False
        return self.name is None or fnmatchcase(name, self.name)

    def describe(self) -> str:
        """The entry as the user wrote it (its match keys), to show which rule covered a coupon."""
        keys = [f'{k} = "{v}"' for k, v in (("out_coupon_id", self.out_coupon_id), ("name", self.name)) if v]
        return ", ".join(keys)


@dataclass(frozen=True, slots=True)
class ExpectedItem:
    """An unmanaged shop coupon covered by an `expected_unmanaged` entry: listed in the report, not drift."""

    address: str
    upstream_id: str
    name: str
    reason: str
    rule: str


def partition_unmanaged(
    listed: Iterable[Mapping[str, Any]], managed_ids: set[str], expected: Sequence[ExpectedUnmanaged]
) -> tuple[list[DriftItem], list[ExpectedItem]]:
    """The unmanaged shop coupons split into drift (no entry covers them) and expected ones (the first entry that
    covers each, with its reason)."""
    drift: list[DriftItem] = []
    covered: list[ExpectedItem] = []
    by_id = {str(c.get("out_coupon_id", "")): c for c in listed}
    for item in unmanaged_shop(listed, managed_ids):
        coupon = by_id[item.upstream_id or ""]
        rule = next((e for e in expected if e.matches(coupon)), None)
        if rule is None:
            drift.append(item)
            continue
        info = coupon.get("coupon_info")
        name = str(info.get("name", "")) if isinstance(info, Mapping) else ""
        covered.append(ExpectedItem(item.address, item.upstream_id or "", name, rule.reason, rule.describe()))
    return drift, covered


EXPECTED_KEYS = ("out_coupon_id", "name", "reason")


def parse_expected_unmanaged(raw: Any, where: str) -> tuple[ExpectedUnmanaged, ...]:
    """`[[drift.expected_unmanaged]]` entries from couponctl.toml, every mistake one ConfigError naming the entry
    (`where` is `FILE: [drift] expected_unmanaged`; entries are numbered from 1 as they appear in the file)."""
    if not isinstance(raw, list):
        raise ConfigError(
            f"{where} must be an array of tables, one [[drift.expected_unmanaged]] per pattern "
            "(out_coupon_id and/or name, and a reason)"
        )
    entries = []
    for number, entry in enumerate(raw, 1):
        at = f"{where} #{number}"
        if not isinstance(entry, dict):
            raise ConfigError(f"{at} must be a table with out_coupon_id and/or name, and a reason")
        for key in entry:
            if key not in EXPECTED_KEYS:
                close = difflib.get_close_matches(str(key), EXPECTED_KEYS, n=1)
                hint = f' (did you mean "{close[0]}"?)' if close else ""
                raise ConfigError(f"{at}: unknown key {key!r}{hint}; allowed: {', '.join(EXPECTED_KEYS)}")
        values: dict[str, str] = {}
        for key in EXPECTED_KEYS:
            if key in entry:
                value = entry[key]
                if not isinstance(value, str) or not value.strip():
                    raise ConfigError(f"{at}: {key} must be a non-empty string, not {value!r}")
                values[key] = value.strip()
        if "reason" not in values:
            raise ConfigError(f"{at}: reason is required (why these coupons are expected: whose they are)")
        if "out_coupon_id" not in values and "name" not in values:
            raise ConfigError(
                f'{at}: give out_coupon_id (a glob such as "team-b-*") or name (a glob on coupon_info.name); '
                'to accept every unmanaged coupon, write out_coupon_id = "*"'
            )
        entries.append(ExpectedUnmanaged(values["reason"], values.get("out_coupon_id"), values.get("name")))
    return tuple(entries)
