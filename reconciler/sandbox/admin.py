"""The admin API under `/_sandbox/` (contract §3.1): inspect and edit upstream, read the call log, set faults/limits.

| call | effect |
|---|---|
| GET /_sandbox/state | every coupon of both kinds (product coupons with their stocks) |
| GET /_sandbox/calls, DELETE /_sandbox/calls | the call log, and its reset |
| PATCH /_sandbox/shop-coupons/{out_coupon_id} | deep-merge edit of a stored shop coupon (`{"coupon": {...}}`) |
| POST /_sandbox/shop-coupons/{out_coupon_id}/claim | users claim `{"count": n}` coupons of an active one (A.6.6) |
| PATCH /_sandbox/product-coupons/{product_coupon_id} | deep-merge edit of a stored product coupon entity |
| POST /_sandbox/product-coupons/{product_coupon_id}/review | AUDITING -> EFFECTIVE (stocks AUDITING -> SENDING) |
| POST /_sandbox/stocks/{stock_id}/{send,pause,resume,stop,review} | play a stock (`admin_stocks.py`) |
| GET/PUT /_sandbox/faults | the fault rules (`{"faults": [...]}` or a bare list) |
| GET/PUT /_sandbox/limits | per-operation rates (`{"rate_limits": {op: per_second or null}, "burst_s"?: s}`) |
| GET/PUT /_sandbox/switches | what the docs leave open (`app.SWITCHES`), e.g. `{"shop_status1_body": "partial"}` |

The admin API is not signed, not rate limited and not logged; the server binds loopback only.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from reconciler.sandbox.admin_stocks import VERBS, stock_admin
from reconciler.sandbox.config import check_operations
from reconciler.sandbox.messages import JSON_CONTENT_TYPE, Answer, Request, dump_json
from reconciler.sandbox.shop import claim

if TYPE_CHECKING:
    from reconciler.sandbox.app import Sandbox

PREFIX = "/_sandbox/"


def _answer(status: int, payload: Any) -> Answer:
    return Answer(status, dump_json(payload), [JSON_CONTENT_TYPE])


def _error(status: int, message: str) -> Answer:
    return _answer(status, {"error": message})


def deep_merge(target: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """RFC 7386-style merge: objects merge recursively, null deletes, anything else replaces."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            deep_merge(target[key], value)
        else:
            target[key] = value
    return target


def _json(request: Request) -> Any:
    return json.loads(request.body) if request.body.strip() else None


def handle_admin(sandbox: Sandbox, request: Request) -> Answer:
    parts = request.path[len(PREFIX) :].strip("/").split("/")
    method = request.method
    try:
        body = _json(request)
    except ValueError:
        return _error(400, "body is not valid JSON")
    try:
        return _dispatch(sandbox, method, parts, body)
    except ValueError as exc:
        return _error(400, str(exc))


