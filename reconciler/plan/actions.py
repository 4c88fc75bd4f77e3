"""Shared action building: the planning context, the fields every action about one address carries (`Subject`),
typed action construction, and the deterministic request numbers of calls (contract §2.4). Pure.

The shop and product rules (`plan/shop.py`, `plan/product.py`) decide *which* action; this module only builds it,
so every action is constructed the same way, field by field, with the types checked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from reconciler.plan.model import Action, ActionType, Call, FieldChange, FieldEffect
from reconciler.plan.request_numbers import create_request_no, out_request_no, payload_digest, scoped_lineage
from reconciler.resources import DesiredCoupon, Kind, ResourceState, SourceRef, digest

PROTECT_REMEDY = "set protect: false first (it is stored in state when applied), or keep the coupon as it is"
PROTECT_REMOVED_REMEDY = "declare it again with protect: false and apply, then remove it; or keep it declared"
REFRESH_REMEDY = "run `couponctl refresh` to re-read the coupon, then plan again"


@dataclass(slots=True)
class PlanContext:
    """What one `make_plan` call plans against, and the plan-level warnings it collects on the way."""

    lineage: str
    serial: int
    now: datetime
    default_brand_id: str | None
    plan_warnings: list[str] = field(default_factory=list)
    environment: str | None = None  # the selected environment: part of every request number (decision D26)
    # decision D33: uploaded images by sha256 (the state's asset map), and the address whose action uploads each
    # image not yet uploaded (once in the whole plan: plan/images.py)
    assets: Mapping[str, str] = field(default_factory=dict)
    uploads: dict[str, str] = field(default_factory=dict)

    def unchanged(self, address: str, notes: Sequence[str]) -> None:
        """No action; differences in ignored fields become plan warnings (said only when they differ)."""
        for note in notes:
            self.plan_warnings.append(f"{address}: {note}")


@dataclass(frozen=True, slots=True)
class Subject:
    """The fields shared by every action about one address; each rule adds the type, changes, calls and reason."""

    address: str
    kind: Kind
    before: Mapping[str, Any] | None  # last-known upstream object (state)
    after: Mapping[str, Any] | None  # desired body (manifests)
    upstream_id: str | None
    status_before: str | None
    source: SourceRef | None
    protect: bool
    status_after: str | None = None
    brand_id: str | None = None

    @classmethod
    def of(cls, address: str, want: DesiredCoupon | None, have: ResourceState | None) -> Subject:
        if want is not None:
            kind = want.kind
        else:
            assert have is not None, "an address is planned because it is declared or in state"
            kind = have.kind
        return cls(
            address=address,
            kind=kind,
            before=have.upstream if have is not None else None,
            after=want.body if want is not None else None,
            upstream_id=have.upstream_id if have is not None else None,
            status_before=have.status if have is not None else None,
            source=want.source if want is not None else None,
            protect=want.protect if want is not None else (have.protect if have is not None else False),
        )

    def action(
        self,
        type: ActionType,
        *,
        reason: str,
        changes: Sequence[FieldChange] = (),
        calls: Sequence[Call] = (),
        warnings: Sequence[str] = (),
        remedy: str | None = None,
    ) -> Action:
        """The action of this type about this address (`desired_digest` is filled in by `make_plan`)."""
        return Action(
            address=self.address,
            kind=self.kind,
            type=type,
            before=self.before,
            after=self.after,
            changes=tuple(changes),
            calls=tuple(calls),
            upstream_id=self.upstream_id,
            status_before=self.status_before,
            status_after=self.status_after,
            reason=reason,
            remedy=remedy,
            warnings=tuple(warnings),
            source=self.source,
            protect=self.protect,
            brand_id=self.brand_id,
        )

    def blocked(self, changes: Sequence[FieldChange], reason: str, remedy: str) -> Action:
        """A BLOCKED action: it makes the whole plan non-applyable and tells the user what to do."""
        return self.action(ActionType.BLOCKED, changes=changes, reason=reason, remedy=remedy)


def with_effect(changes: Sequence[FieldChange], effect: FieldEffect, reason: str | None) -> tuple[FieldChange, ...]:
    """The changes marked with what the plan does about them (update, forces replacement, blocked, ...)."""
    return tuple(
        FieldChange(path=c.path, change=c.change, before=c.before, after=c.after, effect=effect, reason=reason)
        for c in changes
    )


def _version(state: ResourceState | None, serial: int) -> str:
    """A version of the resource's last-known state, part of every request number (see request_numbers)."""
    if state is None:
        return f"new@{serial}"
    return digest({"upstream": state.upstream, "updated_at": state.updated_at})[:16]


def numbered(
    ctx: PlanContext,
    address: str,
    operation: str,
    payload: Mapping[str, Any],
    *,
    target: str | None,
    state: ResourceState | None,
) -> dict[str, Any]:
    """The payload with its deterministic `out_request_no` first (contract §2.4)."""
    version = _version(state, ctx.serial)
    lineage = scoped_lineage(ctx.lineage, ctx.environment)
    number = out_request_no(lineage, address, f"{operation}:{target or '-'}:{version}", payload_digest(payload))
    return {"out_request_no": number, **payload}


def next_generation(state: ResourceState | None) -> int:
    """The generation of the next `product.create` at an address (decision D17): 0 for its first coupon, one more
    than the coupon in state for a replacement (a state from before D17, or an imported coupon, counts as 0)."""
    if state is None:
        return 0
    recorded = state.extra.get("generation") if state.extra else None
    return (recorded if isinstance(recorded, int) else 0) + 1


def numbered_create(
    address: str, brand_id: str, generation: int, payload: Mapping[str, Any], environment: str | None = None
) -> dict[str, Any]:
    """A `product.create` payload with its request number first: derived from the brand, the address, the
    generation and the environment only, so that the same create planned against a lost state is the same request
    (decision D17) and another environment's never is (D26)."""
    return {"out_request_no": create_request_no(brand_id, address, generation, environment), **payload}


def import_command(address: str, upstream_id: str | None, brand_id: str | None = None) -> str:
    """The exact `couponctl import` that adopts an upstream coupon at `address` (with `--brand-id` for a product
    coupon, whose reads need it)."""
    command = f"couponctl import {address} {upstream_id or '<product_coupon_id>'}"
    if address.startswith("product_coupon.") and brand_id:
        command += f" --brand-id {brand_id}"
    return command
