"""The plan as a value: `Plan` holds `Action`s, each with `FieldChange`s and the exact `Call`s apply will make.

A plan has two consumers that never re-compute the diff: the renderers (text, JSON, Markdown) and the applier.
Display-only data (annotations, summaries) is derived from these fields by the renderers; the applier reads only
`Action.type`, `Action.calls` and the identifying fields.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal, get_args

from reconciler.resources import Kind, SourceRef

# 1.1 added `paths`, `left_alone` and `skip_blocked` to the plan and `manifest_file` to actions (issue 14); a 1.0
# saved plan still loads (the new fields take their defaults: no paths, nothing left alone, nothing skipped).
PLAN_FORMAT_VERSION = "1.1"
# 1.2 adds `environment` (issue 19, decision D26). Only a plan made in an environment is written as 1.2, so plans
# without one keep their 1.1 bytes, and a couponctl that predates environments refuses an environment's plan
# instead of applying it without the check.
ENVIRONMENT_FORMAT_VERSION = "1.2"
# 1.3 adds `meta.policy` and the order caps in `meta` (issue 18, docs/plan-format.md): only a plan judged by a
# policy file or priced with an order cap is written as 1.3, so a couponctl that predates policies refuses it
# rather than applying a denied plan.
POLICY_FORMAT_VERSION = "1.3"
# 1.4 adds the operations of issues 16/17 (stocks, bundles, quantities, assets) and the calls' `stock_name` /
# `stock_id` (decision D29): only a plan that makes such a call is written as 1.4, so a couponctl that predates
# them refuses it rather than misapplying a call it does not know. Each version includes the ones before it.
STOCKS_FORMAT_VERSION = "1.4"
# The operations a plan could make before 1.4.
OPERATIONS_BEFORE_1_4: frozenset[str] = frozenset(
    {"shop.add", "shop.update", "shop.update_status", "product.create", "product.patch", "product.deactivate"}
)


def format_version_for(environment: str | None, *, new_operations: bool = False) -> str:
    """The format version of a plan made in `environment` (None: no environment selected) that makes an operation
    new in 1.4 (`new_operations`) or not."""
    if new_operations:
        return STOCKS_FORMAT_VERSION
    return PLAN_FORMAT_VERSION if environment is None else ENVIRONMENT_FORMAT_VERSION


def newest_format_version(*versions: str) -> str:
    """The newest of plan format versions ("1.10" is newer than "1.9")."""
    return max(versions, key=lambda v: tuple(int(part) for part in v.split(".")))


def uses_new_operations(actions: Sequence[Action]) -> bool:
    """Some action makes a call a couponctl older than format 1.4 does not know."""
    return any(call.operation not in OPERATIONS_BEFORE_1_4 for action in actions for call in action.calls)


class ActionType(StrEnum):
    CREATE = "create"  # +    new coupon (shop: add, then update_status(2) when active)
    UPDATE = "update"  # ~    in-place content change (shop update in status 1; product PATCH display_info)
    REPLACE = "replace"  # -/+  create the new coupon, then deactivate the old one (create-before-destroy)
    DEACTIVATE = "deactivate"  # -    irreversible: product deactivate, shop void (update_status(4))
    TRANSITION = "transition"  # >    shop status move along 1->2, 2->3 (and 1->2->3 / 1->2->4 paths)
    FORGET = "forget"  # removed from manifests while upstream has no delete: dropped from state only
    BLOCKED = "blocked"  # cannot be applied; the plan is not applyable unless made with --skip-blocked; has a remedy
    DEFERRED = "deferred"  # waiting for upstream (product coupon under review); not an error
    NOT_APPLIED = "not_applied"  # a difference couponctl reports but does not change (stock after creation)


# The upstream operations a plan may call. Shop: /shop/coupon/*. Product: WeChat Pay APIv3 partner product coupons.
Operation = Literal[
    "shop.add",
    "shop.update",
    "shop.update_status",
    "product.create",
    "product.patch",
    "product.deactivate",
    # issue 16: quantities and stocks after creation (reference A.6.6, B.1, B.4; decision D29)
    "shop.update_stock",
    "product.stock.add",
    "product.stock.patch",
    "product.stock.update_budget",
    "product.stock.deactivate",
    "product.bundle.add",
    "product.bundle.patch",
    "product.bundle.update_budget",
    # issue 17: what makes a coupon usable (reference B.1: image upload, store association, code upload)
    "product.media.upload",
    "product.stock.associate_stores",
    "product.stock.disassociate_stores",
    "product.stock.upload_codes",
]
# Every operation a plan may call changes something upstream (reads are not plan calls).
MUTATING_OPERATIONS: frozenset[str] = frozenset(get_args(Operation))


@dataclass(frozen=True, slots=True)
class Call:
    """One upstream call, fully built at plan time: apply sends exactly this body.

    `target` is the upstream id the call addresses (out_coupon_id for shop calls, product_coupon_id for product
    PATCH / deactivate / stock calls); it is None for `product.create`, whose id WeChat assigns, and for a stock
    call on a coupon that an earlier call of the same action creates (apply takes the id that call recorded).
    `role` tells, for a replacement, whether the call concerns the new coupon (or stock) or the old one.
    `stock_name` is the declared key of the stock or stock bundle a `product.stock.*` / `product.bundle.*` call
    concerns (decision D29); `stock_id` its upstream id (the stock_bundle_id for bundle calls), None when an earlier
    call of the same action adds it.
    """

    operation: Operation
    payload: Mapping[str, Any]
    target: str | None = None
    out_request_no: str | None = None
    role: Literal["new", "old"] = "new"
    stock_name: str | None = None
    stock_id: str | None = None

    @property
    def out_coupon_id(self) -> str:
        """The shop coupon this shop call addresses (see `shop_coupon_id`)."""
        return shop_coupon_id(self.target, self.payload)


def shop_coupon_id(target: str | None, payload: Mapping[str, Any]) -> str:
    """The out_coupon_id a shop call (or its recorded intent) addresses: the call's target, else the payload's own
    (`update_status`) or its coupon's (`add`, `update`; reference A.3, A.4). The one place that knows where it is."""
    if target:
        return target
    coupon = payload.get("coupon")
    if isinstance(coupon, Mapping):
        return str(coupon["out_coupon_id"])
    return str(payload["out_coupon_id"])


