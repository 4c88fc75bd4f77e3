"""Settling what an interrupted apply left behind, before anything new is planned (contract §2.4).

- An open intent for a WeChat Pay call is re-sent with the same `out_request_no` and the same body: upstream
  replays the first answer when the call had landed (reference B.9), or performs it now. Either way the result is
  recorded and the intent closed: nothing is doubled, nothing is lost.
- An open intent for a shop call (no request number exists on /shop/coupon) is settled by reading the coupon back
  by `out_coupon_id` and recording what upstream holds; the next plan proposes whatever is still missing.
- A stock or bundle call (decision D29) is re-sent like any WeChat Pay call: its intent's `target` holds the
  coupon id, the stock id and the stock's declared name (`stock_calls.py`), so the answer lands under that name.
- A store association batch (decision D34) carries no request number upstream, so re-sending would repeat it: the
  stock's associated stores are read back first, and a batch whose effect is already there is recorded, not re-sent.
- A deposed product coupon (the old half of a replacement whose deactivation did not land) is deactivated, with a
  request number derived from the lineage, so a retry of the settlement is itself idempotent.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from reconciler.apply.applier import Applier, provider_for
from reconciler.apply.assets import is_upload
from reconciler.apply.outcome import state_after_call
from reconciler.apply.stock_calls import call_of_intent, deposed_stocks, is_stock_call
from reconciler.apply.store_outcome import batch_ids
from reconciler.errors import UpstreamError
from reconciler.plan.model import Action, ActionType, Call, shop_coupon_id
from reconciler.plan.request_numbers import out_request_no, payload_digest
from reconciler.providers.base import CallResult, Provider
from reconciler.providers.pacing import Pacer
from reconciler.resources import ResourceState
from reconciler.store.api import CallRecord, Intent


@dataclass(frozen=True, slots=True)
class Settlement:
    address: str
    operation: str
    outcome: str  # "landed" | "not landed" | "re-sent" | "deactivated deposed"


async def settle(applier: Applier, lineage: str) -> list[Settlement]:
    """Close every open intent and deactivate every deposed coupon. Raises UpstreamError if one cannot be."""
    done: list[Settlement] = []
    for intent in applier.store.open_intents():
        done.append(await _settle_intent(applier, intent))
    for resource in applier.store.resources().values():
        deposed = resource.extra.get("deposed") if resource.extra else None
        if deposed:
            done.append(await _deactivate_deposed(applier, lineage, resource, dict(deposed)))
    for address, entry in applier.store.resources().items():
        for marker in deposed_stocks(entry):
            ids = [str(i) for i in marker.get("steps") or []] if "steps" in marker else [str(marker["id"])]
            for stock_id in ids:  # a bundle: each of its step stocks (no API deactivates a bundle)
                current = applier.store.get(address)  # as the previous settlement left it
                if current is not None:
                    done.append(await _deactivate_deposed_stock(applier, lineage, current, marker, stock_id))
    return done


async def _settle_intent(applier: Applier, intent: Intent) -> Settlement:
    store = applier.store
    previous = store.get(intent.address)
    if is_upload(intent.operation):  # not re-sent (decision D33): an unrecorded image is planned for upload again
        store.close_intent(intent.intent_id, call=_record(applier, intent, "settled: not re-sent", None, None))
        return Settlement(intent.address, intent.operation, "not landed")
    if intent.operation.startswith("product."):
        role: str = "new"
        if (
            intent.operation == "product.deactivate"
            and previous is not None
            and previous.extra.get("deposed", {}).get("product_coupon_id") == intent.target
        ):
            role = "old"
        call = replace(
            call_of_intent(intent.operation, intent.target, intent.out_request_no, intent.payload),
            role="old" if role == "old" else "new",
        )
        action = _pseudo_action(intent, previous)
        provider = provider_for(call.operation, applier.providers)
        if await store_batch_landed(applier.pacer, provider, call):  # no request number: read back, not re-sent
            change = state_after_call(
                action, call, CallResult(call.operation, call.target), previous, applier.now_iso()
            )
            store.close_intent(
                intent.intent_id, call=_record(applier, intent, "settled: landed", None, None), put=change.put
            )
            return Settlement(intent.address, intent.operation, "landed")
        # Re-send through the journal-free path: the open intent row is the journal entry.
        call = applier.uploads.fill(call, intent.address)  # the journal holds image placeholders (D33)
        try:
            result = await applier.send(provider, call)
        except UpstreamError as exc:
            if exc.address is None:
                raise exc.with_address(intent.address) from None
            raise
        change = state_after_call(action, call, result, previous, applier.now_iso())
        store.close_intent(
            intent.intent_id,
            call=_record(applier, intent, "settled", result.request_id, result.http_status),
            put=change.put,
            remove=change.remove,
        )
        return Settlement(intent.address, intent.operation, "re-sent")
    # Shop: read back by out_coupon_id.
    provider = provider_for(intent.operation, applier.providers)
    out_coupon_id = shop_coupon_id(intent.target, intent.payload)
    await applier.pacer.wait("shop.get")
    coupon = await applier.pacer.retry(lambda: provider.read(out_coupon_id))
    if coupon is None:
        store.close_intent(intent.intent_id, call=_record(applier, intent, "settled: not landed", None, None))
        return Settlement(intent.address, intent.operation, "not landed")
    now = applier.now_iso()
    resource = ResourceState(
        address=intent.address,
        kind="ShopCoupon",
        upstream_id=out_coupon_id,
        upstream=dict(coupon),
        desired_digest="",  # unknown: the next plan compares the content itself
        protect=previous.protect if previous else False,
        created_at=previous.created_at if previous and previous.created_at else now,
        updated_at=now,
        extra=dict(previous.extra) if previous else {},
    )
    store.close_intent(intent.intent_id, call=_record(applier, intent, "settled: landed", None, None), put=resource)
    return Settlement(intent.address, intent.operation, "landed")


async def _deactivate_deposed(
    applier: Applier, lineage: str, resource: ResourceState, deposed: dict[str, str | None]
) -> Settlement:
    old_id = str(deposed["product_coupon_id"])
    brand_id = deposed.get("brand_id") or resource.brand_id
    body = {"deactivate_reason": f"replaced by couponctl: {resource.address}", "brand_id": brand_id}
    number = out_request_no(lineage, resource.address, f"deactivate-deposed-{old_id}", payload_digest(body))
    call = Call(
        operation="product.deactivate",
        payload={"out_request_no": number, **body},
        target=old_id,
        out_request_no=number,
        role="old",
    )
    await applier.run_call(resource.address, call, resource, action=_settling(resource, call, ActionType.REPLACE))
    return Settlement(resource.address, "product.deactivate", f"deactivated deposed {old_id}")


async def _deactivate_deposed_stock(
    applier: Applier, lineage: str, resource: ResourceState, marker: dict[str, Any], old_id: str
) -> Settlement:
    """The old stock of a stock replacement whose deactivation did not land (decision D29): deactivated now, with a
    number derived from the lineage and the stock id, so a retry of the settlement is itself idempotent."""
    body = {"deactivate_reason": f"replaced by couponctl: {resource.address}", "brand_id": resource.brand_id}
    number = out_request_no(lineage, resource.address, f"deactivate-deposed-stock-{old_id}", payload_digest(body))
    call = Call(
        operation="product.stock.deactivate",
        payload={"out_request_no": number, **body},
        target=resource.upstream_id,
        out_request_no=number,
        role="old",
        stock_name=marker.get("name"),
        stock_id=old_id,
    )
    await applier.run_call(resource.address, call, resource, action=_settling(resource, call, ActionType.UPDATE))
    return Settlement(resource.address, "product.stock.deactivate", f"deactivated deposed stock {old_id}")


def _settling(resource: ResourceState, call: Call, kind: ActionType) -> Action:
    """The one-call action that deactivates what a replacement deposed (a coupon: REPLACE; a stock: UPDATE)."""
    return Action(
        address=resource.address,
        kind=resource.kind,
        type=kind,
        before=resource.upstream,
        after=resource.upstream,
        calls=(call,),
        upstream_id=resource.upstream_id,
        desired_digest=resource.desired_digest,
        protect=resource.protect,
        brand_id=resource.brand_id,
    )


def _pseudo_action(intent: Intent, previous: ResourceState | None) -> Action:
    """The action an intent belonged to, as far as the state change after it needs to know."""
    if intent.operation == "product.create":
        kind = ActionType.REPLACE if previous is not None else ActionType.CREATE
    elif intent.operation == "product.patch" or is_stock_call(intent.operation):
        kind = ActionType.UPDATE
    else:
        kind = ActionType.DEACTIVATE
    is_own_deactivation = intent.operation == "product.deactivate" and (
        previous is None or previous.upstream_id == intent.target
    )
    return Action(
        address=intent.address,
        kind="ProductCoupon",
        type=kind,
        before=previous.upstream if previous else None,
        after=None if is_own_deactivation else {},
        desired_digest=previous.desired_digest if previous else "",
        protect=previous.protect if previous else False,
        brand_id=str(intent.payload.get("brand_id")) if intent.payload.get("brand_id") else None,
    )


async def store_batch_landed(pacer: Pacer, provider: Provider, call: Call) -> bool:
    """Has this association batch already taken effect upstream? Every id associated (or, for a disassociation,
    none left), read from `associated-stores` (decision D34). False when it cannot be told (no stock id)."""
    if not call.operation.endswith(("associate_stores", "disassociate_stores")) or not (call.target and call.stock_id):
        return False
    reader = getattr(provider, "read_stores", None)
    if reader is None:
        return False
    target, stock_id = call.target, call.stock_id

    async def before_page() -> None:
        await pacer.wait("product.stock.associated_stores")

    brand = call.payload.get("brand_id")
    current = set(
        await reader(
            target, stock_id, brand_id=str(brand) if brand else None, before_page=before_page, retry=pacer.retry
        )
    )
    ids = set(batch_ids(call))
    if call.operation.endswith(".disassociate_stores"):
        return not (ids & current)
    return ids <= current


def _record(applier: Applier, intent: Intent, outcome: str, request_id: str | None, status: int | None) -> CallRecord:
    return CallRecord(
        address=intent.address,
        operation=intent.operation,
        outcome=outcome,
        out_request_no=intent.out_request_no,
        request_id=request_id,
        http_status=status,
        at=applier.now_iso(),
    )


__all__ = ["Settlement", "settle"]
