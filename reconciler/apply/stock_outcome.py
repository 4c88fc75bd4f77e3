"""Pure: a product coupon's stocks and bundles after a successful stock or bundle call (decision D29).

State keeps, per declared name, the last-known upstream stock: what was sent plus what upstream answered
(`stock_id`, `state`, `sent_count_info`, ...); a bundle keeps `stock_bundle_id` and its per-step `stock_list`.

- add: `stocks[name]` = sent + answer. When the name already held another live stock (a replacement,
  create-before-destroy at stock level) the old one is remembered in `extra["deposed_stocks"]` (a bundle with its
  step stocks) until its deactivation lands, so a crash in between deactivates it on the next apply (like a
  deposed coupon). A replayed add (same number, reference B.9) answers the first stock: that stock is recorded,
  nothing else is. The generation the add's number was derived for is kept in `extra["stock_generations"]` (the
  planner numbers the next add of the name from it).
- patch: the entry merged with what was sent and the answer; update_budget: the new figure, then the answer.
- deactivate: a deposed stock leaves `deposed_stocks`; the declared stock of that id leaves the map; a step of a
  bundle is marked DEACTIVATED and the bundle leaves the map once all its steps are.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.apply.stock_calls import DEPOSED_STOCKS, STOCK_MAPS, deposed_stocks, family_of, named
from reconciler.apply.store_outcome import STORE_VERBS, with_batch
from reconciler.plan.model import Call
from reconciler.plan.request_numbers import stock_add_generation
from reconciler.providers.base import CallResult
from reconciler.resources import ResourceState

BODY_KEYS = {"stock": "stock", "bundle": "stock_bundle"}  # the add request's field holding the stock (bundle)
GENERATIONS = "stock_generations"  # extra key: the generation of each name's latest stock (decision D29)
REQUEST_ONLY = frozenset({"out_request_no", "brand_id"})  # sent with every call, not a field of the stock
BUDGET_FIELDS = {"MAX_COUNT": "max_count", "MAX_COUNT_PER_DAY": "max_count_per_day"}  # update_mode -> rule field


def after_stock_call(
    call: Call, result: CallResult, previous: ResourceState, environment: str | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The coupon's new upstream object and extra after `call` landed with `result` (`environment`: the selected
    one, part of add numbers, decision D26)."""
    family = family_of(call.operation)
    key, id_key = STOCK_MAPS[family]
    upstream = dict(previous.upstream)
    extra = dict(previous.extra)
    entries = named(upstream, family)
    answer = dict(result.entity or {})
    verb = call.operation.rsplit(".", 1)[1]
    name = call.stock_name or _name_of(entries, id_key, call.stock_id) or str(answer.get(id_key) or "")
    old = entries.get(name, {})
    if verb == "add":
        body = call.payload.get(BODY_KEYS[family])  # `{out_request_no, brand_id, stock}` (reference B.4)
        sent = (
            dict(body)
            if isinstance(body, Mapping)
            else {k: v for k, v in call.payload.items() if k not in REQUEST_ONLY}
        )
        new = {**sent, **answer}
        old_id = old.get(id_key)
        if old_id and str(old_id) != str(new.get(id_key)) and old.get("state") != "DEACTIVATED":
            marker: dict[str, Any] = {"name": name, "id": str(old_id), "family": family}
            if family == "bundle":  # no API deactivates a bundle: its step stocks are deactivated one by one
                marker["steps"] = [
                    str(s.get("stock_id")) for s in old.get("stock_list") or [] if isinstance(s, Mapping)
                ]
            extra[DEPOSED_STOCKS] = [m for m in deposed_stocks(previous) if m.get("id") != str(old_id)] + [marker]
        entries[name] = new
        extra[GENERATIONS] = {**_generations(previous), name: _generation(call, previous, name, family, environment)}
    elif verb == "patch":
        sent = {k: v for k, v in call.payload.items() if k not in REQUEST_ONLY}
        entries[name] = {**old, **sent, **answer}
    elif verb == "update_budget":
        entries[name] = {**_with_budget(old, call.payload), **answer}
    elif verb in STORE_VERBS:  # a store association batch (decision D34): recorded at once
        entries[name] = with_batch(old, call, answer)
    elif verb == "deactivate":
        return _deactivated(upstream, extra, previous, name, str(call.stock_id or ""), answer)
    else:
        raise ValueError(f"unknown operation {call.operation}")
    upstream[key] = entries
    if not extra.get(DEPOSED_STOCKS):
        extra.pop(DEPOSED_STOCKS, None)
    return upstream, extra


