"""Pure: a stock's `stores` after a landed association batch (decision D34; reference B.4).

State keeps `stocks.<name>.stores`: the ids upstream is known to associate, sorted. Each landed batch is recorded by
itself, in the same transaction that closes its intent, so an apply stopped in the middle resumes with the next batch
and never sends a landed one again. An associate answer lists the ids it associated (`success_store_list` [3P]); a
batch the provider accepted has no failed id (a failed id is a refusal, `providers/wechatpay_stores.py`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.plan.model import Call

STORE_VERBS = frozenset({"associate_stores", "disassociate_stores"})


def batch_ids(call: Call) -> list[str]:
    stores = call.payload.get("store_list")
    return [str(s["store_id"]) for s in stores if isinstance(s, Mapping)] if isinstance(stores, list) else []


def with_batch(stock: Mapping[str, Any], call: Call, answer: Mapping[str, Any]) -> dict[str, Any]:
    """`stock` (the state entry) with the batch of `call` associated or disassociated."""
    known = {str(s) for s in stock.get("stores") or []}
    ids = set(batch_ids(call))
    if call.operation.endswith(".associate_stores"):
        known |= ids
    else:
        known -= ids
    return {**stock, "stores": sorted(known)}
