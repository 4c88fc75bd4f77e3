"""The ProductCoupon rules of the planner: the ProductCoupon table of contract §2.2 (state machine: reference B.10).

A product coupon can change only its `display_info` in place (PATCH, B.7, once EFFECTIVE); any other difference
replaces it, create-before-destroy; stock differences after creation are reported, not applied (B.4). Pure.
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
from reconciler.plan.diff import compare, keep_ignored, top_key
from reconciler.plan.model import Action, ActionType, Call, FieldChange
from reconciler.plan.time_rules import check_window
from reconciler.resources import DesiredCoupon, ResourceState
from reconciler.stocks import create_body

DEACTIVATE_REASON_MAX = 150  # reference B.8: deactivate_reason is string(150)
NOT_APPLIED_REASON = "stock changes after creation go through the stock APIs (reference B.4), not applied"


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


@dataclass(frozen=True, slots=True)
class _Split:
    """The differences of an existing coupon, by what the API lets us do about them."""

    replacing: tuple[FieldChange, ...]  # fixed at creation (B.2): forces replacement
    display: tuple[FieldChange, ...]  # display_info: PATCHed in place (B.7)
    stock: tuple[FieldChange, ...]  # the stock: not applied after creation (B.4)


def plan_product(
    ctx: PlanContext, address: str, want: DesiredCoupon | None, have: ResourceState | None
) -> Action | None:
    """The action for one product coupon address, or None when it matches."""
    brand = _brand(ctx, want, have)
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
    if have is None:
        return _create(coupon)
    return _change(coupon, have)


def _brand(ctx: PlanContext, want: DesiredCoupon | None, have: ResourceState | None) -> str | None:
    """The manifest's brand, else the one in state, else the configured default (which wins over state when the
    manifest is silent: the configuration says which brand couponctl acts for)."""
    if want is not None and want.brand_id is None and ctx.default_brand_id is not None:
        return ctx.default_brand_id
    return (want.brand_id if want is not None else None) or (have.brand_id if have else None) or ctx.default_brand_id


def _create(coupon: _Declared) -> Action:
    warnings: list[str] = []
    blocked = check_window(coupon.ctx, coupon.subject, (), warnings)
    if blocked:
        return blocked
    subject = replace(coupon.subject, status_after=None)  # AUDITING or EFFECTIVE: upstream decides (reference B.5)
    return subject.action(
        ActionType.CREATE, calls=(coupon.create_call(),), reason="created with its first stock", warnings=warnings
    )


def _change(coupon: _Declared, have: ResourceState) -> Action | None:
    """A declared coupon that is in state: recreate, replace, patch, or report, by what differs and its state."""
    found = compare(kinds.PRODUCT_RULES, coupon.want, have.upstream)
    changes = list(found.changes)
    if have.brand_id is not None and coupon.brand != have.brand_id:
        changes.insert(0, FieldChange(path="brand_id", change="change", before=have.brand_id, after=coupon.brand))
    warnings = list(found.ignored)
    if have.status == kinds.PRODUCT_DEACTIVATED:
        return _recreate(coupon, have, changes, warnings)
    split = _split(changes)
    if not (split.replacing or split.display or split.stock):
        coupon.ctx.unchanged(coupon.subject.address, found.ignored)
        return None
    if split.replacing:
        return _replace(coupon, have, split, warnings)
    if split.display:
        return _patch_display(coupon, have, split, warnings)
    return coupon.subject.action(
        ActionType.NOT_APPLIED,
        changes=with_effect(split.stock, "not_applied", NOT_APPLIED_REASON),
        reason="only the stock differs; stock changes after creation use the stock APIs (reference B.4), "
        "which couponctl does not call",
        warnings=warnings,
    )


def _split(changes: list[FieldChange]) -> _Split:
    rules = kinds.PRODUCT_RULES
    replacing: list[FieldChange] = []
    display: list[FieldChange] = []
    stock: list[FieldChange] = []
    for change in changes:
        top = top_key(change.path)
        if top in rules.mutable:
            display.append(change)
        elif top in rules.not_applied:
            stock.append(change)
        elif change.change == "remove" and top not in rules.immutable and top != "brand_id":
            continue  # a response-only key we do not know: never a reason to replace a coupon
        else:
            replacing.append(change)
    return _Split(tuple(replacing), tuple(display), tuple(stock))


def _recreate(coupon: _Declared, have: ResourceState, changes: list[FieldChange], warnings: list[str]) -> Action:
    """DEACTIVATED upstream but still declared -> replace (create new); nothing to deactivate (contract §2.2).

    protect does not block it: it guards against destroying a coupon, and nothing is destroyed here."""
    blocked = check_window(coupon.ctx, coupon.subject, changes, warnings)
    if blocked:
        return blocked
    return coupon.subject.action(
        ActionType.REPLACE,
        changes=with_effect(changes, "update", None),
        calls=(coupon.create_call(),),
        reason=f"{have.upstream_id} is DEACTIVATED upstream (terminal) but still declared: a new coupon is "
        "created; nothing is deactivated",
        warnings=warnings,
    )


def _replace(coupon: _Declared, have: ResourceState, split: _Split, warnings: list[str]) -> Action:
    """Create-before-destroy: the new coupon, then deactivate the old one (only once EFFECTIVE, B.10)."""
    subject = coupon.subject
    marked = (
        *with_effect(split.replacing, "forces_replacement", "forces replacement: fixed at creation (reference B.2)"),
        *with_effect(split.display, "update", None),
        *with_effect(split.stock, "update", "sent with the new coupon's first stock"),
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
    blocked = check_window(coupon.ctx, subject, marked, warnings)
    if blocked:
        return blocked
    deactivate = _deactivate_call(
        coupon.ctx, subject.address, have, f"replaced by couponctl: {subject.address}", have.brand_id or coupon.brand
    )
    return subject.action(
        ActionType.REPLACE,
        changes=marked,
        calls=(coupon.create_call(), replace(deactivate, role="old")),
        reason="create-before-destroy: the new coupon is created before the old one is deactivated",
        warnings=warnings,
    )


def _patch_display(coupon: _Declared, have: ResourceState, split: _Split, warnings: list[str]) -> Action:
    """PATCH the whole new display_info (B.7), once EFFECTIVE; stock differences ride along as not applied."""
    subject = coupon.subject
    stock_marked = with_effect(split.stock, "not_applied", NOT_APPLIED_REASON)
    if split.stock:
        warnings.append("stock differs: not applied (change stocks with the WeChat Pay stock APIs)")
    if have.status == kinds.PRODUCT_AUDITING:
        return subject.action(
            ActionType.DEFERRED,
            changes=(*with_effect(split.display, "deferred", "under review"), *stock_marked),
            reason="waiting for review: display_info can be changed only once EFFECTIVE (reference B.7)",
            warnings=warnings,
        )
    if have.status != kinds.PRODUCT_EFFECTIVE:
        return _unknown_state(subject, (*split.display, *stock_marked), have.status)
    new_display = keep_ignored(coupon.want.body, have.upstream, coupon.want.ignore_drift).get("display_info")
    payload = numbered(
        coupon.ctx,
        subject.address,
        "product.patch",
        {"display_info": new_display, "brand_id": coupon.brand},
        target=have.upstream_id,
        state=have,
    )
    patch = Call(
        operation="product.patch", payload=payload, target=have.upstream_id, out_request_no=payload["out_request_no"]
    )
    return subject.action(
        ActionType.UPDATE,
        changes=(*with_effect(split.display, "update", None), *stock_marked),
        calls=(patch,),
        reason="PATCH with the whole new display_info (reference B.7)",
        warnings=warnings,
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
