"""The pure planner (design §2.2): desired coupons + state (+ drift found while refreshing) -> a `Plan` value.

No I/O, no clock (`now` is passed in), no randomness. One `Action` per address that needs something; addresses that
match are only counted (`Plan.unchanged`). The rules of both action tables of design §2.2 live in `_plan_shop` and
`_plan_product`; the static per-kind facts they use (compared fields, mutability, status machine) live in
`reconciler.plan.kinds`.

Diffing, like Alembic autogenerate: the addresses are a set split on stable keys (desired - state -> create,
state - desired -> deactivate / forget, both -> compare field by field). A fast path compares the normalised bodies
as plain values first; the field-level diff runs only for coupons that differ.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from reconciler.errors import PlanError
from reconciler.plan import kinds
from reconciler.plan.model import Action, ActionType, Call, DriftItem, FieldChange, Plan
from reconciler.plan.request_numbers import out_request_no, payload_digest
from reconciler.resources import SHOP_STATUS_BY_NAME, SHOP_STATUS_NAME, DesiredCoupon, IgnoreRule, ResourceState, digest

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")
DEACTIVATE_REASON_MAX = 150  # reference B.8: deactivate_reason is string(150)

SHOP_ACTIVE_REMEDY = (
    "declare it under a new name (new out_coupon_id); the old one can be voided with status: voided"
)
PROTECT_REMEDY = "set protect: false first (it is stored in state when applied), or keep the coupon as it is"
PROTECT_REMOVED_REMEDY = (
    "declare it again with protect: false and apply, then remove it; or keep it declared"
)
CLAIM_ENDED_REMEDY = "move the claim window's end into the future, or remove the coupon from the manifests"


# --------------------------------------------------------------------------------------------------- public helpers


def iso_utc(moment: datetime) -> str:
    """`2026-11-23T10:40:00Z`: the timestamp format of plans (UTC, seconds)."""
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: Any) -> datetime | None:
    """A body time as an aware datetime: Unix seconds (shop, reference A.1) or RFC3339 (product, B.4); else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=BEIJING)
    return None


def _get(body: Mapping[str, Any], *path: str) -> Any:
    value: Any = body
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def claim_window(kind: str, body: Mapping[str, Any]) -> tuple[datetime | None, datetime | None]:
    """The (start, end) of the window in which users can claim the coupon, when the body states it.

    Shop: `coupon_info.receive_info.start_time/end_time` (reference A.3). Product: the first stock's
    `coupon_available_period` (reference B.4), the closest the API has to a claim window.
    """
    if kind == "ShopCoupon":
        info = _get(body, "coupon_info", "receive_info")
        if not isinstance(info, Mapping):
            return None, None
        return parse_time(info.get("start_time")), parse_time(info.get("end_time"))
    period = _get(body, "stock", "single_usage_rule", "coupon_available_period")
    if not isinstance(period, Mapping):
        period = _get(body, "stock_bundle", "progressive_bundle_usage_rule", "coupon_available_period")
    if not isinstance(period, Mapping):
        return None, None
    return parse_time(period.get("available_begin_time")), parse_time(period.get("available_end_time"))


def beijing(moment: datetime) -> str:
    """`2026-11-11 00:00:00 +08:00`: how times are shown to users (the APIs' own zone)."""
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S +08:00")


def target_matches(address: str, target: str) -> bool:
    """`--target` matching: the exact address, a kind (`shop_coupon`), or a prefix pattern ending in `*`."""
    if target.endswith("*"):
        return address.startswith(target[:-1])
    if "." not in target:
        return address.startswith(target + ".")
    return address == target


# --------------------------------------------------------------------------------------------------- diffing


def _same(a: Any, b: Any) -> bool:
    # bool is an int in Python; the APIs distinguish them, so do we.
    return type(a) is type(b) and a == b


def diff_values(before: Any, after: Any, path: str = "") -> list[FieldChange]:
    """Field-level differences between two normalised bodies: dotted paths, list items as `[i]`."""
    out: list[FieldChange] = []
    _diff(before, after, path, out)
    return out


