"""Executes a plan: one journalled, paced, retried call at a time per address, several addresses in flight.

For every call (contract §2.4):
1. an intent row (address, operation, target, out_request_no, payload digest) is committed;
2. the call is made under the operation's token bucket, retried with backoff and jitter on transient errors only;
3. the result, the history record and the closing of the intent are committed in one transaction.

A definitive upstream refusal closes the intent as an error. A call whose outcome is unknown (retries exhausted on
timeouts / dropped connections / 5xx, or a response that failed signature verification) leaves its intent open: the
next apply settles it before planning anything new (`settle.py`). Shop calls have no request number, so before
re-sending a shop call after a transient failure the applier reads the coupon back and treats a call that already
landed as done (never add twice).

On the first failure no new action starts; actions already in flight finish. The report says exactly which
actions were applied, which failed and which were not started.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from reconciler.apply.adoption import (
    SHOP_EXISTS_CODE,
    existing_product_error,
    existing_shop_error,
    generation_of,
    is_number_reuse,
    next_generation_call,
)
from reconciler.apply.assets import Uploads, is_upload
from reconciler.apply.outcome import state_after_call, with_source
from reconciler.apply.stock_calls import intent_target, resolved
from reconciler.errors import SignatureError, StateError, TransientUpstreamError, UpstreamError
from reconciler.plan.model import Action, ActionType, Call, Plan
from reconciler.plan.request_numbers import payload_digest
from reconciler.providers.base import CallResult, Provider
from reconciler.providers.pacing import Pacer
from reconciler.resources import ResourceState
from reconciler.store.api import CallRecord, StateStore

Status = Literal["applied", "failed", "not_started", "partial"]
STATE_ONLY = (ActionType.FORGET, ActionType.UPDATE)  # actions that may change state without a call


@dataclass
class ActionResult:
    """How one action of the plan ended."""

    address: str
    type: str
    status: Status
    calls_made: int = 0  # calls that landed
    calls_planned: int = 0
    error: str | None = None
    calls_failed: int = 0  # calls sent that upstream refused or left unanswered (so "FAILED after 0 calls" is false)


@dataclass
class ApplyReport:
    results: list[ActionResult] = field(default_factory=list)
    calls: int = 0
    stopped_by: str | None = None
    moves: list[str] = field(default_factory=list)  # "old -> new" state moves of declared renames (no call)

    def with_status(self, status: Status) -> list[ActionResult]:
        return [r for r in self.results if r.status == status]

    @property
    def ok(self) -> bool:
        return all(r.status == "applied" for r in self.results)

    def summary(self) -> dict[str, Any]:
        return {
            "applied": [r.address for r in self.with_status("applied")],
            "partial": [r.address for r in self.with_status("partial")],
            "failed": [r.address for r in self.with_status("failed")],
            "not_started": [r.address for r in self.with_status("not_started")],
            "calls": self.calls,
            **({"moved": list(self.moves)} if self.moves else {}),
        }


ProgressFn = Callable[[str, ActionResult], None]


def provider_for(operation: str, providers: Mapping[str, Provider]) -> Provider:
    family = operation.split(".", 1)[0]
    return providers[family]


def interleaved(actions: Sequence[Action]) -> list[Action]:
    """The actions round-robin over their first call's operation, each group keeping the plan's order.

    Every operation has its own token bucket, so the run is only as fast as the busiest one if they all stay busy:
    in plan order (addresses sorted, every product_coupon before any shop_coupon) the buckets would be used one
    after the other and an apply at a rate limit would take the sum of their times instead of the maximum."""
    groups: dict[str, list[Action]] = {}
    for action in actions:
        groups.setdefault(action.calls[0].operation if action.calls else "", []).append(action)
    queues = list(groups.values())
    out: list[Action] = []
    for i in range(max((len(q) for q in queues), default=0)):
        out.extend(q[i] for q in queues if i < len(q))
    return out


@dataclass(frozen=True, slots=True)
class _Created:
    """A product coupon created from nothing in this run, to read back (D17)."""

    address: str
    call: Call
    action: Action
    outcome: CallResult
    generation: int


class _DeactivatedReplay(Exception):
    """A create was answered with a coupon of an earlier generation that is DEACTIVATED (decision D17)."""


class Applier:
    """Runs the calls of a plan against the providers, recording everything in the state store."""

    def __init__(
        self,
        store: StateStore,
        providers: Mapping[str, Provider],
        pacer: Pacer,
        *,
        run_id: int,
        now_iso: Callable[[], str],
        parallelism: int = 8,
        progress: ProgressFn | None = None,
        environment: str | None = None,
    ) -> None:
        self.store = store
        self.providers = providers
        self.pacer = pacer
        self.run_id = run_id
        self.now_iso = now_iso
        self.parallelism = max(1, parallelism)
        self.progress = progress
        self.environment = environment  # the selected environment: part of create numbers (decision D26)
        self._stop: str | None = None
        self._halt: str | None = None
        self.calls_made = 0
        self.moves: list[str] = []
        self._verifying: list[asyncio.Task[None]] = []  # read-backs of product coupons created from nothing (D17)
        self._results: Mapping[str, ActionResult] = {}
        self._verify_slots = asyncio.Semaphore(self.parallelism)
        self.uploads = Uploads(store)  # uploaded images and the placeholders they fill (decision D33, assets.py)

    def halt(self, reason: str) -> None:
        """Stop sending (Ctrl-C): no action starts and no further call is made, even of an action under way (its
        plan is re-made by the next apply); calls already sent finish and are recorded."""
        self._halt = reason
        if self._stop is None:
            self._stop = reason

    async def apply(self, plan: Plan) -> ApplyReport:
        report = ApplyReport()
        results = {
            a.address: ActionResult(a.address, a.type.value, "not_started", 0, len(a.calls)) for a in plan.actions
        }
        report.results = list(results.values())
        semaphore = asyncio.Semaphore(self.parallelism)
        self._results = results
        self.uploads = Uploads(self.store, plan.actions)

        async def run(action: Action) -> None:
            try:
                await self.uploads.ready(action)  # an image another action uploads: waited for outside the slots
                async with semaphore:
                    if self._stop is not None:
                        return
                    await self._apply_action(action, results[action.address])
            finally:
                self.uploads.finished(action)

        work = interleaved(
            [a for a in plan.actions if a.applyable and (a.calls or a.type in STATE_ONLY or a.moved_from)]
        )
        try:
            await asyncio.gather(*(run(a) for a in work))
        finally:
            await self._verify_created()
        for action in plan.actions:  # nothing to call (deferred, not applied): nothing to do, nothing failed
            if not action.calls and action.type not in STATE_ONLY and results[action.address].status == "not_started":
                results[action.address].status = "applied"
        report.calls = self.calls_made
        report.stopped_by = self._stop
        report.moves = list(self.moves)
        return report

    async def _apply_action(self, action: Action, result: ActionResult) -> None:
        if action.type is ActionType.FORGET:
            self.store.remove(action.address)
            result.status = "applied"
            self._emit("applied", result)
            return
        if action.moved_from is not None:
            if not self._move(action, result):
                return
            if not action.calls and not (action.type is ActionType.UPDATE and action.changes):
                # a pure move (or a moved coupon that is deferred / not applied): the state move was all to do
                result.status = "applied"
                result.type = "move" if action.type is ActionType.UPDATE else result.type
                self._emit("applied", result)
                return
        previous = self.store.get(action.address)
        if previous is None and action.before is not None and action.kind == "ShopCoupon":
            previous = self._adopt(action)  # found upstream by out_coupon_id while planning (decision D17)
            if not action.calls:
                result.status = "applied"
                self._emit("applied", result)
                return
        if not action.calls and previous is not None:  # protect-only update: state, no upstream call
            self.store.put(
                with_source(
                    replace(
                        previous,
                        protect=action.protect,
                        desired_digest=action.desired_digest or "",
                        updated_at=self.now_iso(),
                    ),
                    action,
                )
            )
            result.status = "applied"
            self._emit("applied", result)
            return
        self._emit("start", result)
        for call in action.calls:
            if self._halt is not None:  # interrupted: no further call, even of an action under way
                result.error = self._halt
                result.status = "partial" if result.calls_made else "not_started"
                return
            try:
                previous = await self.run_call(action.address, call, previous, action=action)
            except UpstreamError as exc:
                error = exc.with_address(action.address) if exc.address is None else exc
                result.calls_failed += 1
                result.error = str(error)
                result.status = "partial" if result.calls_made else "failed"
                if self._stop is None:
                    self._stop = str(error)
                self._emit("failed", result)
                return
            result.calls_made += 1
        result.status = "applied"
        self._emit("applied", result)

    def _move(self, action: Action, result: ActionResult) -> bool:
        """A declared rename: move the state entry first, in one transaction like `state mv` (it refuses an open
        intent on either address or an existing destination, and bumps the serial). No upstream call."""
        assert action.moved_from is not None
        try:
            self.store.move(action.moved_from, action.address)
        except StateError as exc:
            result.error = f"{action.address}: cannot move the state entry from {action.moved_from}: {exc}"
            result.status = "failed"
            if self._stop is None:
                self._stop = result.error
            self._emit("failed", result)
            return False
        self.moves.append(f"{action.moved_from} -> {action.address}")
        moved = self.store.get(action.address)
        if moved is not None and with_source(moved, action) is not moved:  # declared in its new file now
            self.store.put(with_source(moved, action))
        return True

    def _adopt(self, action: Action) -> ResourceState:
        """Write the upstream coupon the plan found (`action.before`) into state before the action's calls."""
        assert action.before is not None and action.upstream_id is not None
        now = self.now_iso()
        resource = ResourceState(
            address=action.address,
            kind=action.kind,
            upstream_id=action.upstream_id,
            upstream=dict(action.before),
            desired_digest=action.desired_digest or "",
            protect=action.protect,
            brand_id=action.brand_id,
            created_at=now,
            updated_at=now,
        )
        resource = with_source(resource, action)
        self.store.put(resource)
        return resource

    async def run_call(
        self, address: str, call: Call, previous: ResourceState | None, *, action: Action
    ) -> ResourceState | None:
        """One planned call; a product create may move on to a later generation (decision D17, `adoption.py`).
        A stock call gets the coupon and stock ids it lacks from `previous` (decision D29, `stock_calls.py`)."""
        call = resolved(call, previous, address)
        generation = generation_of(call, address, self.environment)
        while True:
            try:
                return await self._run_one(address, call, previous, action=action, generation=generation)
            except _DeactivatedReplay:
                pass  # an earlier generation, deactivated since: the next one
            except UpstreamError as exc:
                if generation is None or not is_number_reuse(exc):
                    if call.operation == "shop.add" and str(exc.code) == SHOP_EXISTS_CODE:
                        raise existing_shop_error(exc, address, call.out_coupon_id) from None
                    raise
                assert call.out_request_no is not None
                if previous is None and not self.store.sent_before(address, call.out_request_no):
                    raise existing_product_error(exc, address, call, generation) from None
            assert generation is not None
            following = next_generation_call(call, address, generation, self.environment)
            if following is None:
                raise UpstreamError(
                    call=call.operation,
                    address=address,
                    message=f"every create generation up to {generation} is taken upstream; import the live coupon",
                )
            call, generation = following, generation + 1

    async def _run_one(
        self, address: str, call: Call, previous: ResourceState | None, *, action: Action, generation: int | None
    ) -> ResourceState | None:
        """Journal, send (paced, retried), record. Returns the resource as the call left it."""
        sent = self.uploads.fill(call, address)  # image placeholders -> uploaded URLs; the journal keeps `call`
        intent_id = self.store.open_intent(
            self.run_id,
            address=address,
            operation=call.operation,
            target=intent_target(call, action),  # stock calls and creates: the stock name, for settle.py
            out_request_no=call.out_request_no,
            payload=call.payload,
            payload_digest=payload_digest(call.payload),
        )
        provider = provider_for(call.operation, self.providers)
        try:
            outcome = await self.send(provider, sent)
        except SignatureError:
            # Treated as an attack (contract §2.4): nothing from the response is recorded, the intent stays open
            # for the next apply to settle, and the run stops.
            self._stop = "a WeChat Pay response failed signature verification"
            raise
        except TransientUpstreamError:
            # Outcome unknown after the last retry: keep the intent open; the next apply settles it.
            raise
        except UpstreamError as exc:
            self.store.close_intent(intent_id, call=self._record(address, call, None, error=exc))
            raise
        self.calls_made += 1
        if is_upload(call.operation):  # the asset map records it (committed first); the coupon is unchanged
            self.uploads.landed(call, outcome, self.now_iso())
            self.store.close_intent(intent_id, call=self._record(address, call, outcome))
            return previous
        change = state_after_call(action, sent, outcome, previous, self.now_iso(), self.environment)
        self.store.close_intent(
            intent_id, call=self._record(address, call, outcome), put=change.put, remove=change.remove
        )
        # Recorded first, checked after: a crash (or a refused read) in between leaves a DEACTIVATED coupon in
        # state, which the next plan recreates at the next generation anyway. A replacement is checked at once
        # (its old coupon is deactivated next), and so is a create its stocks are added to next (decision D29); a
        # plain create beside the other actions (`_verify_later`), all awaited before the run ends.
        if generation is not None and previous is None and len(action.calls) == 1:
            self._verifying.append(
                asyncio.ensure_future(self._verify_later(_Created(address, call, action, outcome, generation)))
            )
        elif generation is not None and await self._deactivated(provider, outcome):
            if previous is None:
                self.store.remove(address)
            else:
                self.store.put(previous)
            self._note_replay(address, call, outcome)
            raise _DeactivatedReplay
        return change.put

    def _note_replay(self, address: str, call: Call, outcome: CallResult) -> None:
        note = replace(self._record(address, call, outcome), outcome="replayed DEACTIVATED: next generation")
        self.store.record_call(self.run_id, note)

    async def _verify_later(self, created: _Created) -> None:
        """Read back a product coupon created from nothing while the other actions run, in its own `product.get`
        bucket (a DEACTIVATED one was a replay of an earlier generation, decision D17: it leaves state and the create
        moves on). At most `parallelism` reads in flight: thousands at once queue in httpx's connection pool, whose
        every finished response scans the whole queue against every connection (quadratic CPU)."""
        async with self._verify_slots:
            if self._stop is None:
                await self._verify(created, self._results[created.address])

    async def _verify_created(self) -> None:
        """Wait for every read-back, and for those of the next generations they created."""
        while self._verifying:
            batch, self._verifying = self._verifying, []
            await asyncio.gather(*batch)

    async def _verify(self, created: _Created, result: ActionResult) -> None:
        try:
            provider = provider_for(created.call.operation, self.providers)
            if not await self._deactivated(provider, created.outcome):
                return
            self.store.remove(created.address)
            self._note_replay(created.address, created.call, created.outcome)
            following = next_generation_call(created.call, created.address, created.generation, self.environment)
            if following is None:
                raise UpstreamError(
                    call=created.call.operation,
                    address=created.address,
                    message="every create generation is taken upstream; import the live coupon",
                )
            await self.run_call(created.address, following, None, action=created.action)
        except UpstreamError as exc:
            error = exc.with_address(created.address) if exc.address is None else exc
            result.error, result.status = str(error), "failed"
            if self._stop is None:
                self._stop = str(error)
            self._emit("failed", result)

    async def _deactivated(self, provider: Provider, outcome: CallResult) -> bool:
        """Is the coupon a create answered DEACTIVATED now? Only a replay of an earlier generation can be (a new
        coupon starts AUDITING or EFFECTIVE); the replayed answer shows the state at creation, so read it back."""
        product_coupon_id = outcome.upstream_id or (outcome.entity or {}).get("product_coupon_id")
        if not product_coupon_id:
            return False
        brand_id = (outcome.entity or {}).get("brand_id")
        await self.pacer.wait("product.get")
        current = await self.pacer.retry(
            lambda: provider.read(str(product_coupon_id), brand_id=str(brand_id) if brand_id else None)
        )
        return current is not None and current.get("state") == "DEACTIVATED"

    async def send(self, provider: Provider, call: Call) -> CallResult:
        attempt_seen_transient = False

        async def attempt() -> CallResult:
            nonlocal attempt_seen_transient
            if attempt_seen_transient and call.operation.startswith("shop."):
                landed = await self._shop_landed(provider, call)
                if landed is not None:
                    return landed
            try:
                await self.pacer.wait(call.operation)
                return await provider.execute(call)
            except TransientUpstreamError:
                attempt_seen_transient = True
                raise

        return await self.pacer.retry(attempt)

    async def _shop_landed(self, provider: Provider, call: Call) -> CallResult | None:
        """After a transient failure, has this shop call already taken effect? (read back by out_coupon_id)"""
        out_coupon_id = call.out_coupon_id
        await self.pacer.wait("shop.get")
        coupon = await provider.read(out_coupon_id)
        if coupon is None:
            return None
        op = call.operation
        if op == "shop.add":
            landed = True  # it exists now; the content is compared by the next plan
        elif op == "shop.update_status":
            landed = int(coupon.get("status", 0)) == int(call.payload["status"])
        elif op == "shop.update_stock":  # the total follows issued + received (A.6.6 [INF]); get has no stock
            info = call.payload["coupon_stock"]["stock_info"]
            total = coupon.get("coupon_info", {}).get("receive_info", {}).get("total_num")
            landed = total == int(info["issued_num"]) + int(info["receive_num"])
        else:
            sent = call.payload["coupon"]
            landed = all(coupon.get(k) == v for k, v in sent.items())
        if not landed:
            return None
        return CallResult(operation=op, upstream_id=out_coupon_id, entity=coupon, request_id=None)

    def _record(
        self, address: str, call: Call, result: CallResult | None, *, error: UpstreamError | None = None
    ) -> CallRecord:
        return CallRecord(
            address=address,
            operation=call.operation,
            outcome="ok" if error is None else "error",
            out_request_no=call.out_request_no,
            request_id=(result.request_id if result else (error.request_id if error else None)),
            http_status=(result.http_status if result else (error.http_status if error else None)),
            code=None if error is None or error.code is None else str(error.code),
            message=None if error is None else error.upstream_message[:500],
            at=self.now_iso(),
        )

    def _emit(self, event: str, result: ActionResult) -> None:
        if self.progress is not None:
            self.progress(event, result)
