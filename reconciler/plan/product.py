"""The ProductCoupon rules of the planner: the ProductCoupon table of contract §2.2 (state machine: reference B.10).

A product coupon can change its `display_info` in place (PATCH, B.7, once EFFECTIVE) and its stocks through the stock
APIs (B.4, decision D29: `plan/stocks.py`); any other difference replaces it, create-before-destroy: the new coupon
is created with its first stock, the others are added, then the old coupon is deactivated. Pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from reconciler.plan import kinds
from reconciler.plan.actions import (
    PROTECT_REMEDY,
    PROTECT_REMOVED_REMEDY,
    REFRESH_REMEDY,
    PlanContext,
    Subject,
    next_generation,
    numbered,
    numbered_create,
    with_effect,
)
from reconciler.plan.code_calls import split_codes, with_code_uploads
from reconciler.plan.diff import compare, keep_ignored, top_key
from reconciler.plan.model import Action, ActionType, Call, FieldChange
from reconciler.plan.stock_calls import STOCK_CAP, Calls, coupon_generation, stock_generations
from reconciler.plan.stocks import StockPlan, added_after_create, declared_stock_count, plan_stocks
from reconciler.plan.time_rules import check_window
from reconciler.resources import DesiredCoupon, ResourceState
from reconciler.stocks import STOCK_MAPS, create_body

DEACTIVATE_REASON_MAX = 150  # reference B.8: deactivate_reason is string(150)


@dataclass(frozen=True, slots=True)
class _Declared:
    """A declared product coupon being planned, with the brand its calls are made for."""

    ctx: PlanContext
    subject: Subject
    want: DesiredCoupon
    have: ResourceState | None
    brand: str

    def create_call(self) -> Call:
        """`product.create` with the coupon's first stock, numbered by brand, address and generation (D17).

        The body's first `stocks` (or `stock_bundles`) entry is sent as `stock` (`stock_bundle`, reference B.5);
        the answer's stock is recorded under that entry's name (decision D29, `apply/outcome.py`)."""
        generation = next_generation(self.have)
        body = {"brand_id": self.brand, **create_body(self.want.body)}
        payload = numbered_create(self.subject.address, self.brand, generation, body, self.ctx.environment)
        return Call(operation="product.create", payload=payload, target=None, out_request_no=payload["out_request_no"])

    def new_coupon_calls(self) -> tuple[Call, ...]:
        """A new coupon (created, recreated or replacing the one in state): `product.create` with the first stock,
        then every other declared stock added to it (`target=None`: apply takes the id the create recorded)."""
        calls = Calls(self.ctx, self.subject.address, self.brand, None, next_generation(self.have), self.have)
        return (self.create_call(), *added_after_create(calls, self.want.body))

    def stock_calls(self, have: ResourceState) -> Calls:
        """The builder of stock calls on the coupon in state."""
        generation = coupon_generation(have)
        return Calls(self.ctx, self.subject.address, self.brand, have.upstream_id, generation, have)


@dataclass(frozen=True, slots=True)
class _Split:
    """The differences of an existing coupon, by what the API lets us do about them."""

    replacing: tuple[FieldChange, ...]  # fixed at creation (B.2): forces replacement
    display: tuple[FieldChange, ...]  # display_info: PATCHed in place (B.7)
    stocks: tuple[FieldChange, ...]  # the stock maps as compared (shown with a replacement or a recreation)


def plan_product(
    ctx: PlanContext, address: str, want: DesiredCoupon | None, have: ResourceState | None
) -> Action | None:
    """The action for one product coupon address, or None when it matches."""
    brand = _brand(ctx, want, have)
    want, codes = split_codes(want) if want is not None else (None, {})  # kept out of every body (decision D35)
    subject = replace(Subject.of(address, want, have), brand_id=brand)
    if want is None:
        assert have is not None
        return plan_product_removed(ctx, subject, have, brand=brand)
    subject = replace(subject, status_after=kinds.PRODUCT_EFFECTIVE)
    if brand is None:
        return subject.blocked(
            (),
            "no brand_id: the partner API needs one on every call (reference B.0)",
            "set brand_id in the manifest, or [wechatpay] brand_id in couponctl.toml",
        )
    coupon = _Declared(ctx, subject, want, have, brand)
    action = _create(coupon) if have is None else _change(coupon, have)
    return with_code_uploads(subject, action, codes, have, brand, ctx.environment) if codes else action


def _brand(ctx: PlanContext, want: DesiredCoupon | None, have: ResourceState | None) -> str | None:
    """The manifest's brand, else the one in state, else the configured default (which wins over state when the
    manifest is silent: the configuration says which brand couponctl acts for)."""
    if want is not None and want.brand_id is None and ctx.default_brand_id is not None:
        return ctx.default_brand_id
    return (want.brand_id if want is not None else None) or (have.brand_id if have else None) or ctx.default_brand_id


def _over_cap(coupon: _Declared, changes: Sequence[FieldChange]) -> Action | None:
    count = declared_stock_count(coupon.want.body)
    if count <= STOCK_CAP:
        return None
    return coupon.subject.blocked(
        changes,
        f"{count} stocks declared, over the {STOCK_CAP} a coupon may have (reference B.4)",
        "declare at most 200 stocks (a stock bundle counts one per step)",
    )


def _create(coupon: _Declared) -> Action:
    warnings: list[str] = []
    blocked = _over_cap(coupon, ()) or check_window(coupon.ctx, coupon.subject, (), warnings)
    if blocked:
        return blocked
    subject = replace(coupon.subject, status_after=None)  # AUDITING or EFFECTIVE: upstream decides (reference B.5)
    calls = coupon.new_coupon_calls()
    reason = "created with its first stock" + (f", then {len(calls) - 1} more added" if len(calls) > 1 else "")
    return subject.action(ActionType.CREATE, calls=calls, reason=reason, warnings=warnings)


def _change(coupon: _Declared, have: ResourceState) -> Action | None:
    """A declared coupon that is in state: recreate, replace, patch or change its stocks, by what differs."""
    found = compare(kinds.PRODUCT_RULES, coupon.want, have.upstream)
    changes = list(found.changes)
    if have.brand_id is not None and coupon.brand != have.brand_id:
        changes.insert(0, FieldChange(path="brand_id", change="change", before=have.brand_id, after=coupon.brand))
    notes = list(found.ignored)
    if have.status == kinds.PRODUCT_DEACTIVATED:
        return _recreate(coupon, have, changes, notes)
    split = _split(changes)
    if split.replacing:
        return _replace(coupon, have, split, notes)
    stocks = (
        plan_stocks(
            coupon.stock_calls(have),
            coupon.want.body,
            have.upstream,
            protect=coupon.subject.protect,
            ignore=coupon.want.ignore_drift,
            generations=stock_generations(have),
        )
        if split.stocks
        else StockPlan()
    )
    if not (split.display or stocks.changes or stocks.blocked):
        coupon.ctx.unchanged(coupon.subject.address, notes)
        return None
    return _update(coupon, have, split.display, stocks, notes)


def _split(changes: list[FieldChange]) -> _Split:
    rules = kinds.PRODUCT_RULES
    replacing: list[FieldChange] = []
    display: list[FieldChange] = []
    stocks: list[FieldChange] = []
    for change in changes:
        top = top_key(change.path)
        if top in rules.mutable:
            display.append(change)
        elif top in STOCK_MAPS:
            stocks.append(change)
        elif change.change == "remove" and top not in rules.immutable and top != "brand_id":
            continue  # a response-only key we do not know: never a reason to replace a coupon
        else:
            replacing.append(change)
    return _Split(tuple(replacing), tuple(display), tuple(stocks))


def _recreate(coupon: _Declared, have: ResourceState, changes: list[FieldChange], warnings: list[str]) -> Action:
    """DEACTIVATED upstream but still declared -> replace (create new); nothing to deactivate (contract §2.2).

    protect does not block it: it guards against destroying a coupon, and nothing is destroyed here."""
    blocked = _over_cap(coupon, changes) or check_window(coupon.ctx, coupon.subject, changes, warnings)
    if blocked:
        return blocked
    return coupon.subject.action(
        ActionType.REPLACE,
        changes=with_effect(changes, "update", None),
        calls=coupon.new_coupon_calls(),
        reason=f"{have.upstream_id} is DEACTIVATED upstream (terminal) but still declared: a new coupon is "
        "created; nothing is deactivated",
        warnings=warnings,
    )


def _replace(coupon: _Declared, have: ResourceState, split: _Split, warnings: list[str]) -> Action:
    """Create-before-destroy: the new coupon with all its stocks, then deactivate the old one (once EFFECTIVE)."""
    subject = coupon.subject
    marked = (
        *with_effect(split.replacing, "forces_replacement", "forces replacement: fixed at creation (reference B.2)"),
        *with_effect(split.display, "update", None),
        *with_effect(split.stocks, "update", "sent with the new coupon's stocks"),
    )
    if subject.protect:
        return subject.blocked(marked, "protect: true forbids replacing this coupon", PROTECT_REMEDY)
    if have.status == kinds.PRODUCT_AUDITING:
        return subject.action(
            ActionType.DEFERRED,
            changes=with_effect(marked, "deferred", "waiting for review"),
            reason="waiting for review: the old coupon can be deactivated only once EFFECTIVE (reference B.10)",
            warnings=warnings,
        )
    if have.status != kinds.PRODUCT_EFFECTIVE:
        return _unknown_state(subject, marked, have.status)
    blocked = _over_cap(coupon, marked) or check_window(coupon.ctx, subject, marked, warnings)
    if blocked:
        return blocked
    deactivate = _deactivate_call(
        coupon.ctx, subject.address, have, f"replaced by couponctl: {subject.address}", have.brand_id or coupon.brand
    )
    new_coupon = coupon.new_coupon_calls()
    return subject.action(
        ActionType.REPLACE,
        changes=marked,
        calls=(*new_coupon, replace(deactivate, role="old")),
        reason="create-before-destroy: the new coupon is created"
        + (" with its stocks" if len(new_coupon) > 1 else "")
        + " before the old one is deactivated",
        warnings=warnings,
    )


def _update(
    coupon: _Declared, have: ResourceState, display: Sequence[FieldChange], stocks: StockPlan, warnings: list[str]
) -> Action:
    """In place: PATCH the whole new display_info (B.7), then the stock calls (B.4), once the coupon is EFFECTIVE."""
    subject = coupon.subject
    changes = (*with_effect(display, "update", None), *stocks.changes)
    if have.status == kinds.PRODUCT_AUDITING:
        what = "display_info and stocks can" if stocks.changes else "display_info can"
        return subject.action(
            ActionType.DEFERRED,
            changes=with_effect(changes, "deferred", "under review"),
            reason=f"waiting for review: {what} be changed only once EFFECTIVE (reference B.7)",
            warnings=warnings,
        )
    if have.status != kinds.PRODUCT_EFFECTIVE:
        return _unknown_state(subject, changes, have.status)
    if stocks.blocked:
        return subject.blocked(
            changes,
            "; ".join(b.reason for b in stocks.blocked),
            "; ".join(dict.fromkeys(b.remedy for b in stocks.blocked)),
        )
    calls = (*((_patch_call(coupon, have),) if display else ()), *stocks.calls)
    if not calls:
        return subject.action(
            ActionType.DEFERRED, changes=changes, reason="; ".join(stocks.deferred), warnings=warnings
        )
    if stocks.deferred:
        warnings = [*warnings, *(f"deferred: {why}" for why in stocks.deferred)]
    return subject.action(
        ActionType.UPDATE, changes=changes, calls=calls, reason=_update_reason(display, stocks), warnings=warnings
    )


def _update_reason(display: Sequence[FieldChange], stocks: StockPlan) -> str:
    parts = ["PATCH with the whole new display_info (reference B.7)"] if display else []
    if stocks.calls:
        parts.append("the stock APIs change the stocks in place (reference B.4)")
    return "; ".join(parts)


def _patch_call(coupon: _Declared, have: ResourceState) -> Call:
    new_display = keep_ignored(coupon.want.body, have.upstream, coupon.want.ignore_drift).get("display_info")
    payload = numbered(
        coupon.ctx,
        coupon.subject.address,
        "product.patch",
        {"display_info": new_display, "brand_id": coupon.brand},
        target=have.upstream_id,
        state=have,
    )
    return Call(
        operation="product.patch", payload=payload, target=have.upstream_id, out_request_no=payload["out_request_no"]
    )


def _deactivate_call(ctx: PlanContext, address: str, have: ResourceState, why: str, brand: str) -> Call:
    """`product.deactivate` of the coupon in state (B.8), its reason cut to the documented length."""
    payload = numbered(
        ctx,
        address,
        "product.deactivate",
        {"deactivate_reason": why[:DEACTIVATE_REASON_MAX], "brand_id": brand},
        target=have.upstream_id,
        state=have,
    )
    return Call(
        operation="product.deactivate",
        payload=payload,
        target=have.upstream_id,
        out_request_no=payload["out_request_no"],
    )


def _unknown_state(subject: Subject, changes: Sequence[FieldChange], current: str) -> Action:
    return subject.blocked(
        changes,
        f"upstream state {current!r} is unknown (reference B.10: AUDITING, EFFECTIVE, DEACTIVATED)",
        REFRESH_REMEDY,
    )


def plan_product_removed(ctx: PlanContext, subject: Subject, have: ResourceState, *, brand: str | None) -> Action:
    """A product coupon in state but no longer declared: deactivate it once EFFECTIVE (irreversible, B.8)."""
    current = have.status
    if current == kinds.PRODUCT_DEACTIVATED:
        return subject.action(
            ActionType.FORGET,
            reason="removed from the manifests; already DEACTIVATED upstream (terminal): dropped from state, no call",
        )
    if have.protect:
        return subject.blocked(
            (),
            "removed from the manifests, but protect: true (in state) forbids deactivating it",
            PROTECT_REMOVED_REMEDY,
        )
    if current == kinds.PRODUCT_AUDITING:
        return subject.action(
            ActionType.DEFERRED,
            reason="removed from the manifests, but the coupon is under review: deactivate works only once "
            "EFFECTIVE (reference B.8)",
        )
    if current != kinds.PRODUCT_EFFECTIVE:
        return _unknown_state(subject, (), current)
    if brand is None:
        return subject.blocked(
            (),
            "no brand_id in state or configuration: the partner API needs one (reference B.0)",
            "set [wechatpay] brand_id in couponctl.toml",
        )
    deactivate = _deactivate_call(
        ctx, subject.address, have, f"removed from manifests by couponctl: {subject.address}", brand
    )
    return replace(subject, status_after=kinds.PRODUCT_DEACTIVATED).action(
        ActionType.DEACTIVATE,
        calls=(deactivate,),
        reason="removed from the manifests: deactivated, irreversible; all its stocks stop (reference B.8)",
    )
