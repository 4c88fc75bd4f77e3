"""Admin calls on one stock (issue 16): play a campaign without users or a console.

| call | effect |
|---|---|
| `POST /_sandbox/stocks/{stock_id}/send` `{"count": n}` | n more sent (`sent_count_info` total and today + n) |
| `POST /_sandbox/stocks/{stock_id}/pause` | SENDING -> PAUSED |
| `POST /_sandbox/stocks/{stock_id}/resume` | PAUSED -> SENDING |
| `POST /_sandbox/stocks/{stock_id}/stop` | SENDING / PAUSED -> STOPPED (as if its end time had passed) |
| `POST /_sandbox/stocks/{stock_id}/review` | AUDITING -> SENDING (review passed) |
| `POST /_sandbox/stocks/{stock_id}/stores` `{"store_ids": [...]}` | the console sets its stores (decision D34) |

`send` needs a SENDING stock and is refused beyond `max_count` or today's `max_count_per_day`.
`/_sandbox/product-coupons/{product_coupon_id}/stocks/{stock_id}/<verb>` is the same call. Each answers the stock
(200), 404 for an unknown stock, 409 when the stock's state or budget does not allow it, 400 for a bad body.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from reconciler.sandbox.messages import JSON_CONTENT_TYPE, Answer, dump_json

if TYPE_CHECKING:
    from reconciler.sandbox.app import Sandbox

# verb -> (states it applies to, the state it leaves)
MOVES = {
    "pause": ({"SENDING"}, "PAUSED"),
    "resume": ({"PAUSED"}, "SENDING"),
    "stop": ({"SENDING", "PAUSED"}, "STOPPED"),
    "review": ({"AUDITING"}, "SENDING"),
}
VERBS = ("send", "stores", *MOVES)


def _answer(status: int, payload: Any) -> Answer:
    return Answer(status, dump_json(payload), [JSON_CONTENT_TYPE])


def stock_admin(sandbox: Sandbox, stock_id: str, verb: str, body: Any, product_coupon_id: str | None = None) -> Answer:
    store, stocks_service = sandbox.store, sandbox.stocks
    with store.transaction():
        found = None
        for entity, stocks in store.all_products():
            if product_coupon_id is not None and entity["product_coupon_id"] != product_coupon_id:
                continue
            item = next((s for s in stocks if s["stock_id"] == stock_id), None)
            if item is not None:
                found = (entity, stocks, item)
                break
        if found is None:
            return _answer(404, {"error": f"no stock {stock_id}"})
        entity, stocks, item = found
        if verb == "stores":  # a console edit of the associated stores (decision D34, stores.py)
            ids = body.get("store_ids") if isinstance(body, dict) else None
            if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
                return _answer(400, {"error": 'body must be {"store_ids": ["...", ...]}'})
            sandbox.stores.set_stores(stock_id, ids)
            return _answer(200, {"store_ids": sorted(set(ids))})
        row = store.get_product(entity["product_coupon_id"])
        assert row is not None
        stocks_service.settle(stocks)
        state = item["state"]
        if verb == "send":
            count = body.get("count") if isinstance(body, dict) else None
            if not isinstance(count, int) or isinstance(count, bool) or count < 1:
                return _answer(400, {"error": 'body must be {"count": n} with n >= 1'})
            if state != "SENDING":
                return _answer(409, {"error": f"stock {stock_id} is {state}: only a SENDING stock sends coupons"})
            rule, sent = item["stock_send_rule"], item["sent_count_info"]
            if sent["total_count"] + count > rule["max_count"]:
                left = rule["max_count"] - sent["total_count"]
                return _answer(409, {"error": f"stock {stock_id} has {left} of max_count {rule['max_count']} left"})
            per_day = rule.get("max_count_per_day")
            if per_day is not None and sent["today_count"] + count > per_day:
                left = per_day - sent["today_count"]
                return _answer(409, {"error": f"stock {stock_id} has {left} of max_count_per_day {per_day} left today"})
            stocks_service.mark_sent(item, count)
        else:
            allowed, target = MOVES[verb]
            if state not in allowed:
                return _answer(409, {"error": f"stock {stock_id} is {state}, not {' or '.join(sorted(allowed))}"})
            item["state"] = target
        store.put_product(row[0], entity, stocks)
    return _answer(200, item)
