"""The store association calls of a SPECIFIC stock (issue 17 item 2, decision D34; reference B.1, B.4). Pure.

The desired stores (`stocks.<name>.stores`, sorted ids) are compared with the ids state last knew upstream (the same
field in state, written by each landed batch and by refresh's `associated-stores` read). The ids to add are sent in
`product.stock.associate_stores` calls, the ids to remove in `product.stock.disassociate_stores` calls, each of at
most `STORE_BATCH_MAX` ids (the documented maximum per call, docs 4015781302 / 4015781537), in sorted order.

Body: `{brand_id, store_list: [{store_id}, ...]}` [D; 3P SKIT `AssociateMarketingPartnerProductCouponStockToStores
Request`]. The API takes no request number: associating an associated store again changes nothing [INF], so a
re-sent batch is harmless. Each call still carries a deterministic journal number (`Call.out_request_no`, never sent)
derived from what survives a lost state, never the lineage: sha256("stores", [environment], address, stock name,
operation, batch index, batch digest). A resumed apply finds the landed batches in state (recorded one by one) and
plans only the rest; a crashed batch is settled by re-sending the same body.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from reconciler.plan.model import Call, FieldChange, Operation
from reconciler.plan.request_numbers import REQUEST_NO_PREFIX
from reconciler.plan.stock_calls import Calls

STORE_BATCH_MAX = 200  # reference B.1: "单次最多可批量关联200个门店" (associate and disassociate) [D]
ASSOCIATE: Operation = "product.stock.associate_stores"
DISASSOCIATE: Operation = "product.stock.disassociate_stores"
STORE_OPERATIONS = frozenset({ASSOCIATE, DISASSOCIATE})
STORES = "stores"
SHOWN_IDS = 3  # ids a plan line shows before "…"


def without_stores(stock: Mapping[str, Any]) -> dict[str, Any]:
    """The stock as the create / add / PATCH requests and the field diff see it: without its `stores`."""
    return {k: v for k, v in stock.items() if k != STORES}


def stores_of(stock: Mapping[str, Any] | None) -> list[str]:
    found = stock.get(STORES) if stock is not None else None
    return sorted(str(s) for s in found) if isinstance(found, list) else []


def batches(ids: Sequence[str], size: int = STORE_BATCH_MAX) -> list[list[str]]:
    return [list(ids[i : i + size]) for i in range(0, len(ids), size)]


def store_request_no(
    address: str, stock_name: str, operation: str, index: int, ids: Sequence[str], environment: str | None = None
) -> str:
    """The journal number of one batch (see the module docstring)."""
    scope = ("stores",) if environment is None else ("stores", environment)
    batch_digest = hashlib.sha256("\n".join(ids).encode("utf-8")).hexdigest()
    parts = (*scope, address, stock_name, operation, str(index), batch_digest)
    return REQUEST_NO_PREFIX + hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()[:30]


def summary(ids: Sequence[str]) -> str:
    """`1,200 stores: 100000001, 100000002, 100000003, …` (what a plan shows of a long list)."""
    head = ", ".join(ids[:SHOWN_IDS]) + (", …" if len(ids) > SHOWN_IDS else "")
    return f"{len(ids):,} store{'s' if len(ids) != 1 else ''}" + (f": {head}" if ids else "")


def store_plan(
    calls: Calls, name: str, stock_id: str | None, want: Mapping[str, Any], have: Mapping[str, Any] | None
) -> tuple[list[FieldChange], list[Call]]:
    """The change line and the batched calls that bring stock `name`'s stores from `have` (None: a stock this action
    adds, which has none yet) to `want`. `stock_id` None: the applier takes it from state by name."""
    wanted = stores_of(want)
    known = stores_of(have)
    if wanted == known:
        return [], []
    wanted_set, known_set = set(wanted), set(known)
    added = [s for s in wanted if s not in known_set]
    removed = [s for s in known if s not in wanted_set]
    out: list[Call] = []
    for operation, ids in ((ASSOCIATE, added), (DISASSOCIATE, removed)):
        for index, batch in enumerate(batches(ids)):
            number = store_request_no(calls.address, name, operation, index, batch, calls.ctx.environment)
            payload = {"brand_id": calls.brand, "store_list": [{"store_id": s} for s in batch]}
            out.append(Call(operation, payload, calls.coupon_id, number, stock_name=name, stock_id=stock_id))
    parts = []
    if added:
        parts.append(f"+{len(added):,} ({', '.join(added[:SHOWN_IDS])}{', …' if len(added) > SHOWN_IDS else ''})")
    if removed:
        parts.append(f"-{len(removed):,} ({', '.join(removed[:SHOWN_IDS])}{', …' if len(removed) > SHOWN_IDS else ''})")
    n_assoc = sum(1 for c in out if c.operation == ASSOCIATE)
    n_dis = len(out) - n_assoc
    call_text = ", ".join(
        f"{n} call{'s' if n != 1 else ''}: {op}" for n, op in ((n_assoc, ASSOCIATE), (n_dis, DISASSOCIATE)) if n
    )
    after = f"{len(wanted):,} stores: {'; '.join(parts)} ({call_text})"
    change = FieldChange(f"stocks.{name}.{STORES}", "change", f"{len(known):,} stores", after, "update", None)
    return [change], out


def stores_drift(name: str, before: Mapping[str, Any], after: Mapping[str, Any]) -> list[FieldChange]:
    """Stores changed outside couponctl: one summarised change (state's ids -> the ids `associated-stores` read)."""
    if STORES not in before or STORES not in after:
        return []
    was, now = stores_of(before), stores_of(after)
    if was == now:
        return []
    added = sorted(set(now) - set(was))
    removed = sorted(set(was) - set(now))
    detail = "; ".join(
        f"{sign}{len(ids):,} ({', '.join(ids[:SHOWN_IDS])}{', …' if len(ids) > SHOWN_IDS else ''})"
        for sign, ids in (("+", added), ("-", removed))
        if ids
    )
    return [
        FieldChange(
            f"stocks.{name}.{STORES}",
            "change",
            f"{len(was):,} stores",
            f"{len(now):,} stores: {detail}",
            reason="stores associated or disassociated outside couponctl",
        )
    ]
