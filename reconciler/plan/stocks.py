"""The stocks (批次) and stock bundles (批次组) of a product coupon, as declared children (decision D29). Pure.

Each declared stock (`stocks.<name>` in the body; `stock_bundles.<name>` for PROGRESSIVE_BUNDLE) is compared with
the stock of that name in state, and every difference becomes something a stock API does (reference B.1, B.4):

- a new name: `product.stock.add` (`product.bundle.add`), numbered like a create (decision D29);
- a name gone from the manifest: `product.stock.deactivate` (irreversible; `protect: true` blocks it; a bundle's
  step stocks are deactivated one by one, [INF]: no bundle deactivation API is documented);
- remark, usage_rule_display_info, coupon_display_info, notify_config, store_scope: one PATCH with exactly the
  changed top-level fields;
- `stock_send_rule.max_count` / `max_count_per_day`: one update-budget call per dimension; a `max_count` below what
  state knows was sent is BLOCKED with the figures;
- anything else (fixed at creation), or a PATCH-able field removed (a PATCH cannot clear it [INF]), or a per-day cap
  set or lifted (update-budget changes a cap, it cannot add or drop one [INF]): the stock is replaced,
  create-before-destroy (add the new stock under the same name, then deactivate the old one: role "old").

Stock states (B.10): changes only while SENDING or PAUSED; AUDITING defers them; STOPPED / DEACTIVATED block them
(with a remedy). Never "not applied". The calls come in the order patches, budgets, adds, deactivations.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from reconciler.plan.actions import PROTECT_REMEDY, REFRESH_REMEDY, with_effect
from reconciler.plan.diff import diff_values, keep_ignored, top_key, under
from reconciler.plan.model import Call, FieldChange
from reconciler.plan.stock_calls import (
    AUDITING,
    BUDGET_MODES,
    ENDED_STATES,
    FAMILIES,
    KNOWN_STATES,
    PATCHABLE,
    STOCK_CAP,
    Calls,
    Family,
    comparable,
    sent_count,
    step_stock_ids,
    stock_state,
    upstream_id,
)
from reconciler.plan.store_calls import store_plan, without_stores
from reconciler.resources import IgnoreRule

ENDED_REMEDY = (
    "declare the changed stock under a new name (it is added) and remove this one from the manifest; an ended stock "
    "cannot change (reference B.10)"
)
DEACTIVATED_OUTSIDE = "deactivated upstream (terminal)"
GONE_REMEDY = (
    "remove it from the manifest (nothing is called; it stays deactivated), or declare it under a new name to add a "
    "new stock in its place"
)
CAP_REMEDY = "remove stocks from the manifest and apply (they are deactivated) before adding new ones"
REPLACED = "fixed at creation: a new stock replaces it (reference B.4)"


@dataclass(frozen=True, slots=True)
class Blocker:
    reason: str
    remedy: str


@dataclass(frozen=True, slots=True)
class StockPlan:
    """What the stocks of one coupon need: the field changes (with their effect), the calls in order, and what
    blocks or defers them."""

    changes: tuple[FieldChange, ...] = ()
    calls: tuple[Call, ...] = ()
    blocked: tuple[Blocker, ...] = ()
    deferred: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()  # differences in ignored fields


@dataclass(slots=True)
class _Work:
    calls: Calls
    protect: bool
    ignore: tuple[IgnoreRule, ...]
    generations: Mapping[str, int]
    changes: list[FieldChange] = field(default_factory=list)
    patches: list[Call] = field(default_factory=list)
    budgets: list[Call] = field(default_factory=list)
    adds: list[Call] = field(default_factory=list)
    deactivations: list[Call] = field(default_factory=list)
    stores: list[Call] = field(default_factory=list)  # store association batches (decision D34, store_calls.py)
    blocked: list[Blocker] = field(default_factory=list)
    deferred: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    added_stocks: int = 0  # effective stocks the adds create (a bundle: one per step)

    def block(self, changes: Sequence[FieldChange], reason: str, remedy: str) -> None:
        self.changes.extend(with_effect(changes, "blocked", reason))
        self.blocked.append(Blocker(reason, remedy))

    def defer(self, changes: Sequence[FieldChange], reason: str) -> None:
        self.changes.extend(with_effect(changes, "deferred", reason))
        self.deferred.append(reason)

    def next_generation(self, name: str, replacing: bool) -> int:
        recorded = self.generations.get(name)
        if recorded is None:
            return 1 if replacing else 0  # an unrecorded stock in state is its name's generation 0
        return recorded + 1


def plan_stocks(
    calls: Calls,
    want: Mapping[str, Any],
    have: Mapping[str, Any],
    *,
    protect: bool,
    ignore: Sequence[IgnoreRule] = (),
    generations: Mapping[str, int] | None = None,
) -> StockPlan:
    """The stock changes of a coupon that exists upstream: `want` is the desired body, `have` the upstream in state."""
    work = _Work(calls, protect, tuple(ignore), generations or {})
    for family in FAMILIES:
        wanted = _stock_map(want, family)
        known = _stock_map(have, family)
        for name, stock in wanted.items():
            if name in known:
                _existing(work, family, name, without_stores(stock), without_stores(known[name]))
            else:
                _new(work, family, name, without_stores(stock))
            _stores(work, family, name, stock, known.get(name))
        for name, stock in known.items():
            if name not in wanted:
                _removed(work, family, name, stock)
    effective = sum(_effective(family, s) for family in FAMILIES for s in _stock_map(have, family).values())
    if work.added_stocks and effective + work.added_stocks > STOCK_CAP:
        work.blocked.append(
            Blocker(
                f"{effective} effective stocks and {work.added_stocks} added make {effective + work.added_stocks}, "
                f"over the {STOCK_CAP} a coupon may have (reference B.4); the adds come before the deactivations",
                CAP_REMEDY,
            )
        )
    return StockPlan(
        changes=tuple(work.changes),
        calls=(*work.patches, *work.budgets, *work.adds, *work.stores, *work.deactivations),
        blocked=tuple(work.blocked),
        deferred=tuple(work.deferred),
        notes=tuple(work.notes),
    )


def added_after_create(calls: Calls, want: Mapping[str, Any]) -> tuple[Call, ...]:
    """A coupon created by this action: `product.create` sends the first stock (or bundle); the others are added
    after it, in manifest order, with `target=None` (apply takes the id the create recorded)."""
    out: list[Call] = []
    for family in FAMILIES:
        for name, stock in list(_stock_map(want, family).items())[1:]:
            out.append(calls.add(family, name, stock, 0))
    for name, stock in _stock_map(want, FAMILIES[0]).items():  # then every SPECIFIC stock's stores (D34)
        out.extend(store_plan(calls, name, None, stock, None)[1])
    return tuple(out)


def declared_stock_count(want: Mapping[str, Any]) -> int:
    """Effective stocks a new coupon starts with (a bundle: one per step)."""
    return sum(_step_count(family, s) for family in FAMILIES for s in _stock_map(want, family).values())


def _stock_map(body: Mapping[str, Any], family: Family) -> dict[str, Mapping[str, Any]]:
    found = body.get(family.key)
    if not isinstance(found, Mapping):
        return {}
    return {str(k): v for k, v in found.items() if isinstance(v, Mapping)}


def _step_count(family: Family, stock: Mapping[str, Any]) -> int:
    if not family.bundle:
        return 1
    rule = stock.get("progressive_bundle_usage_rule")
    if isinstance(rule, Mapping):
        for key, value in rule.items():
            if key.endswith("_list") and isinstance(value, list) and value:
                return len(value)
    return 1


def _effective(family: Family, stock: Mapping[str, Any]) -> int:
    if stock_state(family, stock) in ENDED_STATES:
        return 0
    steps = stock.get("stock_list")
    return len(steps) if family.bundle and isinstance(steps, list) and steps else 1


def _kept(work: _Work, changes: list[FieldChange]) -> list[FieldChange]:
    """The changes not in an ignored field; the ignored ones become notes."""
    if not work.ignore:
        return changes
    kept: list[FieldChange] = []
    for change in changes:
        rule = next((r for r in work.ignore if under(change.path, r.path)), None)
        if rule is None:
            kept.append(change)
        else:
            work.notes.append(f"{change.path} differs upstream but is ignored ({rule.reason})")
    return kept


def _new(work: _Work, family: Family, name: str, stock: Mapping[str, Any]) -> None:
    path = f"{family.key}.{name}"
    work.changes.append(FieldChange(path, "add", None, dict(stock), "update", f"a new {family.noun} is added"))
    work.adds.append(work.calls.add(family, name, stock, work.next_generation(name, replacing=False)))
    work.added_stocks += _step_count(family, stock)


def _stores(work: _Work, family: Family, name: str, want: Mapping[str, Any], have: Mapping[str, Any] | None) -> None:
    """The store association batches of stock `name` (decision D34): all its stores when this action adds it (new
    or replacing), else the difference with state; none for an ended stock or one whose id state does not know."""
    if family.bundle:
        return
    added = any(call.stock_name == name for call in work.adds)
    if have is not None and not added:
        stock_id = upstream_id(family, have)
        if stock_id is None or stock_state(family, have) in ENDED_STATES:
            return
    else:
        stock_id, have = None, None
    changes, calls = store_plan(work.calls, name, stock_id, want, have)
    work.changes.extend(changes)
    work.stores.extend(calls)


def _removed(work: _Work, family: Family, name: str, stock: Mapping[str, Any]) -> None:
    path = f"{family.key}.{name}"
    state = stock_state(family, stock)
    if state in ENDED_STATES:
        return  # ended upstream already: nothing left to stop
    change = FieldChange(path, "remove", comparable(stock), None, "update", "deactivated, irreversible")
    if state == AUDITING:
        work.defer([change], f"{path} is under review (AUDITING): it can be deactivated once SENDING (reference B.10)")
        return
    if work.protect:
        work.block([change], f"protect: true forbids deactivating {path}", PROTECT_REMEDY)
        return
    ids = step_stock_ids(stock) if family.bundle else [i for i in (upstream_id(family, stock),) if i]
    if not ids:
        work.block([change], f"state does not know the upstream id of {path}", REFRESH_REMEDY)
        return
    work.changes.append(change)
    why = f"removed from manifests by couponctl: {work.calls.address} {path}"
    work.deactivations.extend(work.calls.deactivate(name, stock_id, why) for stock_id in ids)


def _existing(
    work: _Work, family: Family, name: str, want_stock: Mapping[str, Any], have_stock: Mapping[str, Any]
) -> None:
    path = f"{family.key}.{name}"
    before = comparable(have_stock)
    changes = _kept(work, diff_values(before, dict(want_stock), path))
    state = stock_state(family, have_stock)
    if not changes and state == "DEACTIVATED":  # deactivated outside couponctl (its own deactivations leave state)
        gone = FieldChange(f"{path}.state", "change", "DEACTIVATED", None, "blocked", DEACTIVATED_OUTSIDE)
        work.changes.append(gone)
        work.blocked.append(Blocker(f"{path} was deactivated outside couponctl but is still declared", GONE_REMEDY))
        return
    if not changes:
        return
    stock_id = upstream_id(family, have_stock)
    if state == AUDITING:
        work.defer(changes, f"{path} is under review (AUDITING): changed once SENDING or PAUSED (reference B.10)")
        return
    if state is not None and state not in KNOWN_STATES:
        work.block(changes, f"{path} is in the unknown state {state!r} (reference B.10)", REFRESH_REMEDY)
        return
    if state in ENDED_STATES:
        work.block(changes, f"{path} is {state}: an ended {family.noun} cannot change", ENDED_REMEDY)
        return
    if stock_id is None:
        work.block(changes, f"state does not know the upstream id of {path}", REFRESH_REMEDY)
        return
    patch, budget, fixed = _split(path, changes)
    if fixed:
        _replace(work, family, name, want_stock, have_stock, changes, fixed)
        return
    if patch:
        body = keep_ignored(want_stock, before, _relative(work.ignore, path))
        changed = {top_key(c.path[len(path) + 1 :]) for c in patch}
        fields = {key: body[key] for key in PATCHABLE if key in changed}
        work.changes.extend(with_effect(patch, "update", None))
        work.patches.append(work.calls.patch(family, name, stock_id, fields))
    for change in budget:
        _budget(work, family, name, stock_id, have_stock, change, path)


def _split(path: str, changes: list[FieldChange]) -> tuple[list[FieldChange], list[FieldChange], list[FieldChange]]:
    """(PATCH-able, budget, fixed at creation) changes of one stock."""
    patch: list[FieldChange] = []
    budget: list[FieldChange] = []
    fixed: list[FieldChange] = []
    for change in changes:
        inner = change.path[len(path) + 1 :]
        top = top_key(inner)
        if inner in {f"stock_send_rule.{f}" for f in BUDGET_MODES}:
            numbers = all(isinstance(v, int) and not isinstance(v, bool) for v in (change.before, change.after))
            (budget if change.change == "change" and numbers else fixed).append(change)
        elif top in PATCHABLE and not (change.change == "remove" and inner == top):
            patch.append(change)
        else:
            fixed.append(change)
    return patch, budget, fixed


def _relative(rules: Sequence[IgnoreRule], path: str) -> list[IgnoreRule]:
    prefix = path + "."
    return [IgnoreRule(r.path[len(prefix) :], r.reason) for r in rules if r.path.startswith(prefix)]


def _budget(
    work: _Work,
    family: Family,
    name: str,
    stock_id: str,
    have_stock: Mapping[str, Any],
    change: FieldChange,
    path: str,
) -> None:
    dimension = change.path.rsplit(".", 1)[-1]
    target = int(change.after)
    sent = sent_count(family, have_stock) if dimension == "max_count" else None
    if sent is not None and target < sent:
        work.block(
            [change],
            f"{change.path} = {target:,} is below the {sent:,} coupons already sent",
            f"declare a max_count of at least {sent:,} ({sent:,} already sent, as state last read it; "
            "`couponctl refresh` reads the count again)",
        )
        return
    work.changes.extend(with_effect([change], "update", None))
    work.budgets.append(work.calls.update_budget(family, name, stock_id, dimension, int(change.before), target))


def _replace(
    work: _Work,
    family: Family,
    name: str,
    want_stock: Mapping[str, Any],
    have_stock: Mapping[str, Any],
    changes: list[FieldChange],
    fixed: list[FieldChange],
) -> None:
    """Create-before-destroy at stock level: the new stock (same name, full budget), then the old one deactivated."""
    path = f"{family.key}.{name}"
    fixed_paths = {c.path for c in fixed}
    marked = [
        *with_effect([c for c in changes if c.path in fixed_paths], "forces_replacement", REPLACED),
        *with_effect([c for c in changes if c.path not in fixed_paths], "update", f"sent with the new {family.noun}"),
    ]
    if work.protect:
        work.block(marked, f"protect: true forbids replacing {path}", PROTECT_REMEDY)
        return
    ids = step_stock_ids(have_stock) if family.bundle else [i for i in (upstream_id(family, have_stock),) if i]
    work.changes.extend(marked)
    work.adds.append(work.calls.add(family, name, want_stock, work.next_generation(name, replacing=True)))
    work.added_stocks += _step_count(family, want_stock)
    why = f"replaced by couponctl: {work.calls.address} {path}"
    work.deactivations.extend(work.calls.deactivate(name, stock_id, why, old=True) for stock_id in ids)
