"""Pure: the resource state a successful call leaves behind.

Shop calls answer only `{"errcode": 0}`, so the new last-known upstream object is what we sent (plus the status
machine of reference A.4.2). WeChat Pay calls return the entity, which is recorded as returned; the `stock` /
`stock_bundle` of the create response is recorded as the first entry of the `stocks` / `stock_bundles` map
(decision D29) and kept because GET never returns it (reference B.2).

A product coupon replacement is create-before-destroy: after the create, the address points at the new coupon and
the old one is kept as `extra["deposed"]` until its deactivation lands (Terraform's "deposed object"); a crash in
between leaves the deposed id in state, and the next apply deactivates it before anything else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from reconciler.apply.code_outcome import after_code_batch
from reconciler.apply.stock_calls import is_stock_call
from reconciler.apply.stock_outcome import after_stock_call
from reconciler.plan.code_calls import UPLOAD_CODES
from reconciler.plan.kinds import SHOP_RULES, STOCK_KEYS
from reconciler.plan.model import Action, ActionType, Call
from reconciler.plan.request_numbers import create_generation
from reconciler.providers.base import CallResult
from reconciler.resources import ResourceState
from reconciler.stocks import DEFAULT_STOCK_NAME, SINGLE_TO_MAP, first_stock


@dataclass(frozen=True, slots=True)
class StateChange:
    """What to write after a call: `put` a resource, `remove` an address, or neither."""

    put: ResourceState | None = None
    remove: str | None = None


def state_after_call(
    action: Action,
    call: Call,
    result: CallResult,
    previous: ResourceState | None,
    now_iso: str,
    environment: str | None = None,
) -> StateChange:
    """The state change one successful call implies, given the resource as the previous call left it
    (`environment`: the selected one, whose name is part of create numbers, decision D26)."""
    op = call.operation
    if op == "shop.add":
        coupon = dict(call.payload["coupon"])
        coupon["status"] = 1
        return StateChange(put=_resource(action, call.out_coupon_id, coupon, previous, now_iso))
    if op == "shop.update":
        assert previous is not None, "shop.update needs a known coupon"
        coupon = dict(call.payload["coupon"])
        for key in SHOP_RULES.read_only:
            if key in previous.upstream:
                coupon[key] = previous.upstream[key]
        return StateChange(put=_resource(action, previous.upstream_id, coupon, previous, now_iso))
    if op == "shop.update_status":
        assert previous is not None, "shop.update_status needs a known coupon"
        coupon = dict(previous.upstream)
        coupon["status"] = int(call.payload["status"])
        if _is_destroy(action):
            return StateChange(remove=action.address)
        return StateChange(put=_resource(action, previous.upstream_id, coupon, previous, now_iso))
    if op == "shop.update_stock":  # reference A.6.6 [INF]: total_num = issued + received afterwards
        assert previous is not None, "shop.update_stock needs a known coupon"
        coupon = _with_shop_stock(previous.upstream, call.payload["coupon_stock"])
        return StateChange(put=_resource(action, previous.upstream_id, coupon, previous, now_iso))
    if op == "product.create":
        entity = _named_stock(dict(result.entity or {}), call.stock_name or _first_name(action), call.payload)
        new_id = str(result.upstream_id or entity.get("product_coupon_id", ""))
        extra: dict[str, Any] = {}
        if previous is not None and previous.upstream_id != new_id and previous.status != "DEACTIVATED":
            extra["deposed"] = {"product_coupon_id": previous.upstream_id, "brand_id": previous.brand_id}
        brand = str(call.payload.get("brand_id") or "")
        generation = create_generation(call.out_request_no, brand, action.address, environment)
        if generation is not None:  # decision D17: the next replacement creates with generation + 1
            extra["generation"] = generation
        resource = _resource(action, new_id, entity, None, now_iso, extra=extra)
        if previous is not None:
            resource = replace(resource, created_at=previous.created_at or now_iso)
        return StateChange(put=resource)
    if op == "product.patch":
        assert previous is not None, "product.patch needs a known coupon"
        entity = _keep_stock(dict(result.entity or {}), previous.upstream)
        return StateChange(put=_resource(action, previous.upstream_id, entity, previous, now_iso))
    if op == "product.deactivate":
        assert previous is not None, "product.deactivate needs a known coupon"
        if call.role == "old":  # the replaced coupon: drop the deposed marker, keep the new one
            extra = {k: v for k, v in previous.extra.items() if k != "deposed"}
            return StateChange(put=replace(previous, extra=extra, updated_at=now_iso))
        if _is_destroy(action):
            return StateChange(remove=action.address)
        entity = _keep_stock(dict(result.entity or {}), previous.upstream)
        return StateChange(put=_resource(action, previous.upstream_id, entity, previous, now_iso))
    if op == UPLOAD_CODES:  # a code batch landed (decision D35): recorded at once, counts and digests only
        assert previous is not None, f"{op} needs a known coupon"
        return StateChange(put=after_code_batch(call, previous, now_iso))
    if is_stock_call(op):  # stocks and bundles (decision D29): `stock_outcome.py`
        assert previous is not None, f"{op} needs a known coupon"
        upstream, extra = after_stock_call(call, result, previous, environment)
        return StateChange(
            put=_resource(action, previous.upstream_id, upstream, replace(previous, extra=extra), now_iso)
        )
    raise ValueError(f"unknown operation {op}")


def with_source(resource: ResourceState, action: Action) -> ResourceState:
    """`resource` with the action's manifest file recorded as its source (`plan PATH` removes only coupons whose
    source lies within PATH), for the call-less writes: a declared move, an adoption, a protect-only update."""
    if not action.manifest_file or resource.extra.get("source") == action.manifest_file:
        return resource
    return replace(resource, extra={**resource.extra, "source": action.manifest_file})


def _is_destroy(action: Action) -> bool:
    """Removed from manifests: once the coupon is voided / deactivated, state forgets it."""
    return action.type is ActionType.DEACTIVATE and action.after is None


def _with_shop_stock(upstream: Mapping[str, Any], sent: Mapping[str, Any]) -> dict[str, Any]:
    """The shop coupon after `update_coupon_stock` landed: the stock as sent (absolute values) and the total they
    make, `coupon_info.receive_info.total_num` = issued_num + receive_num (reference A.3, A.6.6)."""
    info = dict(sent["stock_info"])
    coupon = dict(upstream)
    coupon_info = dict(coupon.get("coupon_info") or {})
    receive_info = dict(coupon_info.get("receive_info") or {})
    receive_info["total_num"] = int(info["issued_num"]) + int(info["receive_num"])
    coupon_info["receive_info"] = receive_info
    coupon["coupon_info"] = coupon_info
    stock = dict(coupon.get("coupon_stock") or {"out_coupon_id": sent["out_coupon_id"]})
    stock["stock_info"] = info
    coupon["coupon_stock"] = stock
    return coupon


def _first_name(action: Action) -> str:
    """The name of the stock a create sends: the first of the desired body's map, else `main` (decision D29)."""
    first = first_stock(action.after) if action.after else None
    return first[1] if first is not None else DEFAULT_STOCK_NAME