def _dispatch(sandbox: Sandbox, method: str, parts: list[str], body: Any) -> Answer:
    store = sandbox.store
    match parts:
        case ["state"] if method == "GET":
            _total, shop = store.list_shop(0, 1 << 62)
            products = [{**entity, "stocks": stocks} for entity, stocks in store.all_products()]
            for product in products:
                sandbox.stocks.settle(product["stocks"])  # states as the API would answer them now
            return _answer(200, {"shop_coupons": shop, "product_coupons": products})
        case ["calls"] if method == "GET":
            return _answer(200, {"calls": sandbox.calls()})
        case ["calls"] if method == "DELETE":
            return _answer(200, {"cleared": sandbox.clear_calls()})
        case ["shop-coupons", out_coupon_id] if method == "PATCH":
            if not isinstance(body, dict):
                raise ValueError("body must be a JSON object")
            with store.transaction():
                doc = store.get_shop(out_coupon_id)
                if doc is None:
                    return _error(404, f"no shop coupon {out_coupon_id}")
                # The edit is of the coupon itself (as in the console); the stored document wraps it with its stock.
                target = doc["coupon"] if isinstance(doc.get("coupon"), dict) and "coupon" not in body else doc
                deep_merge(target, body)
                store.put_shop(out_coupon_id, doc)
            return _answer(200, doc)
        case ["shop-coupons", out_coupon_id, "claim"] if method == "POST":
            try:
                return _answer(200, claim(store, out_coupon_id, body.get("count") if isinstance(body, dict) else None))
            except LookupError as exc:
                return _error(404, str(exc))
        case ["shop-coupons", out_coupon_id] if method == "DELETE":
            # Not an API WeChat offers: it simulates a coupon vanishing upstream (drift tests of "missing").
            with store.transaction():
                if not store.delete_shop(out_coupon_id):
                    return _error(404, f"no shop coupon {out_coupon_id}")
            return _answer(200, {"deleted": out_coupon_id})
        case ["product-coupons", product_coupon_id] if method == "PATCH":
            if not isinstance(body, dict):
                raise ValueError("body must be a JSON object")
            with store.transaction():
                row = store.get_product(product_coupon_id)
                if row is None:
                    return _error(404, f"no product coupon {product_coupon_id}")
                mchid, entity, stocks = row
                deep_merge(entity, body)
                entity["product_coupon_id"] = product_coupon_id
                store.put_product(mchid, entity, stocks)
            return _answer(200, entity)
        case ["product-coupons", product_coupon_id, "review"] if method == "POST":
            with store.transaction():
                row = store.get_product(product_coupon_id)
                if row is None:
                    return _error(404, f"no product coupon {product_coupon_id}")
                mchid, entity, stocks = row
                if entity["state"] != "AUDITING":
                    return _error(409, f"product coupon {product_coupon_id} is {entity['state']}, not AUDITING")
                entity["state"] = "EFFECTIVE"
                for item in stocks:
                    if item["state"] == "AUDITING":
                        item["state"] = "SENDING"
                store.put_product(mchid, entity, stocks)
            return _answer(200, entity)
        case ["stocks", stock_id, verb] if method == "POST" and verb in VERBS:
            return stock_admin(sandbox, stock_id, verb, body)
        case ["product-coupons", product_coupon_id, "stocks", stock_id, verb] if method == "POST" and verb in VERBS:
            return stock_admin(sandbox, stock_id, verb, body, product_coupon_id)
        case ["faults"] if method == "GET":
            return _answer(200, {"faults": sandbox.faults.rules()})
        case ["faults"] if method == "PUT":
            rules = body.get("faults") if isinstance(body, dict) else body
            if not isinstance(rules, list):
                raise ValueError('body must be a list of rules or {"faults": [...]}')
            sandbox.faults.set_rules(rules)
            return _answer(200, {"faults": sandbox.faults.rules()})
        case ["limits"] if method == "GET":
            return _answer(200, {"rate_limits": sandbox.limiter.rates(), "burst_s": sandbox.limiter.burst_s})
        case ["limits"] if method == "PUT":
            if not isinstance(body, dict):
                raise ValueError("body must be a JSON object")
            rates = body.get("rate_limits", {k: v for k, v in body.items() if k != "burst_s"})
            burst = body.get("burst_s")
            if not isinstance(rates, dict) or not all(v is None or isinstance(v, int | float) for v in rates.values()):
                raise ValueError("rate_limits must map operation names to numbers (per second) or null")
            check_operations(rates)
            if burst is not None and not (isinstance(burst, int | float) and burst > 0):
                raise ValueError("burst_s must be a positive number")
            sandbox.limiter.set_rates(rates, None if burst is None else float(burst))
            return _answer(200, {"rate_limits": sandbox.limiter.rates(), "burst_s": sandbox.limiter.burst_s})
        case ["switches"] if method == "GET":
            return _answer(200, sandbox.switches())
        case ["switches"] if method == "PUT":
            if not isinstance(body, dict):
                raise ValueError("body must be a JSON object of switches")
            return _answer(200, sandbox.set_switches(body))
    return _error(404, "unknown admin call; see docs/sandbox.md")