FieldEffect = Literal["update", "forces_replacement", "blocked", "deferred", "not_applied"]


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One field that differs. `change` says whether it appears, disappears or changes value."""

    path: str  # dotted path in the normalised body, list items as [i]: "display_info.name"
    change: Literal["add", "remove", "change"]
    before: Any = None
    after: Any = None
    effect: FieldEffect = "update"
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Action:
    """What happens to one address. `before` is the last-known upstream object, `after` the desired body."""

    address: str
    kind: Kind
    type: ActionType
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None
    changes: tuple[FieldChange, ...] = ()
    calls: tuple[Call, ...] = ()
    upstream_id: str | None = None  # known id (shop out_coupon_id always; product id once created)
    status_before: str | None = None  # shop "1".."4" / product state
    status_after: str | None = None
    reason: str | None = None  # why this action (blocked / deferred / forget / replace)
    remedy: str | None = None  # what the user can do (blocked)
    warnings: tuple[str, ...] = ()
    source: SourceRef | None = None
    desired_digest: str | None = None
    protect: bool = False
    brand_id: str | None = None
    # The declaring manifest file relative to the project root (POSIX separators), unlike `source.file` which is
    # shown relative to the working directory. Apply records it in state as `extra["source"]`, so a later
    # `plan PATH` knows which coupons removed from the manifests lie within PATH (issue 14).
    manifest_file: str | None = None
    # A declared rename (`moved: {from: ...}`): apply first moves the state entry from this address to `address`
    # (no upstream call; the upstream id is kept), then makes `calls`, if any. A call-less UPDATE that has it is
    # a pure move.
    moved_from: str | None = None

    @property
    def applyable(self) -> bool:
        return self.type is not ActionType.BLOCKED


@dataclass(frozen=True, slots=True)
class DriftItem:
    """Something that changed upstream outside couponctl, found while refreshing."""

    address: str
    kind: Kind
    category: Literal["changed", "missing", "terminal", "unmanaged"]
    changes: tuple[FieldChange, ...] = ()
    upstream_id: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Plan:
    """Everything apply needs and a reviewer sees. Holds no secret."""

    lineage: str
    serial: int
    manifest_digest: str
    created_at: str  # ISO-8601 UTC
    expires_at: str  # ISO-8601 UTC
    actions: tuple[Action, ...]
    tool_version: str
    format_version: str = PLAN_FORMAT_VERSION
    targets: tuple[str, ...] = ()
    drift: tuple[DriftItem, ...] = ()
    warnings: tuple[str, ...] = ()
    refreshed: bool = False
    git_commit: str | None = None
    unchanged: int = 0  # addresses that match and need nothing
    meta: Mapping[str, Any] = field(default_factory=dict)
    # `plan PATH...`: the paths given (relative to the project root); () means every configured manifest path.
    paths: tuple[str, ...] = ()
    # Coupons in state whose manifest lies outside `paths` (or whose source is unknown): not compared, never removed.
    left_alone: int = 0
    # Made with --skip-blocked: apply applies every other action and skips (then reports) the blocked ones.
    skip_blocked: bool = False
    # The environment it was made in (`--env`, decision D26); apply refuses it in any other.
    environment: str | None = None

    @property
    def applyable(self) -> bool:
        """Apply may proceed: no action is blocked, or the plan was made to skip the blocked ones."""
        return self.skip_blocked or all(a.applyable for a in self.actions)

    @property
    def blocked(self) -> tuple[Action, ...]:
        return tuple(a for a in self.actions if a.type is ActionType.BLOCKED)

    @property
    def differs(self) -> bool:
        """Manifests and upstream differ somewhere in scope: any action at all, including the deferred, the
        not-applied and the blocked ones that apply cannot (or will not) carry out now. `--detailed-exitcode`
        exits 2 exactly then; "No changes" is said only when this is false."""
        return bool(self.actions)

    @property
    def has_changes(self) -> bool:
        # FORGET, call-less UPDATE (protect) and declared moves change state only; they are changes all the same.
        return any(
            a.calls or a.type in (ActionType.FORGET, ActionType.UPDATE) or (a.moved_from and a.applyable)
            for a in self.actions
        )