def _named_stock(entity: dict[str, Any], name: str, sent: Mapping[str, Any]) -> dict[str, Any]:
    """A create answer with its `stock` / `stock_bundle` moved, in place, into `stocks` / `stock_bundles` as `name`:
    what was sent, overlaid with what the answer returned (a bundle's answer is only `stock_bundle_id` and
    `stock_list`, reference B.4)."""
    if not any(key in entity for key in SINGLE_TO_MAP):
        return entity
    out: dict[str, Any] = {}
    for key, value in entity.items():
        if key in SINGLE_TO_MAP:
            request = sent.get(key)
            merged = {**request, **value} if isinstance(request, Mapping) and isinstance(value, Mapping) else value
            out[SINGLE_TO_MAP[key]] = {name: merged}
        else:
            out[key] = value
    return out


def _keep_stock(entity: dict[str, Any], previous: Mapping[str, Any]) -> dict[str, Any]:
    for key in STOCK_KEYS:
        if key not in entity and key in previous:
            entity[key] = previous[key]
    return entity


def _resource(
    action: Action,
    upstream_id: str,
    upstream: Mapping[str, Any],
    previous: ResourceState | None,
    now_iso: str,
    *,
    extra: Mapping[str, Any] | None = None,
) -> ResourceState:
    kept_extra = dict(previous.extra) if previous is not None else {}
    if extra is not None:
        kept_extra.update(extra)
    if action.manifest_file:  # where the coupon is declared: `plan PATH` removes only coupons under PATH
        kept_extra["source"] = action.manifest_file
    return ResourceState(
        address=action.address,
        kind=action.kind,
        upstream_id=upstream_id,
        upstream=upstream,
        desired_digest=action.desired_digest or (previous.desired_digest if previous else ""),
        protect=action.protect,
        brand_id=action.brand_id or (previous.brand_id if previous else None),
        created_at=previous.created_at if previous is not None and previous.created_at else now_iso,
        updated_at=now_iso,
        extra=kept_extra,
    )
