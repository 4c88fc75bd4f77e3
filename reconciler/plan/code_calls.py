"""Coupon code uploads of a product coupon's UPLOAD stocks (issue 17 item 3, decision D35). Pure.

The desired body holds, per stock, `codes_file: {"$codes": {path, sha256, count, batch_size, batches}}`
(`manifest/codes.py`); state holds, per stock name, what landed: `extra["codes"][name] = {"stock_id", "batches":
{"<index>": {"sha256", "count"}}, "count"}` (apply records each batch at once, `apply/code_outcome.py`). Never a code.

`split_codes` takes the references out of the body before anything else compares or sends it (a stock's create or
add never carries them); `with_code_uploads` adds to the coupon's action one `product.stock.upload_codes` call per
batch not uploaded yet (reference B.4: at most 200 codes per call), after the stock exists (after its create or add,
before any deactivation). Each payload is a reference, `{"file", "batch", "sha256", "count", "brand_id",
"out_request_no"}`; the provider reads and checks the codes at send time.

A changed codes file: codes cannot be deleted upstream [D doc 4016434668: no API removes one], so
- a file that only grew (the uploaded batches unchanged; a last partial batch completed) uploads the new batches
  (a completed partial batch is sent again whole: the provider first checks that its codes already uploaded are the
  same, by their digest, and upstream reports them as already existing);
- a file whose uploaded batches changed (or that shrank) is BLOCKED with a remedy: restore them and append, or
  declare a new stock name for the new codes (the old stock is deactivated, the new one gets them all).

Request numbers (decision D35) depend on neither the lineage nor the state: sha256 over ("codes.upload"
[, environment], brand, address, stock name, the stock's identity (its upstream id, or the number of the create /
add that makes it in the same action), batch index, batch digest). A resumed apply replans the same batch under the
same number, so upstream replays it instead of taking it twice, and a batch already recorded is never planned again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from reconciler.plan.actions import Subject
from reconciler.plan.model import Action, ActionType, Call, FieldChange, Operation
from reconciler.resources import DesiredCoupon, ResourceState
from reconciler.stocks import first_stock

UPLOAD_CODES: Operation = "product.stock.upload_codes"
CODES_FIELD = "codes_file"
CODES_KEY = "$codes"
STATE_KEY = "codes"  # ResourceState.extra key
ENDED = frozenset({"STOPPED", "DEACTIVATED"})
CHANGED_REMEDY = (
    "restore the codes already uploaded (the file's first {n:,} codes) and append new codes after them, or declare "
    "the new codes on a new stock name (codes cannot be deleted upstream, decision D35)"
)


def split_codes(want: DesiredCoupon) -> tuple[DesiredCoupon, dict[str, Mapping[str, Any]]]:
    """The coupon without its codes references, and the references by stock name (manifest order)."""
    stocks = want.body.get("stocks")
    if not isinstance(stocks, Mapping) or not any(isinstance(s, Mapping) and CODES_FIELD in s for s in stocks.values()):
        return want, {}
    found: dict[str, Mapping[str, Any]] = {}
    kept: dict[str, Any] = {}
    for name, stock in stocks.items():
        if isinstance(stock, Mapping) and CODES_FIELD in stock:
            ref = stock[CODES_FIELD]
            if isinstance(ref, Mapping) and isinstance(ref.get(CODES_KEY), Mapping):
                found[str(name)] = ref[CODES_KEY]
            kept[name] = {k: v for k, v in stock.items() if k != CODES_FIELD}
        else:
            kept[name] = stock
    return replace(want, body={**want.body, "stocks": kept}), found


def upload_request_no(
    brand: str, address: str, stock: str, identity: str, index: int, sha: str, environment: str | None
) -> str:
    """The deterministic request number of one batch (see the module docstring): 6-40 chars of [0-9a-z] (B.9)."""
    scope = ("codes.upload",) if environment is None else ("codes.upload", environment)
    parts = (*scope, brand, address, stock, identity, str(index), sha)
    return "cu" + hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()[:30]


def uploaded(have: ResourceState | None, name: str, stock_id: str | None) -> dict[int, Mapping[str, Any]]:
    """The batches state records as landed for the stock `name` (only when it is still the stock `stock_id`)."""
    record = have.extra.get(STATE_KEY, {}).get(name) if have is not None and have.extra else None
    if not isinstance(record, Mapping) or stock_id is None or record.get("stock_id") != stock_id:
        return {}
    batches = record.get("batches")
    if not isinstance(batches, Mapping):
        return {}
    return {int(k): v for k, v in batches.items() if isinstance(v, Mapping)}


def _short(sha: str) -> str:
    return f"{sha[:6]}…"


def _new_stocks(action: Action, after: Mapping[str, Any]) -> dict[str, Call]:
    """Stocks this action creates (the create's first stock, each add) -> the call that makes them."""
    made: dict[str, Call] = {}
    for call in action.calls:
        if call.operation == "product.create":
            first = first_stock(after)
            if first is not None and first[0] == "stocks":
                made[first[1]] = call
        elif call.operation == "product.stock.add" and call.stock_name:
            made[call.stock_name] = call
    return made


def with_code_uploads(
    subject: Subject,
    action: Action | None,
    codes: Mapping[str, Mapping[str, Any]],
    have: ResourceState | None,
    brand: str | None,
    environment: str | None,
) -> Action | None:
    """`action` with the code uploads its UPLOAD stocks still need (or a new UPDATE action when only codes are
    missing; a BLOCKED one when uploaded codes changed)."""
    if not codes or brand is None:
        return action
    if action is not None and action.type not in (ActionType.CREATE, ActionType.REPLACE, ActionType.UPDATE):
        return action  # blocked or deferred already: the uploads wait for it
    after = subject.after or {}
    made = _new_stocks(action, after) if action is not None else {}
    stocks_have = (have.upstream.get("stocks") if have is not None else None) or {}
    calls: list[Call] = []
    changes: list[FieldChange] = []
    blocked: list[str] = []
    kept_codes = 0  # codes already uploaded to a stock whose file changed (for the remedy)
    for name, ref in codes.items():
        maker = made.get(name)
        known = stocks_have.get(name) if isinstance(stocks_have, Mapping) else None
        if maker is not None:
            stock_id, identity, target, done = None, f"new:{maker.out_request_no}", maker.target, {}
        elif isinstance(known, Mapping) and known.get("stock_id"):
            if known.get("state") in ENDED:
                continue  # an ended stock takes no codes; the stock plan says what to do about it
            stock_id = str(known["stock_id"])
            identity, target, done = stock_id, have.upstream_id if have else None, uploaded(have, name, stock_id)
        else:
            continue  # not created yet and not by this action (blocked or deferred elsewhere)
        todo, problem = _pending(ref, done)
        path = f"stocks.{name}.codes"
        total, digests = int(ref["count"]), list(ref["batches"])
        if problem is not None:
            blocked.append(problem)
            kept_codes = max(kept_codes, sum(int(b.get("count", 0)) for b in done.values()))
            changes.append(FieldChange(path, "change", _landed(done), _wanted(ref), "blocked", problem))
            continue
        if not todo:
            continue
        size = int(ref.get("batch_size", 200))
        before = _landed(done) if done else None
        changes.append(FieldChange(path, "change" if done else "add", before, _wanted(ref), "update", None))
        for index in todo:
            count = min(size, total - index * size)
            payload: dict[str, Any] = {
                "out_request_no": upload_request_no(
                    brand, subject.address, name, identity, index, digests[index], environment
                ),
                "brand_id": brand,
                "file": ref["path"],
                "batch": index,
                "batch_size": size,
                "sha256": digests[index],
                "count": count,
            }
            prior = done.get(index)
            if prior is not None:  # a partial batch completed: its uploaded codes must be the same
                payload["uploaded"] = {"count": int(prior["count"]), "sha256": str(prior["sha256"])}
            calls.append(
                Call(UPLOAD_CODES, payload, target, payload["out_request_no"], stock_name=name, stock_id=stock_id)
            )
    if blocked:
        base = action.changes if action is not None else ()
        return subject.blocked((*base, *changes), "; ".join(blocked), CHANGED_REMEDY.format(n=kept_codes))
    if not calls:
        return action
    if action is None:
        return subject.action(
            ActionType.UPDATE,
            changes=changes,
            calls=calls,
            reason=f"codes uploaded in batches of at most 200 (reference B.4): {len(calls)} upload call(s)",
        )
    return _inserted(action, calls, changes)


def _inserted(action: Action, uploads: Sequence[Call], changes: Sequence[FieldChange]) -> Action:
    """The uploads after every call that creates or changes a stock, before the first deactivation."""
    calls = list(action.calls)
    at = next(
        (i for i, c in enumerate(calls) if c.operation in ("product.stock.deactivate", "product.deactivate")),
        len(calls),
    )
    return replace(action, calls=(*calls[:at], *uploads, *calls[at:]), changes=(*action.changes, *changes))


def _pending(ref: Mapping[str, Any], done: Mapping[int, Mapping[str, Any]]) -> tuple[list[int], str | None]:
    """The batch indexes to upload, or a problem when codes already uploaded changed."""
    digests = list(ref["batches"])
    size = int(ref.get("batch_size", 200))
    total = int(ref["count"])
    todo: list[int] = []
    for index, prior in sorted(done.items()):
        if index >= len(digests):
            return [], f"the codes file {ref['path']} is shorter than what was uploaded (batch {index + 1} landed)"
        want_count = min(size, total - index * size)
        if prior.get("sha256") == digests[index]:
            continue
        if int(prior.get("count", 0)) < want_count:
            todo.append(index)  # a partial batch grew: checked against its uploaded digest at send time
            continue
        return [], f"batch {index + 1} of the codes file {ref['path']} changed after it was uploaded"
    todo.extend(i for i in range(len(digests)) if i not in done)
    return sorted(todo), None


def _landed(done: Mapping[int, Mapping[str, Any]]) -> str:
    count = sum(int(b.get("count", 0)) for b in done.values())
    return f"{count:,} codes uploaded in {len(done)} batches"


def _wanted(ref: Mapping[str, Any]) -> str:
    return f"{int(ref['count']):,} codes in {len(ref['batches'])} batches (sha256 {_short(str(ref['sha256']))})"


def codes_drift(resource: ResourceState, name: str, live: Mapping[str, Any]) -> list[FieldChange]:
    """Drift of a stock's codes: upstream's `coupon_code_count_info.total_count` (reference B.4) against the count
    state recorded as uploaded (codes uploaded in the console, or lost). Nothing when state recorded no upload to
    this very stock, or upstream says no count."""
    stock_id = live.get("stock_id")
    record = resource.extra.get(STATE_KEY, {}).get(name) if resource.extra else None
    info = live.get("coupon_code_count_info")
    if not isinstance(record, Mapping) or record.get("stock_id") != stock_id or not isinstance(info, Mapping):
        return []
    total = info.get("total_count")
    known = record.get("count")
    if not isinstance(total, int) or not isinstance(known, int) or total == known:
        return []
    return [
        FieldChange(
            f"stocks.{name}.codes",
            "change",
            f"{known:,} codes uploaded by couponctl",
            f"{total:,} codes upstream",
            reason="coupon_code_count_info.total_count differs from what couponctl uploaded (reference B.4)",
        )
    ]