def _diff(before: Any, after: Any, path: str, out: list[FieldChange]) -> None:
    if isinstance(before, Mapping) and isinstance(after, Mapping):
        for key in sorted(set(before) | set(after), key=str):
            sub = f"{path}.{key}" if path else str(key)
            if key not in before:
                out.append(FieldChange(path=sub, change="add", before=None, after=after[key]))
            elif key not in after:
                out.append(FieldChange(path=sub, change="remove", before=before[key], after=None))
            else:
                _diff(before[key], after[key], sub, out)
    elif isinstance(before, list | tuple) and isinstance(after, list | tuple) and len(before) == len(after):
        for i, (b, a) in enumerate(zip(before, after, strict=True)):
            _diff(b, a, f"{path}[{i}]", out)
    elif isinstance(before, list | tuple) and isinstance(after, list | tuple):
        if list(before) != list(after):
            out.append(FieldChange(path=path, change="change", before=before, after=after))
    elif not _same(before, after):
        out.append(FieldChange(path=path, change="change", before=before, after=after))


def top_key(path: str) -> str:
    """`coupon_info.discount_info.discount_fee` -> `coupon_info`; `display_info[0]` -> `display_info`."""
    end = len(path)
    for sep in (".", "["):
        i = path.find(sep)
        if 0 <= i < end:
            end = i
    return path[:end]


def _under(path: str, rule_path: str) -> bool:
    return path == rule_path or path.startswith(rule_path + ".") or path.startswith(rule_path + "[")


def compare_view(rules: kinds.KindRules, body: Mapping[str, Any]) -> Mapping[str, Any]:
    """The part of a body that is compared: read-only keys (top-level and nested) removed.

    Returns `body` itself when there is nothing to remove (the common case for desired bodies), so the no-change
    path of a 10,000-coupon plan copies nothing; never mutates `body`.
    """
    view: Mapping[str, Any] = body
    if not rules.read_only.isdisjoint(body):
        view = {k: v for k, v in body.items() if k not in rules.read_only}
    for parents, leaves in kinds.NESTED_READ_ONLY[rules.kind].items():
        chain: list[Mapping[str, Any]] = [view]
        for key in parents:
            child = chain[-1].get(key)
            if not isinstance(child, Mapping):
                break
            chain.append(child)
        else:
            if not leaves.isdisjoint(chain[-1]):
                # rebuild the copied path bottom-up: the caller's objects stay untouched
                new_child: Mapping[str, Any] = {k: v for k, v in chain[-1].items() if k not in leaves}
                for depth in range(len(parents) - 1, -1, -1):
                    new_child = {**chain[depth], parents[depth]: new_child}
                view = new_child
    return view


def _set_path(body: dict[str, Any], path: str, value: Any, present: bool) -> None:
    """Set (or delete) a dotted path in a freshly copied body; list indexes are not supported (whole lists only)."""
    keys = path.split(".")
    holder = body
    for key in keys[:-1]:
        child = holder.get(key)
        if not isinstance(child, Mapping):
            return
        copy = dict(child)
        holder[key] = copy
        holder = copy
    if present:
        holder[keys[-1]] = value
    else:
        holder.pop(keys[-1], None)


def _has_path(body: Mapping[str, Any], path: str) -> tuple[bool, Any]:
    value: Any = body
    for key in path.split("."):
        if not isinstance(value, Mapping) or key not in value:
            return False, None
        value = value[key]
    return True, value


def _keep_ignored(
    desired: Mapping[str, Any], upstream: Mapping[str, Any], rules: Sequence[IgnoreRule]
) -> dict[str, Any]:
    """The desired body with every ignored field taken from upstream, so a call never overwrites a console edit."""
    body = dict(desired)
    for rule in rules:
        present, value = _has_path(upstream, rule.path)
        _set_path(body, rule.path, value, present)
    return body


# --------------------------------------------------------------------------------------------------- planning


