"""The ShopCoupon rules of the planner: the ShopCoupon table of contract §2.2 (status machine: reference A.4.2). Pure.

A shop coupon is edited in place while in status 1 (`update`), moves along 1 -> 2 -> 3/4 (`update_status`), and
has no delete (reference A.6): removing an active one voids it, removing a draft only forgets it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from reconciler.plan import kinds
from reconciler.plan.actions import (
    PROTECT_REMEDY,
    PROTECT_REMOVED_REMEDY,
    REFRESH_REMEDY,
    PlanContext,
    Subject,
    numbered,
    with_effect,
)
from reconciler.plan.adopt import adopted, is_candidate
from reconciler.plan.diff import compare, keep_ignored
from reconciler.plan.model import Action, ActionType, Call, FieldChange
from reconciler.plan.time_rules import check_window
from reconciler.resources import SHOP_STATUS_BY_NAME, SHOP_STATUS_NAME, DesiredCoupon, ResourceState, canonical_json
from reconciler.times import format_unix

SHOP_ACTIVE_REMEDY = "declare it under a new name (new out_coupon_id); the old one can be voided with status: voided"
_VALUE_CHARS = 60  # a value quoted in a remedy is cut here: the plan block above shows it whole
# The quantity of an active coupon changes through update_coupon_stock, not `update` (reference A.6.6, decision D30).
SHOP_TOTAL_PATH = "coupon_info.receive_info.total_num"
ACTIVE_CONTENT_REASON = "status is 2 (active); content is editable only in status 1"
UNKNOWN_COUNT_WARNING = (
    "the handed-out count is not in state (coupon_stock, which refresh records for active coupons): sent as "
    "receive_num 0, which upstream refuses if users already claimed coupons; run `couponctl refresh`, then plan again"
)


def handed_out(upstream: Mapping[str, Any] | None) -> int | None:
    """How many coupons users have claimed, as state last saw it: `coupon_stock.stock_info.receive_num`, which
    `get_list` answers for activated coupons (reference A.3, A.6.4); None when state does not know it."""
    stock = upstream.get("coupon_stock") if isinstance(upstream, Mapping) else None
    info = stock.get("stock_info") if isinstance(stock, Mapping) else None
    value = info.get("receive_num") if isinstance(info, Mapping) else None
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def active_content_remedy(changes: tuple[FieldChange, ...], where: str | None) -> str:
    """Every way out for an active shop coupon whose content differs from its manifest (typically a console edit;
    issue 14): upstream's values to accept into the manifest, void and re-declare, or refresh and edit, and the
    way to ship everything else meanwhile."""
    accept = "; ".join(_upstream_value(c) for c in changes)
    return (
        f"accept upstream's values into the manifest{f' ({where})' if where else ''}: {accept}; or void and "
        "re-declare: set this coupon to status: voided and declare the new content under a new name with a new "
        "out_coupon_id; or run `couponctl refresh` to record upstream's values in state, then edit the manifest "
        "to match. Meanwhile `couponctl plan --skip-blocked --out FILE` applies everything else"
    )


def _upstream_value(change: FieldChange) -> str:
    """`path = upstream's value (the manifest says X)`, times also in Beijing time."""
    if change.before is None:
        return f"remove {change.path} (upstream has none)"
    return (
        f"{change.path} = {_shown(change.path, change.before)} (the manifest says {_shown(change.path, change.after)})"
    )


def _shown(path: str, value: object) -> str:
    if value is None:
        return "nothing"
    text = canonical_json(value)
    if path.endswith("_time") and isinstance(value, int) and not isinstance(value, bool):
        text += f" ({format_unix(value)})"
    return text if len(text) <= _VALUE_CHARS else text[: _VALUE_CHARS - 1] + "…"


def handed_out_changed(before: ResourceState, after: ResourceState) -> bool:
    """Did users claim coupons since state last recorded the count? Not drift, but `couponctl refresh` records it:
    the plan sends it as `receive_num` (reference A.6.6), so a plan made without refreshing must know it. A count
    state never saw reads as 0, which is also what such a plan sends: learning that nobody claimed is no news."""
    if before.kind != "ShopCoupon":
        return False
    return (handed_out(before.upstream) or 0) != (handed_out(after.upstream) or 0)


def plan_shop(ctx: PlanContext, address: str, want: DesiredCoupon | None, have: ResourceState | None) -> Action | None:
    """The action for one shop coupon address, or None when it matches."""
    subject = Subject.of(address, want, have)
    if want is None:
        assert have is not None
        return plan_shop_removed(subject, have)
    wanted = SHOP_STATUS_BY_NAME[want.status]
    out_coupon_id = str(want.body["out_coupon_id"])
    subject = replace(subject, status_after=str(wanted), upstream_id=out_coupon_id)
    if have is None:
        return _create(ctx, subject, want, wanted, out_coupon_id)
    if is_candidate(have):  # found upstream by out_coupon_id, not in state (decision D17)
        return adopted(_change(ctx, subject, want, have, wanted, out_coupon_id), subject, have)
    return _change(ctx, subject, want, have, wanted, out_coupon_id)


def status_call(out_coupon_id: str, status: int) -> Call:
    return Call(
        operation="shop.update_status", payload={"out_coupon_id": out_coupon_id, "status": status}, target=out_coupon_id
    )


def _status_change(before: int | None, after: int) -> FieldChange:
    return FieldChange(path="status", change="change" if before is not None else "add", before=before, after=after)


def _upstream_status(have: ResourceState) -> int:
    try:
        return int(have.upstream.get("status", 0))
    except (TypeError, ValueError):
        return 0


def _create(ctx: PlanContext, subject: Subject, want: DesiredCoupon, wanted: int, out_coupon_id: str) -> Action:
    path = kinds.shop_status_path(1, wanted) or ()
    add = Call(operation="shop.add", payload={"coupon": dict(want.body)}, target=out_coupon_id)
    calls = (add, *(status_call(out_coupon_id, s) for s in path))
    if want.protect and kinds.SHOP_VOID in path:
        return subject.blocked((), "protect: true forbids voiding this coupon", PROTECT_REMEDY)
    warnings: list[str] = []
    blocked = check_window(ctx, subject, (), warnings)
    if blocked:
        return blocked
    reason = "created and activated" if wanted >= 2 else "created as a draft (status 1)"
    return subject.action(ActionType.CREATE, calls=calls, reason=reason, warnings=warnings)


def _change(
    ctx: PlanContext, subject: Subject, want: DesiredCoupon, have: ResourceState, wanted: int, out_coupon_id: str
) -> Action | None:
    """A declared coupon that is in state: refuse what the status machine forbids, else move it."""
    found = compare(kinds.SHOP_RULES, want, have.upstream)
    changes = found.changes
    current = _upstream_status(have)
    if current not in kinds.SHOP_STATUS_MEANING:
        return subject.blocked(
            changes,
            f"upstream status {have.upstream.get('status')!r} is unknown (reference A.4.2 documents 1-4)",
            REFRESH_REMEDY,
        )
    if any(c.path in kinds.SHOP_RULES.immutable for c in changes):
        return subject.blocked(
            with_effect(changes, "blocked", "out_coupon_id is the coupon's identity"),
            f"out_coupon_id changed from {have.upstream_id!r} to {out_coupon_id!r}: that is a different coupon",
            "keep out_coupon_id, or declare the new coupon under a new name and remove this one",
        )
    if current in kinds.SHOP_TERMINAL:
        if changes or wanted != current:
            return _terminal(subject, changes, current, wanted)
        ctx.unchanged(subject.address, found.ignored)
        return None
    path = kinds.shop_status_path(current, wanted)
    if path is None:  # 2 -> 1: an active coupon can never go back to editing (reference A.4.2)
        return subject.blocked(
            with_effect((*changes, _status_change(current, wanted)), "blocked", "status cannot go back from 2 to 1"),
            "an active coupon (status 2) cannot go back to draft (status 1) (reference A.4.2)",
            "set status: active (or expired / voided); to edit the content, " + SHOP_ACTIVE_REMEDY,
        )
    if current == 2 and changes:
        if wanted == 2 and all(c.path == SHOP_TOTAL_PATH for c in changes):
            return _quantity(ctx, subject, want, have, changes[0], found.ignored)
        return _active_content(subject, want, changes, wanted)
    if want.protect and kinds.SHOP_VOID in path:
        return subject.blocked(
            (_status_change(current, wanted),), "protect: true forbids voiding this coupon", PROTECT_REMEDY
        )
    return _move(ctx, subject, want, have, changes, found.ignored, current=current, wanted=wanted, path=path)


def _quantity(
    ctx: PlanContext,
    subject: Subject,
    want: DesiredCoupon,
    have: ResourceState,
    change: FieldChange,
    notes: tuple[str, ...],
) -> Action:
    """A new `total_num` for an active coupon: one `update_coupon_stock` with absolute values, what is left to hand
    out and what was handed out (reference A.6.6 [INF], decision D30); below the handed-out count it is refused."""
    out_coupon_id = str(want.body["out_coupon_id"])
    total = int(change.after)
    received = handed_out(have.upstream)
    if received is not None and total < received:
        return subject.blocked(
            with_effect((change,), "blocked", f"{received:,} already handed out"),
            f"total_num {total:,} < {received:,} already handed out: upstream cannot take back coupons users "
            "have claimed (reference A.6.6)",
            f"declare total_num of at least {received:,} ({received:,} stops handing out; to stop the coupon, set "
            "status: voided). If users claimed fewer than state says, run `couponctl refresh` and plan again",
        )
    warnings = list(notes)
    blocked = check_window(ctx, subject, (change,), warnings)
    if blocked:
        return blocked
    if received is None:
        warnings.append(UNKNOWN_COUNT_WARNING)
    known = received or 0
    body = {
        "coupon_stock": {
            "out_coupon_id": out_coupon_id,
            "stock_info": {"issued_num": total - known, "receive_num": known},
        }
    }
    # /shop/coupon has no request number (A.6): the number names the change in the journal and history only.
    number = numbered(ctx, subject.address, "shop.update_stock", body, target=out_coupon_id, state=have)
    call = Call(
        operation="shop.update_stock", payload=body, target=out_coupon_id, out_request_no=number["out_request_no"]
    )
    return subject.action(
        ActionType.UPDATE,
        changes=with_effect((change,), "update", None),
        calls=(call,),
        reason=f"the quantity of an active coupon changes with update_coupon_stock: {total - known:,} left to hand "
        f"out + {known:,} handed out = {total:,} (reference A.6.6)",
        warnings=warnings,
    )


def _active_content(subject: Subject, want: DesiredCoupon, changes: tuple[FieldChange, ...], wanted: int) -> Action:
    """Content other than the quantity differs on an active coupon: BLOCKED (reference A.4.2). A quantity change in
    the same action is not dropped silently: it is named, and waits with the rest."""
    others = tuple(c for c in changes if c.path != SHOP_TOTAL_PATH)
    quantity = next((c for c in changes if c.path == SHOP_TOTAL_PATH), None)
    wait = "waits: update_coupon_stock applies it once nothing else differs (reference A.6.6)"
    marked = tuple(with_effect((c,), "blocked", wait if c is quantity else ACTIVE_CONTENT_REASON)[0] for c in changes)
    if not others:  # only the quantity, while the status moves on (expired / voided): it would never be used
        assert quantity is not None
        return subject.blocked(
            (*marked, _status_change(2, wanted)),
            f"total_num differs ({quantity.before} -> {quantity.after}) and the status moves from 2 to {wanted}: "
            "the quantity of a coupon that stops being claimable cannot change",
            f"keep total_num at upstream's {quantity.before} to move the status, or keep status: active to change "
            "the quantity",
        )
    fields = ", ".join(c.path for c in others)
    reason = (
        f"content differs ({fields}) but the coupon is active (status 2); `update` works only in status 1 "
        "(reference A.4.2)"
    )
    remedy = active_content_remedy(others, str(want.source))
    if quantity is not None:
        reason += (
            f"; the total_num change ({quantity.before} -> {quantity.after}) alone would be applied with "
            "update_coupon_stock (reference A.6.6), so nothing is applied until the rest is resolved"
        )
        remedy = "resolve the other differences, and the total_num change is planned alone; " + remedy
    return subject.blocked(marked, reason, remedy)


def _terminal(subject: Subject, changes: tuple[FieldChange, ...], current: int, wanted: int) -> Action:
    status_changes = (_status_change(current, wanted),) if wanted != current else ()
    word = kinds.SHOP_STATUS_MEANING[current]
    return subject.blocked(
        with_effect(changes + status_changes, "blocked", f"terminal: status is {current} {word}"),
        f"the coupon is terminal (status {current}, {word}); nothing about it can change (reference A.4.2)",
        "declare the change under a new name (new out_coupon_id), and set this one's manifest back to "
        f"status: {SHOP_STATUS_NAME.get(current, str(current))} with its current content, or remove it from the "
        "manifests",
    )


def _move(
    ctx: PlanContext,
    subject: Subject,
    want: DesiredCoupon,
    have: ResourceState,
    changes: tuple[FieldChange, ...],
    notes: tuple[str, ...],
    *,
    current: int,
    wanted: int,
    path: tuple[int, ...],
) -> Action | None:
    """An allowed move from `current` to `wanted` along the `update_status` values in `path`: update the content
    (status 1 only), then move the status."""
    out_coupon_id = str(want.body["out_coupon_id"])
    status_calls = tuple(status_call(out_coupon_id, s) for s in path)
    status_changes = (_status_change(current, wanted),) if path else ()
    warnings = list(notes)
    if changes or 2 in path:
        blocked = check_window(ctx, subject, (*changes, *status_changes), warnings)
        if blocked:
            return blocked
    # current == 1: update the whole coupon, then move its status (contract §2.4: update before update_status)
    if changes:
        body = keep_ignored(want.body, have.upstream, want.ignore_drift)
        update = Call(operation="shop.update", payload={"coupon": body}, target=out_coupon_id)
        return subject.action(
            ActionType.UPDATE,
            changes=(*changes, *status_changes),
            calls=(update, *status_calls),
            reason="content is editable while status is 1",
            warnings=warnings,
        )
    if not path:
        ctx.unchanged(subject.address, notes)
        return None
    if wanted == kinds.SHOP_VOID and current == 2:
        return subject.action(
            ActionType.DEACTIVATE,
            changes=status_changes,
            calls=status_calls,
            reason="voided: update_status(4) is irreversible (reference A.4.2)",
            warnings=warnings,
        )
    return subject.action(
        ActionType.TRANSITION,
        changes=status_changes,
        calls=status_calls,
        reason="status " + " -> ".join(str(s) for s in (current, *path)),
        warnings=warnings,
    )


def plan_shop_removed(subject: Subject, have: ResourceState) -> Action:
    """A shop coupon in state but no longer declared: void it if active, else forget it (no delete, A.6)."""
    current = _upstream_status(have)
    if current == 2:
        if have.protect:
            return subject.blocked(
                (_status_change(2, 4),),
                "removed from the manifests, but protect: true (in state) forbids voiding it",
                PROTECT_REMOVED_REMEDY,
            )
        return replace(subject, status_after="4").action(
            ActionType.DEACTIVATE,
            changes=(_status_change(2, 4),),
            calls=(status_call(have.upstream_id, 4),),
            reason="removed from the manifests: voided with update_status(4), irreversible (reference A.4.2)",
        )
    if current == 1:
        return subject.action(
            ActionType.FORGET,
            reason="removed from the manifests while in status 1 (never active)",
            warnings=(
                "the shop coupon API has no delete (reference A.6): the coupon stays upstream in status 1 "
                "(editing, not claimable) and is only dropped from state",
            ),
        )
    if current in kinds.SHOP_TERMINAL:
        return subject.action(
            ActionType.FORGET,
            reason=f"removed from the manifests; already terminal upstream (status {current}, "
            f"{kinds.SHOP_STATUS_MEANING[current]}): dropped from state, no call",
        )
    return subject.blocked(
        (),
        f"removed from the manifests, but upstream status {have.upstream.get('status')!r} is unknown",
        REFRESH_REMEDY,
    )