def _generations(resource: ResourceState) -> dict[str, int]:
    raw = resource.extra.get(GENERATIONS) if resource.extra else None
    return {str(k): int(v) for k, v in raw.items() if isinstance(v, int)} if isinstance(raw, Mapping) else {}


def _generation(call: Call, previous: ResourceState, name: str, family: str, environment: str | None) -> int:
    """The stock generation the add's number was derived for (decision D29), so the next add of this name (after
    a replacement or a removal) takes the next one; one more than recorded when the number is not a D29 one."""
    coupon_generation = previous.extra.get("generation") if previous.extra else None
    found = stock_add_generation(
        call.out_request_no,
        str(call.payload.get("brand_id") or previous.brand_id or ""),
        previous.address,
        name,
        coupon_generation if isinstance(coupon_generation, int) else 0,
        environment,
        bundle=family == "bundle",
    )
    if found is not None:
        return found
    recorded = _generations(previous).get(name)
    return 0 if recorded is None else recorded + 1


def _name_of(entries: Mapping[str, Mapping[str, Any]], id_key: str, stock_id: str | None) -> str | None:
    if not stock_id:
        return None
    return next((n for n, e in entries.items() if str(e.get(id_key)) == stock_id), None)


def _with_budget(stock: Mapping[str, Any], payload: Mapping[str, Any]) -> dict[str, Any]:
    """The stock with the budget figure an update-budget call set (`update_mode` names the dimension)."""
    field = BUDGET_FIELDS.get(str(payload.get("update_mode")))
    if field is None:
        return dict(stock)
    target = payload.get(f"target_{field}")
    if target is None:
        return dict(stock)
    rule = dict(stock.get("stock_send_rule") or {})
    rule[field] = target
    return {**stock, "stock_send_rule": rule}


def _deactivated(
    upstream: dict[str, Any],
    extra: dict[str, Any],
    previous: ResourceState,
    name: str,
    stock_id: str,
    answer: Mapping[str, Any],
) -> tuple[dict[str, Any], dict[str, Any]]:
    markers = deposed_stocks(previous)
    if any(m.get("id") == stock_id or stock_id in (m.get("steps") or []) for m in markers):
        extra[DEPOSED_STOCKS] = _without_deposed(markers, stock_id)  # the old half of a stock replacement
    else:
        stocks = named(upstream, "stock")
        entry = stocks.get(name)
        if entry is None or str(entry.get("stock_id")) != stock_id:
            entry_name = _name_of(stocks, "stock_id", stock_id)
            name, entry = (entry_name, stocks[entry_name]) if entry_name else (name, None)
        if entry is not None:
            del stocks[name]  # removed from the manifest and deactivated by couponctl: state forgets it
            upstream["stocks"] = stocks
        else:
            upstream = _bundle_step_deactivated(upstream, stock_id, answer)
    if not extra.get(DEPOSED_STOCKS):
        extra.pop(DEPOSED_STOCKS, None)
    return upstream, extra


def _without_deposed(markers: list[dict[str, Any]], stock_id: str) -> list[dict[str, Any]]:
    """The markers once `stock_id` is deactivated: a stock's marker goes; a bundle's loses that step, and goes with
    its last one."""
    out = []
    for marker in markers:
        if marker.get("id") == stock_id:
            continue
        steps = [s for s in marker.get("steps") or [] if s != stock_id]
        if "steps" in marker and not steps:
            continue
        out.append({**marker, "steps": steps} if "steps" in marker else marker)
    return out


def _bundle_step_deactivated(upstream: dict[str, Any], stock_id: str, answer: Mapping[str, Any]) -> dict[str, Any]:
    """A step stock of a removed bundle deactivated: marked so; the bundle leaves state once all its steps are."""
    bundles = named(upstream, "bundle")
    for bundle_name, bundle in bundles.items():
        steps = [dict(s) for s in bundle.get("stock_list") or [] if isinstance(s, Mapping)]
        if not any(str(s.get("stock_id")) == stock_id for s in steps):
            continue
        steps = [{**s, **answer, "state": "DEACTIVATED"} if str(s.get("stock_id")) == stock_id else s for s in steps]
        if all(s.get("state") == "DEACTIVATED" for s in steps):
            del bundles[bundle_name]
        else:
            bundles[bundle_name] = {**bundle, "stock_list": steps}
        return {**upstream, "stock_bundles": bundles}
    return upstream