@dataclass(slots=True)
class _Ctx:
    lineage: str
    serial: int
    now: datetime
    default_brand_id: str | None
    plan_warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Diff:
    changes: tuple[FieldChange, ...]
    ignored: tuple[str, ...]  # notes about differing fields that were ignored (DesiredCoupon.ignore_drift)


def _compare(rules: kinds.KindRules, desired: DesiredCoupon, upstream: Mapping[str, Any]) -> _Diff:
    before = compare_view(rules, upstream)
    after = compare_view(rules, desired.body)
    # Fast path: one C-level deep comparison. (Python equates True with 1; the manifest schema types every field,
    # so a bool can never meet an int in the same place.)
    if before == after:
        return _Diff((), ())
    changes = diff_values(before, after)
    if not desired.ignore_drift:
        return _Diff(tuple(changes), ())
    kept: list[FieldChange] = []
    notes: list[str] = []
    for change in changes:
        rule = next((r for r in desired.ignore_drift if _under(change.path, r.path)), None)
        if rule is None:
            kept.append(change)
        else:
            notes.append(f"{change.path} differs upstream but is ignored ({rule.reason})")
    return _Diff(tuple(kept), tuple(notes))


def _with_effect(changes: Sequence[FieldChange], effect: str, reason: str | None) -> tuple[FieldChange, ...]:
    return tuple(
        FieldChange(path=c.path, change=c.change, before=c.before, after=c.after, effect=effect, reason=reason)  # type: ignore[arg-type]
        for c in changes
    )


def _version(state: ResourceState | None, serial: int) -> str:
    """A version of the resource's last-known state, part of every request number (see request_numbers)."""
    if state is None:
        return f"new@{serial}"
    return digest({"upstream": state.upstream, "updated_at": state.updated_at})[:16]


def _numbered(
    ctx: _Ctx,
    address: str,
    operation: str,
    payload: dict[str, Any],
    *,
    target: str | None,
    state: ResourceState | None,
) -> dict[str, Any]:
    """The payload with its deterministic `out_request_no` first (design §2.4)."""
    version = _version(state, ctx.serial)
    number = out_request_no(ctx.lineage, address, f"{operation}:{target or '-'}:{version}", payload_digest(payload))
    return {"out_request_no": number, **payload}


