"""An in-memory upstream behind the `Provider` protocol, with scripted call outcomes, for unit tests of the applier
and settle (a test double of `reconciler.providers.base.Provider`, not a mock of our own functions).

It keeps the upstream rules the journal relies on:
- WeChat Pay: a call whose `out_request_no` was seen before is not performed again; the first answer is replayed
  (reference B.9). Creates get fresh `product_coupon_id`s; deactivate sets `state` to DEACTIVATED.
- Shop: `add` of an existing `out_coupon_id` is refused; `update` merges the coupon; `update_status` sets `status`.

Each call to `execute` takes the next scripted outcome of its operation (`script`), "ok" once the script is empty:

- "ok": performed, answered;
- "refuse": refused with a business error (HTTP 400 / errcode), nothing performed;
- "transient": a transient error before anything is performed (a 500, a refused connection);
- "lost_answer": performed, then a transient error (the answer was lost: a timeout after upstream committed);
- "crash": performed, then `Crash` is raised: the process "dies" between the call and the recording of its result.
"""

from __future__ import annotations

import copy
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, Literal

from reconciler.errors import TransientUpstreamError, UpstreamError
from reconciler.plan.model import Call
from reconciler.providers.base import CallResult

Outcome = Literal["ok", "refuse", "transient", "lost_answer", "crash"]


class Crash(BaseException):
    """Stands in for the process dying (a BaseException, so no `except Exception` / `except UpstreamError` in the
    applier can catch it and record anything)."""


