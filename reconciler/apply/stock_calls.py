"""Pure: the ids a stock or bundle call needs at apply time, and how its intent row remembers them (decision D29).

A plan cannot know the product_coupon_id of a coupon that the same action creates, nor the stock_id of a stock it
adds: such calls carry `target=None` / `stock_id=None`, and the applier fills them in from the resource the previous
call left (`resolved`). The intent journal has one `target` column; for a stock call it holds the call's path
relative to the coupons collection plus the stock's declared name (`1000123/stocks/1000123002#weekend`), so a crashed
stock call can be re-sent with the same number and recorded under its name (`call_of_intent`, used by settle.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from reconciler.errors import UpstreamError
from reconciler.plan.model import Action, Call, Operation
from reconciler.resources import ResourceState
from reconciler.stocks import first_stock

STOCK_MAPS = {"stock": ("stocks", "stock_id"), "bundle": ("stock_bundles", "stock_bundle_id")}
DEPOSED_STOCKS = "deposed_stocks"  # extra key: stocks replaced by a new one of the same name, not yet deactivated
ADDS = frozenset({"product.stock.add", "product.bundle.add"})


def is_stock_call(operation: str) -> bool:
    return operation.startswith(("product.stock.", "product.bundle."))


def family_of(operation: str) -> str:
    """ "stock" or "bundle": which map of the coupon body a call concerns."""
    return "bundle" if operation.startswith("product.bundle.") else "stock"


def named(upstream: Mapping[str, Any], family: str) -> dict[str, dict[str, Any]]:
    """The coupon's stocks (or bundles) by declared name, as state holds them (a copy)."""
    key = STOCK_MAPS[family][0]
    raw = upstream.get(key)
    return {str(k): dict(v) for k, v in raw.items() if isinstance(v, Mapping)} if isinstance(raw, Mapping) else {}


def resolved(call: Call, previous: ResourceState | None, address: str) -> Call:
    """`call` with the coupon id and the stock id it lacks taken from the resource the previous call left."""
    if not is_stock_call(call.operation):
        return call
    if call.target is None:
        if previous is None or not previous.upstream_id:
            raise UpstreamError(
                call=call.operation,
                address=address,
                message="no product coupon to add to: the create before it did not record one",
            )
        call = replace(call, target=previous.upstream_id)
    if call.stock_id is None and call.operation not in ADDS:
        stock_id = _known_id(call, previous)
        if stock_id is None:
            raise UpstreamError(
                call=call.operation,
                address=address,
                message=f"state knows no upstream id for stock {call.stock_name!r}: run `couponctl refresh`",
            )
        call = replace(call, stock_id=stock_id)
    return call


def _known_id(call: Call, previous: ResourceState | None) -> str | None:
    if previous is None or call.stock_name is None:
        return None
    family = family_of(call.operation)
    if call.role == "old":  # the stock a same-named new one replaced (create-before-destroy)
        for marker in deposed_stocks(previous):
            if marker.get("name") == call.stock_name and marker.get("family", "stock") == family:
                return str(marker["id"])
        return None
    entry = named(previous.upstream, family).get(call.stock_name)
    value = entry.get(STOCK_MAPS[family][1]) if entry else None
    return str(value) if value else None


def deposed_stocks(resource: ResourceState) -> list[dict[str, Any]]:
    """The replaced stocks whose deactivation has not landed yet: `{"name", "id", "family"}` each."""
    raw = resource.extra.get(DEPOSED_STOCKS) if resource.extra else None
    return [dict(m) for m in raw if isinstance(m, Mapping)] if isinstance(raw, list) else []


def intent_target(call: Call, action: Action | None = None) -> str | None:
    """What the intent row's `target` column records for `call` (see the module docstring). A `product.create` has
    no target; it records `#<name>` of the stock it sends (the call's, else the first entry of the action's desired
    body, decision D29), so a create left open by a crash is settled under that name, not under `main`."""
    if call.operation == "product.create":
        name = call.stock_name
        if name is None and action is not None and action.after:
            first = first_stock(action.after)
            name = first[1] if first is not None else None
        return f"#{name}" if name else None
    if not is_stock_call(call.operation):
        return call.target
    collection = "stock-bundles" if family_of(call.operation) == "bundle" else "stocks"
    where = f"{call.target}/{collection}" + (f"/{call.stock_id}" if call.stock_id else "")
    return where + (f"#{call.stock_name}" if call.stock_name else "")


def call_of_intent(operation: str, target: str | None, out_request_no: str | None, payload: Mapping[str, Any]) -> Call:
    """The call an open intent was about to make, with its stock name and id when it is a stock call."""
    op: Operation = operation  # type: ignore[assignment]
    if operation == "product.create" and target and target.startswith("#"):
        return Call(operation=op, payload=payload, target=None, out_request_no=out_request_no, stock_name=target[1:])
    if not is_stock_call(operation) or not target:
        return Call(operation=op, payload=payload, target=target, out_request_no=out_request_no)
    where, _, name = target.partition("#")
    parts = where.split("/")
    coupon_id = parts[0]
    stock_id = parts[2] if len(parts) > 2 and parts[2] else None
    return Call(
        operation=op,
        payload=payload,
        target=coupon_id,
        out_request_no=out_request_no,
        stock_name=name or None,
        stock_id=stock_id,
    )
