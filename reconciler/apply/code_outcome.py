"""Pure: the state after a coupon code batch landed (decision D35; `plan/code_calls.py`).

`extra["codes"][stock name] = {"stock_id", "batches": {"<index>": {"sha256", "count"}}, "count"}`: the batch is
recorded at once, so a crash after it never plans it again. The answer's counts (`accepted`, already existing,
...) are kept per batch; never a code (the provider drops the answer's code lists).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from reconciler.plan.code_calls import STATE_KEY
from reconciler.plan.model import Call
from reconciler.resources import ResourceState


def after_code_batch(call: Call, previous: ResourceState, now_iso: str) -> ResourceState:
    """`previous` with the batch `call` uploaded recorded under its stock's name."""
    name = str(call.stock_name)
    stock_id = str(call.stock_id or "")
    records: dict[str, Any] = dict(previous.extra.get(STATE_KEY) or {})
    record = records.get(name)
    if not isinstance(record, Mapping) or record.get("stock_id") != stock_id:
        record = {"stock_id": stock_id, "batches": {}, "count": 0}
    batches = dict(record.get("batches") or {})
    batches[str(int(call.payload["batch"]))] = {
        "sha256": str(call.payload["sha256"]),
        "count": int(call.payload["count"]),
    }
    total = sum(int(b["count"]) for b in batches.values() if isinstance(b, Mapping))
    records[name] = {"stock_id": stock_id, "batches": batches, "count": total}
    return replace(previous, extra={**previous.extra, STATE_KEY: records}, updated_at=now_iso)