class FakeProvider:
    """One upstream family ("shop" or "product") held in memory. `effects` lists every call upstream actually
    performed (replays and refusals excluded), `sent` every call it received."""

    def __init__(self, family: Literal["shop", "product"]) -> None:
        self.family: str = family
        self.coupons: dict[str, dict[str, Any]] = {}
        self.stocks: dict[str, dict[str, Any]] = {}  # product stocks and bundles by id (decision D29)
        self.effects: list[Call] = []
        self.sent: list[Call] = []
        self.reads: list[str] = []
        self._scripts: dict[str, deque[Outcome]] = {}
        self._answers: dict[str, CallResult] = {}  # WeChat Pay: first answer by out_request_no (B.9)
        self._next_id = 1000000001

    def script(self, operation: str, *outcomes: Outcome, times: int = 1) -> None:
        """The outcomes of the next calls of `operation`, in order (the sequence `times` over), after any already
        scripted."""
        self._scripts.setdefault(operation, deque()).extend(list(outcomes) * times)

    def performed(self, operation: str) -> int:
        return sum(1 for call in self.effects if call.operation == operation)

    # -- the Provider protocol ---------------------------------------------------------------------------------
    async def execute(self, call: Call) -> CallResult:
        self.sent.append(call)
        queue = self._scripts.get(call.operation)
        outcome: Outcome = queue.popleft() if queue else "ok"
        if outcome == "refuse":
            raise UpstreamError(
                call=call.operation, message="invalid parameter", http_status=400, code=self._refusal_code()
            )
        if outcome == "transient":
            raise TransientUpstreamError(call=call.operation, message="system busy", http_status=500)
        result = self._perform(call)
        if outcome == "lost_answer":
            raise TransientUpstreamError(call=call.operation, message="timed out after 1 s")
        if outcome == "crash":
            raise Crash(call.operation)
        return result

    async def read(self, upstream_id: str, *, brand_id: str | None = None) -> Mapping[str, Any] | None:
        self.reads.append(upstream_id)
        coupon = self.coupons.get(upstream_id)
        return copy.deepcopy(coupon) if coupon is not None else None

    async def list_all(
        self,
        *,
        before_page: Callable[[], Awaitable[None]] | None = None,
        retry: Callable[[Callable[[], Awaitable[Any]]], Awaitable[Any]] | None = None,
    ) -> AsyncIterator[Mapping[str, Any]]:
        if self.family != "shop":
            raise NotImplementedError("product coupons have no list API")
        if before_page is not None:
            await before_page()
        for coupon in list(self.coupons.values()):
            yield copy.deepcopy(coupon)

    async def aclose(self) -> None:
        return None

    # -- upstream behaviour ------------------------------------------------------------------------------------
    def _refusal_code(self) -> str | int:
        return "PARAM_ERROR" if self.family == "product" else 9401020

    def _perform(self, call: Call) -> CallResult:
        if call.operation.startswith("product."):
            number = str(call.out_request_no or call.payload["out_request_no"])
            if number in self._answers:  # a retry of a call that already landed: the first answer again
                return self._answers[number]
            result = self._perform_product(call)
            self._answers[number] = result
        else:
            result = self._perform_shop(call)
        self.effects.append(call)
        return result

    def _perform_stock(self, call: Call) -> CallResult:
        """Stocks and bundles (decision D29): add gives a fresh id in SENDING; update_budget is a compare-and-set of
        the figure (a stale `current_*` is refused, nothing performed); deactivate is terminal."""
        body = {k: v for k, v in call.payload.items() if k not in ("out_request_no", "brand_id")}
        coupon_id = str(call.target)
        if coupon_id not in self.coupons:
            raise UpstreamError(call=call.operation, message="not found", http_status=404, code="NOT_FOUND")
        bundle = call.operation.startswith("product.bundle.")
        if call.operation.endswith(".add"):  # `{out_request_no, brand_id, stock | stock_bundle}` (reference B.4)
            stock_id = str(self._next_id)
            self._next_id += 1
            source = body.get("stock_bundle" if bundle else "stock", body)
            item = {**copy.deepcopy(source), "product_coupon_id": coupon_id, "state": "SENDING"}
            item.update({"stock_bundle_id": stock_id} if bundle else {"stock_id": stock_id})
            item["sent_count_info"] = {"total_sent_count": 0, "today_sent_count": 0}
            if bundle:  # two step stocks, deactivated one by one like stocks
                steps = [{"stock_id": f"{stock_id}-{i}", "state": "SENDING"} for i in (1, 2)]
                self.stocks.update({step["stock_id"]: step for step in copy.deepcopy(steps)})
                item["stock_list"] = steps
            self.stocks[stock_id] = item
        else:
            stock_id = str(call.stock_id)
            item = self.stocks[stock_id]
            if call.operation.endswith(".update_budget"):
                field = "max_count" if body["update_mode"] == "MAX_COUNT" else "max_count_per_day"
                rule = item.setdefault("stock_send_rule", {})
                if rule.get(field) != body[f"current_{field}"]:
                    raise UpstreamError(call=call.operation, message="current budget mismatch", http_status=400,
                                        code="INVALID_REQUEST")  # fmt: skip
                rule[field] = body[f"target_{field}"]
            elif call.operation.endswith(".deactivate"):
                item["state"] = "DEACTIVATED"
            else:
                item.update(copy.deepcopy(body))
        return CallResult(call.operation, coupon_id, copy.deepcopy(item), request_id=f"req-{stock_id}")

    def _perform_product(self, call: Call) -> CallResult:
        if call.operation.startswith(("product.stock.", "product.bundle.")):
            return self._perform_stock(call)
        body = {k: v for k, v in call.payload.items() if k != "out_request_no"}
        if call.operation == "product.create":
            coupon_id = str(self._next_id)
            self._next_id += 1
            self.coupons[coupon_id] = {**copy.deepcopy(body), "product_coupon_id": coupon_id, "state": "EFFECTIVE"}
        else:
            coupon_id = str(call.target)
            if coupon_id not in self.coupons:
                raise UpstreamError(call=call.operation, message="not found", http_status=404, code="NOT_FOUND")
            if call.operation == "product.patch":
                self.coupons[coupon_id].update(copy.deepcopy(body))
            else:
                self.coupons[coupon_id]["state"] = "DEACTIVATED"
        entity = copy.deepcopy(self.coupons[coupon_id])
        return CallResult(operation=call.operation, upstream_id=coupon_id, entity=entity, request_id=f"req-{coupon_id}")

    def _perform_shop(self, call: Call) -> CallResult:
        if call.operation == "shop.add":
            coupon = copy.deepcopy(dict(call.payload["coupon"]))
            coupon_id = str(coupon["out_coupon_id"])
            if coupon_id in self.coupons:
                raise UpstreamError(call=call.operation, message="out_coupon_id exists", code=9401020)
            self.coupons[coupon_id] = {**coupon, "status": 1}
        elif call.operation == "shop.update":
            coupon_id = str(call.payload["coupon"]["out_coupon_id"])
            self.coupons[coupon_id].update(copy.deepcopy(dict(call.payload["coupon"])))
        else:
            coupon_id = str(call.payload["out_coupon_id"])
            self.coupons[coupon_id]["status"] = int(call.payload["status"])
        return CallResult(operation=call.operation, upstream_id=coupon_id, raw={"errcode": 0})