def _window_problem(ctx: _Ctx, kind: str, body: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(error, warning) about the claim window at plan time (design §1.2: ended is an error, started a warning)."""
    start, end = claim_window(kind, body)
    if end is not None and end <= ctx.now:
        return f"the claim window already ended at {beijing(end)}", None
    if start is not None and start <= ctx.now:
        return None, f"the claim window already started at {beijing(start)}"
    return None, None


def make_plan(
    desired: Sequence[DesiredCoupon],
    state: Mapping[str, ResourceState],
    *,
    lineage: str,
    serial: int,
    manifest_digest: str,
    now: datetime,
    tool_version: str,
    default_brand_id: str | None,
    targets: Sequence[str] = (),
    refreshed: bool = False,
    drift: Sequence[DriftItem] = (),
    plan_ttl: timedelta = timedelta(hours=24),
    git_commit: str | None = None,
) -> Plan:
    """Compare desired coupons with state and return the plan (design §2.2-2.3). Pure.

    Raises PlanError only for inputs that cannot be planned at all (duplicate addresses, a naive `now`); every
    per-coupon problem becomes a BLOCKED action so that all of them are shown at once.
    """
    if now.tzinfo is None:
        raise PlanError("make_plan needs an aware `now` (UTC)")
    by_address: dict[str, DesiredCoupon] = {}
    for coupon in desired:
        address = coupon.address
        if address in by_address:
            first = by_address[address]
            raise PlanError(f"{address} is declared twice: {first.source} and {coupon.source}")
        by_address[address] = coupon

    ctx = _Ctx(lineage=lineage, serial=serial, now=now, default_brand_id=default_brand_id)
    addresses = set(by_address) | set(state)
    if targets:
        for target in targets:
            if not any(target_matches(a, target) for a in addresses):
                ctx.plan_warnings.append(f"--target {target} matches no declared or managed coupon")
        addresses = {a for a in addresses if any(target_matches(a, t) for t in targets)}

    actions: list[Action] = []
    unchanged = 0
    for address in sorted(addresses):
        want = by_address.get(address)
        have = state.get(address)
        kind = want.kind if want is not None else have.kind if have is not None else None
        if kind == "ShopCoupon":
            action = _plan_shop(ctx, address, want, have)
        else:
            action = _plan_product(ctx, address, want, have)
        if action is None and want is not None and have is not None and want.protect != have.protect:
            action = _protect_only(address, want, have)
        if action is None:
            unchanged += 1
        else:
            if want is not None:
                action = replace(action, desired_digest=want.digest)
            actions.append(action)

    actions.sort(key=lambda a: (a.source.file if a.source else "\uffff", a.address))
    created = now.astimezone(UTC)
    return Plan(
        lineage=lineage,
        serial=serial,
        manifest_digest=manifest_digest,
        created_at=iso_utc(created),
        expires_at=iso_utc(created + plan_ttl),
        actions=tuple(actions),
        tool_version=tool_version,
        targets=tuple(targets),
        drift=tuple(drift),
        warnings=tuple(ctx.plan_warnings),
        refreshed=refreshed,
        git_commit=git_commit,
        unchanged=unchanged,
    )


def _protect_only(address: str, want: DesiredCoupon, have: ResourceState) -> Action:
    """Only `protect` changed: it lives in couponctl's state (design §1.2), so apply writes it without a call.

    Without this action a coupon declared `protect: true` later would keep `protect: false` in state, and its
    removal from the manifests would then not be blocked.
    """
    return Action(
        address=address,
        kind=want.kind,
        type=ActionType.UPDATE,
        before=have.upstream,
        after=want.body,
        changes=(FieldChange("protect", "change", have.protect, want.protect),),
        upstream_id=have.upstream_id,
        status_before=have.status,
        status_after=have.status,
        reason="protect is kept in couponctl's state: no upstream call",
        source=want.source,
        protect=want.protect,
        brand_id=have.brand_id,
    )


def _base(address: str, want: DesiredCoupon | None, have: ResourceState | None) -> dict[str, Any]:
    kind = want.kind if want is not None else have.kind  # type: ignore[union-attr]
    return {
        "address": address,
        "kind": kind,
        "before": have.upstream if have is not None else None,
        "after": want.body if want is not None else None,
        "upstream_id": have.upstream_id if have is not None else None,
        "status_before": have.status if have is not None else None,
        "source": want.source if want is not None else None,
        "desired_digest": None,  # filled in by make_plan for the addresses that get an action
        "protect": want.protect if want is not None else (have.protect if have is not None else False),
    }


# --------------------------------------------------------------------------------------------------- ShopCoupon


def _shop_status_call(out_coupon_id: str, status: int) -> Call:
    return Call(
        operation="shop.update_status", payload={"out_coupon_id": out_coupon_id, "status": status}, target=out_coupon_id
    )


def _status_change(before: int | None, after: int) -> FieldChange:
    return FieldChange(path="status", change="change" if before is not None else "add", before=before, after=after)


def _plan_shop(ctx: _Ctx, address: str, want: DesiredCoupon | None, have: ResourceState | None) -> Action | None:
    """The ShopCoupon table of design §2.2 (status machine: reference A.4.2)."""
    base = _base(address, want, have)
    if want is None:
        assert have is not None
        return _plan_shop_removed(address, have, base)

    wanted = SHOP_STATUS_BY_NAME[want.status]
    out_coupon_id = str(want.body["out_coupon_id"])
    base["status_after"] = str(wanted)
    base["upstream_id"] = out_coupon_id

    if have is None:
        path = kinds.shop_status_path(1, wanted) or ()
        add = Call(operation="shop.add", payload={"coupon": dict(want.body)}, target=out_coupon_id)
        calls = (add, *(_shop_status_call(out_coupon_id, s) for s in path))
        if want.protect and kinds.SHOP_VOID in path:
            return _blocked(base, (), "protect: true forbids voiding this coupon", PROTECT_REMEDY)
        error, warning = _window_problem(ctx, "ShopCoupon", want.body)
        if error:
            return _blocked(base, (), error, CLAIM_ENDED_REMEDY)
        reason = "created and activated" if wanted >= 2 else "created as a draft (status 1)"
        return Action(
            type=ActionType.CREATE,
            calls=calls,
            reason=reason,
            warnings=(warning,) if warning else (),
            **base,
        )

    found = _compare(kinds.SHOP_RULES, want, have.upstream)
    changes = found.changes
    notes = found.ignored
    try:
        current = int(have.upstream.get("status", 0))
    except (TypeError, ValueError):
        current = 0
    if current not in kinds.SHOP_STATUS_MEANING:
        return _blocked(
            base,
            changes,
            f"upstream status {have.upstream.get('status')!r} is unknown (reference A.4.2 documents 1-4)",
            "run `couponctl refresh` to re-read the coupon, then plan again",
        )

    identity = [c for c in changes if c.path in kinds.SHOP_RULES.immutable]
    if identity:
        return _blocked(
            base,
            _with_effect(changes, "blocked", "out_coupon_id is the coupon's identity"),
            f"out_coupon_id changed from {have.upstream_id!r} to {out_coupon_id!r}: that is a different coupon",
            "keep out_coupon_id, or declare the new coupon under a new name and remove this one",
        )

    if current in kinds.SHOP_TERMINAL:
        if changes or wanted != current:
            status_changes = (_status_change(current, wanted),) if wanted != current else ()
            word = kinds.SHOP_STATUS_MEANING[current]
            return _blocked(
                base,
                _with_effect(changes + status_changes, "blocked", f"terminal: status is {current} {word}"),
                f"the coupon is terminal (status {current}, {word}); nothing about it can change (reference A.4.2)",
                "declare the change under a new name (new out_coupon_id), and set this one's manifest back to "
                f"status: {_status_name(current)} with its current content, or remove it from the manifests",
            )
        return _unchanged(ctx, address, notes)

    maybe_path = kinds.shop_status_path(current, wanted)
    if maybe_path is None:  # 2 -> 1: an active coupon can never go back to editing (reference A.4.2)
        return _blocked(
            base,
            _with_effect(
                (*changes, _status_change(current, wanted)), "blocked", "status cannot go back from 2 to 1"
            ),
            "an active coupon (status 2) cannot go back to draft (status 1) (reference A.4.2)",
            "set status: active (or expired / voided); to edit the content, " + SHOP_ACTIVE_REMEDY,
        )
    path = maybe_path

    if current == 2 and changes:
        fields = ", ".join(c.path for c in changes)
        return _blocked(
            base,
            _with_effect(changes, "blocked", "status is 2 (active); content is editable only in status 1"),
            f"content differs ({fields}) but the coupon is active (status 2); `update` works only in status 1 "
            "(reference A.4.2)",
            SHOP_ACTIVE_REMEDY,
        )

    if want.protect and kinds.SHOP_VOID in path:
        return _blocked(
            base, (_status_change(current, wanted),), "protect: true forbids voiding this coupon", PROTECT_REMEDY
        )

    status_calls = tuple(_shop_status_call(out_coupon_id, s) for s in path)
    status_changes = (_status_change(current, wanted),) if path else ()
    warnings = list(notes)
    activates = 2 in path
    if changes or activates:
        error, warning = _window_problem(ctx, "ShopCoupon", want.body)
        if error:
            return _blocked(base, (*changes, *status_changes), error, CLAIM_ENDED_REMEDY)
        if warning:
            warnings.append(warning)

    # current == 1: update the whole coupon, then move its status (design §2.4: update before update_status)
    if changes:
        body = _keep_ignored(want.body, have.upstream, want.ignore_drift)
        update = Call(operation="shop.update", payload={"coupon": body}, target=out_coupon_id)
        return Action(
            type=ActionType.UPDATE,
            changes=(*changes, *status_changes),
            calls=(update, *status_calls),
            reason="content is editable while status is 1",
            warnings=tuple(warnings),
            **base,
        )
    if not path:
        return _unchanged(ctx, address, notes)
    if wanted == kinds.SHOP_VOID and current == 2:
        return Action(
            type=ActionType.DEACTIVATE,
            changes=status_changes,
            calls=status_calls,
            reason="voided: update_status(4) is irreversible (reference A.4.2)",
            warnings=tuple(warnings),
            **base,
        )
    return Action(
        type=ActionType.TRANSITION,
        changes=status_changes,
        calls=status_calls,
        reason="status " + " -> ".join(str(s) for s in (current, *path)),
        warnings=tuple(warnings),
        **base,
    )


def _status_name(status: int) -> str:
    return SHOP_STATUS_NAME.get(status, str(status))


def _plan_shop_removed(address: str, have: ResourceState, base: dict[str, Any]) -> Action:
    try:
        current = int(have.upstream.get("status", 0))
    except (TypeError, ValueError):
        current = 0
    base["upstream_id"] = have.upstream_id
    if current == 2:
        if have.protect:
            return _blocked(
                base,
                (_status_change(2, 4),),
                "removed from the manifests, but protect: true (in state) forbids voiding it",
                PROTECT_REMOVED_REMEDY,
            )
        return Action(
            type=ActionType.DEACTIVATE,
            changes=(_status_change(2, 4),),
            calls=(_shop_status_call(have.upstream_id, 4),),
            status_after="4",
            reason="removed from the manifests: voided with update_status(4), irreversible (reference A.4.2)",
            **base,
        )
    if current == 1:
        return Action(
            type=ActionType.FORGET,
            reason="removed from the manifests while in status 1 (never active)",
            warnings=(
                "the shop coupon API has no delete (reference A.6): the coupon stays upstream in status 1 "
                "(editing, not claimable) and is only dropped from state",
            ),
            **base,
        )
    if current in kinds.SHOP_TERMINAL:
        return Action(
            type=ActionType.FORGET,
            reason=f"removed from the manifests; already terminal upstream (status {current}, "
            f"{kinds.SHOP_STATUS_MEANING[current]}): dropped from state, no call",
            **base,
        )
    return _blocked(
        base,
        (),
        f"removed from the manifests, but upstream status {have.upstream.get('status')!r} is unknown",
        "run `couponctl refresh` to re-read the coupon, then plan again",
    )


def _blocked(base: Mapping[str, Any], changes: Sequence[FieldChange], reason: str, remedy: str) -> Action:
    return Action(type=ActionType.BLOCKED, changes=tuple(changes), reason=reason, remedy=remedy, **base)


def _unchanged(ctx: _Ctx, address: str, notes: Sequence[str]) -> Action | None:
    """No action; differences in ignored fields become plan warnings (said only when they differ)."""
    for note in notes:
        ctx.plan_warnings.append(f"{address}: {note}")
    return None


# --------------------------------------------------------------------------------------------------- ProductCoupon


def _plan_product(ctx: _Ctx, address: str, want: DesiredCoupon | None, have: ResourceState | None) -> Action | None:
    """The ProductCoupon table of design §2.2 (state machine: reference B.10)."""
    base = _base(address, want, have)
    rules = kinds.PRODUCT_RULES
    brand = (want.brand_id if want is not None else None) or (have.brand_id if have else None) or ctx.default_brand_id
    if want is not None and want.brand_id is None and ctx.default_brand_id is not None:
        brand = ctx.default_brand_id
    base["brand_id"] = brand

    if want is None:
        assert have is not None
        return _plan_product_removed(ctx, address, have, base, brand=brand)
    base["status_after"] = kinds.PRODUCT_EFFECTIVE
    if brand is None:
        return _blocked(
            base,
            (),
            "no brand_id: the partner API needs one on every call (reference B.0)",
            "set brand_id in the manifest, or [wechatpay] brand_id in couponctl.toml",
        )

    def create_call(action_key: str) -> Call:
        payload = _numbered(
            ctx, address, "product.create", {"brand_id": brand, **want.body}, target=action_key, state=have
        )
        return Call(operation="product.create", payload=payload, target=None, out_request_no=payload["out_request_no"])

    if have is None:
        error, warning = _window_problem(ctx, "ProductCoupon", want.body)
        if error:
            return _blocked(base, (), error, CLAIM_ENDED_REMEDY)
        base["status_after"] = None  # AUDITING or EFFECTIVE: upstream decides (reference B.5)
        return Action(
            type=ActionType.CREATE,
            calls=(create_call("new"),),
            reason="created with its first stock",
            warnings=(warning,) if warning else (),
            **base,
        )

    current = have.status
    found = _compare(rules, want, have.upstream)
    changes = list(found.changes)
    if have.brand_id is not None and brand != have.brand_id:
        changes.insert(0, FieldChange(path="brand_id", change="change", before=have.brand_id, after=brand))
    warnings = list(found.ignored)

    if current == kinds.PRODUCT_DEACTIVATED:
        # design §2.2: DEACTIVATED upstream but still declared -> replace (create new); nothing to deactivate.
        # protect does not block it: it guards against destroying a coupon, and nothing is destroyed here.
        error, warning = _window_problem(ctx, "ProductCoupon", want.body)
        if error:
            return _blocked(base, changes, error, CLAIM_ENDED_REMEDY)
        if warning:
            warnings.append(warning)
        return Action(
            type=ActionType.REPLACE,
            changes=_with_effect(changes, "update", None),
            calls=(create_call(f"recreate:{have.upstream_id}"),),
            reason=f"{have.upstream_id} is DEACTIVATED upstream (terminal) but still declared: a new coupon is "
            "created; nothing is deactivated",
            warnings=tuple(warnings),
            **base,
        )

    if not changes:
        return _unchanged(ctx, address, found.ignored)

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
    if not (replacing or display or stock):
        return _unchanged(ctx, address, found.ignored)

    if replacing:
        why = "forces replacement: fixed at creation (reference B.2)"
        marked = (
            *_with_effect(replacing, "forces_replacement", why),
            *_with_effect(display, "update", None),
            *_with_effect(stock, "update", "sent with the new coupon's first stock"),
        )
        if base["protect"]:
            return _blocked(base, marked, "protect: true forbids replacing this coupon", PROTECT_REMEDY)
        if current == kinds.PRODUCT_AUDITING:
            return Action(
                type=ActionType.DEFERRED,
                changes=_with_effect(marked, "deferred", "waiting for review"),
                reason="waiting for review: the old coupon can be deactivated only once EFFECTIVE (reference B.10)",
                warnings=tuple(warnings),
                **base,
            )
        if current != kinds.PRODUCT_EFFECTIVE:
            return _unknown_product_state(base, marked, current)
        error, warning = _window_problem(ctx, "ProductCoupon", want.body)
        if error:
            return _blocked(base, marked, error, CLAIM_ENDED_REMEDY)
        if warning:
            warnings.append(warning)
        old_id = have.upstream_id
        deactivate = _numbered(
            ctx,
            address,
            "product.deactivate",
            {"deactivate_reason": _reason(f"replaced by couponctl: {address}"), "brand_id": have.brand_id or brand},
            target=old_id,
            state=have,
        )
        return Action(
            type=ActionType.REPLACE,
            changes=marked,
            calls=(
                create_call(f"replace:{old_id}"),
                Call(
                    operation="product.deactivate",
                    payload=deactivate,
                    target=old_id,
                    out_request_no=deactivate["out_request_no"],
                    role="old",
                ),
            ),
            reason="create-before-destroy: the new coupon is created before the old one is deactivated",
            warnings=tuple(warnings),
            **base,
        )

    stock_marked = _with_effect(
        stock, "not_applied", "stock changes after creation go through the stock APIs (reference B.4), not applied"
    )
    if stock and display:
        warnings.append("stock differs: not applied (change stocks with the WeChat Pay stock APIs)")
    if display:
        if current == kinds.PRODUCT_AUDITING:
            return Action(
                type=ActionType.DEFERRED,
                changes=(*_with_effect(display, "deferred", "under review"), *stock_marked),
                reason="waiting for review: display_info can be changed only once EFFECTIVE (reference B.7)",
                warnings=tuple(warnings),
                **base,
            )
        if current != kinds.PRODUCT_EFFECTIVE:
            return _unknown_product_state(base, (*display, *stock_marked), current)
        new_display = _keep_ignored(want.body, have.upstream, want.ignore_drift).get("display_info")
        payload = _numbered(
            ctx,
            address,
            "product.patch",
            {"display_info": new_display, "brand_id": brand},
            target=have.upstream_id,
            state=have,
        )
        return Action(
            type=ActionType.UPDATE,
            changes=(*_with_effect(display, "update", None), *stock_marked),
            calls=(
                Call(
                    operation="product.patch",
                    payload=payload,
                    target=have.upstream_id,
                    out_request_no=payload["out_request_no"],
                ),
            ),
            reason="PATCH with the whole new display_info (reference B.7)",
            warnings=tuple(warnings),
            **base,
        )
    return Action(
        type=ActionType.NOT_APPLIED,
        changes=stock_marked,
        reason="only the stock differs; stock changes after creation use the stock APIs (reference B.4), "
        "which couponctl does not call",
        warnings=tuple(warnings),
        **base,
    )


def _reason(text: str) -> str:
    return text[:DEACTIVATE_REASON_MAX]


def _unknown_product_state(base: Mapping[str, Any], changes: Sequence[FieldChange], current: str) -> Action:
    return _blocked(
        base,
        changes,
        f"upstream state {current!r} is unknown (reference B.10: AUDITING, EFFECTIVE, DEACTIVATED)",
        "run `couponctl refresh` to re-read the coupon, then plan again",
    )


def _plan_product_removed(
    ctx: _Ctx, address: str, have: ResourceState, base: dict[str, Any], *, brand: str | None
) -> Action:
    current = have.status
    if current == kinds.PRODUCT_DEACTIVATED:
        return Action(
            type=ActionType.FORGET,
            reason="removed from the manifests; already DEACTIVATED upstream (terminal): dropped from state, no call",
            **base,
        )
    if have.protect:
        return _blocked(
            base,
            (),
            "removed from the manifests, but protect: true (in state) forbids deactivating it",
            PROTECT_REMOVED_REMEDY,
        )
    if current == kinds.PRODUCT_AUDITING:
        return Action(
            type=ActionType.DEFERRED,
            reason="removed from the manifests, but the coupon is under review: deactivate works only once "
            "EFFECTIVE (reference B.8)",
            **base,
        )
    if current != kinds.PRODUCT_EFFECTIVE:
        return _unknown_product_state(base, (), current)
    if brand is None:
        return _blocked(
            base,
            (),
            "no brand_id in state or configuration: the partner API needs one (reference B.0)",
            "set [wechatpay] brand_id in couponctl.toml",
        )
    payload = _numbered(
        ctx,
        address,
        "product.deactivate",
        {"deactivate_reason": _reason(f"removed from manifests by couponctl: {address}"), "brand_id": brand},
        target=have.upstream_id,
        state=have,
    )
    return Action(
        type=ActionType.DEACTIVATE,
        status_after=kinds.PRODUCT_DEACTIVATED,
        calls=(
            Call(
                operation="product.deactivate",
                payload=payload,
                target=have.upstream_id,
                out_request_no=payload["out_request_no"],
            ),
        ),
        reason="removed from the manifests: deactivated, irreversible; all its stocks stop (reference B.8)",
        **{k: v for k, v in base.items() if k != "status_after"},
    )
