"""The stock (批次) endpoints of a product coupon (reference B.1, B.4, B.8-B.10; checklist E Family 2).

| operation | call |
|---|---|
| `product.stocks.create` | `POST …/product-coupons/{id}/stocks` `{out_request_no, brand_id, stock}` |
| `product.stocks.list` / `.get` | `GET …/stocks?brand_id=…` / `GET …/stocks/{stock_id}?brand_id=` |
| `product.stocks.patch` | `PATCH …/stocks/{stock_id}` `{out_request_no, brand_id, remark?, …}` (B.4) |
| `product.stocks.update_budget` | `POST …/stocks/{stock_id}/update-budget` `{out_request_no, brand_id, update_mode…}` |
| `product.stocks.deactivate` | `POST …/stocks/{stock_id}/deactivate` `{out_request_no, deactivate_reason, brand_id}` |

Stock states are settled on every read (STOPPED once `available_end_time` has passed on the sandbox clock) and
`sent_count_info.today_count` restarts each China calendar day.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from reconciler.sandbox.messages import Answer, PayError, Request, invalid_request, param_error
from reconciler.sandbox.product_rules import (
    MAX_COUNT,
    PATCHABLE_STOCK_FIELDS,
    Fields,
    check_out_request_no,
    check_stock,
    check_stock_display,
    forbid_other_keys,
)
from reconciler.sandbox.stock_model import (
    CHANGEABLE,
    MAX_EFFECTIVE_STOCKS,
    NOT_SENDING_CODE,
    STOCK_STATES,
    bundle_of,
    initial_state,
    live_count,
    new_stock,
    settle_states,
)
from reconciler.sandbox.wechatpay import CHINA, Caller, ProductCouponService, rfc3339

MAX_STOCK_PAGE = 50  # B.4: list stocks page_size <= 50, default 20
BUDGET_MODES = {"MAX_COUNT": "max_count", "MAX_COUNT_PER_DAY": "max_count_per_day"}  # B.4 [D doc 4015781561]
BUDGET_KEYS = {"out_request_no", "brand_id", "update_mode", "current_max_count", "target_max_count",
               "current_max_count_per_day", "target_max_count_per_day"}  # fmt: skip
NOT_FOUND_MESSAGE = "批次不存在"


def not_changeable(item: dict[str, Any], what: str = "批次") -> PayError:
    return invalid_request(
        f"{what} {item['stock_id']} 状态为 {item['state']}，仅发放中（SENDING）或已暂停（PAUSED）的批次可操作",
        business_code=NOT_SENDING_CODE,
    )


def check_budget(body: Fields) -> tuple[str, int, int]:
    """`update_mode` and its own pair of `current_*` / `target_*` (one dimension per call, B.4): the stock field it
    changes, the current value the caller believes in, the target. The other pair must be absent."""
    forbid_other_keys(body, BUDGET_KEYS)
    mode = body.enum("update_mode", tuple(BUDGET_MODES))
    assert mode is not None
    field = BUDGET_MODES[mode]
    other = "max_count_per_day" if field == "max_count" else "max_count"
    for key in (f"current_{other}", f"target_{other}"):
        if body.has(key):
            raise param_error(body.at(key), f"is not accepted with update_mode={mode} (one dimension per call)")
    # [INF] 0 names "no daily limit" as the stock's current max_count_per_day (the stock has none).
    current = body.integer(f"current_{field}", minimum=0, maximum=MAX_COUNT)
    target = body.integer(f"target_{field}", minimum=1, maximum=MAX_COUNT)
    assert current is not None and target is not None
    return field, current, target


def apply_budget(items: list[dict[str, Any]], field: str, current: int, target: int) -> None:
    """Compare-and-set one budget dimension on `items` (a stock, or every stock of a bundle); refuses with the
    figures when the caller's `current` is stale or the target is below what was already sent."""
    sent_key = "total_count" if field == "max_count" else "today_count"
    for item in items:
        if item["state"] not in CHANGEABLE:
            raise not_changeable(item)
        actual = int(item["stock_send_rule"].get(field, 0))
        if current != actual:
            raise invalid_request(
                f"current_{field} 为 {current}，但批次 {item['stock_id']} 当前的 {field} 为 {actual}；"
                "请先查询批次，再以当前值修改",
                field=f"/current_{field}",
            )
        sent = int(item["sent_count_info"].get(sent_key, 0))
        if target < sent:
            what = "已发放" if field == "max_count" else "今日已发放"
            raise invalid_request(
                f"target_{field} {target} 小于批次 {item['stock_id']} {what}的 {sent} 次",
                field=f"/target_{field}",
            )
    for item in items:
        item["stock_send_rule"][field] = target


def check_patch(body: Fields) -> dict[str, Any]:
    """The PATCH body (stock or bundle, B.4): only the PATCH-able fields, at least one, validated like create's."""
    forbid_other_keys(body, {"out_request_no", "brand_id", *PATCHABLE_STOCK_FIELDS})
    changes = {k: v for k, v in body.obj.items() if k in PATCHABLE_STOCK_FIELDS}
    if not changes:
        raise param_error("/", f"nothing to change: send at least one of {', '.join(PATCHABLE_STOCK_FIELDS)}")
    check_stock_display(body, required=False)
    return changes


class StockService:
    """The stock endpoints over the product-coupon service's store, idempotency and signing."""

    def __init__(self, pay: ProductCouponService) -> None:
        self.pay = pay

    # --- shared -------------------------------------------------------------------------------------------------

    def today(self) -> str:
        return datetime.fromtimestamp(self.pay.config.clock(), CHINA).date().isoformat()

    def settle(self, stocks: list[dict[str, Any]]) -> bool:
        """Bring stored stocks up to the sandbox clock: STOPPED after their end time, today's count per day."""
        changed = self.pay.config.stock_stops_at_end_time and settle_states(stocks, self.pay.config.clock())
        today = self.today()
        for item in stocks:
            sent = item.get("sent_count_info") or {}
            if sent.get("today_count") and self.pay.store.get_meta(f"sent_day:{item['stock_id']}") != today:
                sent["today_count"] = 0
                changed = True
        return changed

    def load(self, caller: Caller, brand_id: str, pid: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        entity, stocks = self.pay._load(caller.owner, brand_id, pid)
        self.settle(stocks)
        return entity, stocks

    @staticmethod
    def find(stocks: list[dict[str, Any]], stock_id: str) -> dict[str, Any]:
        for item in stocks:
            if item["stock_id"] == stock_id:
                return item
        raise PayError("NOT_FOUND", NOT_FOUND_MESSAGE)

    def write(self, request: Request, caller: Caller, pid: str, resource: str) -> tuple[Fields, str, str]:
        """Parse a write: (body, brand_id, idempotency key for this endpoint + resource, B.9)."""
        body = self.pay._body(request)
        number = check_out_request_no(body)
        brand_id = self.pay._body_brand(body, caller)
        return body, brand_id, f"{caller.owner}|{brand_id}|{request.method} product-coupons/{pid}/{resource}|{number}"

    def mark_sent(self, item: dict[str, Any], count: int) -> None:
        """Count `count` more coupons sent today (the admin route that simulates users claiming)."""
        today = self.today()
        sent = item.setdefault("sent_count_info", {"total_count": 0, "today_count": 0})
        sent["total_count"] = int(sent.get("total_count", 0)) + count
        sent["today_count"] = int(sent.get("today_count", 0)) + count
        self.pay.store.set_meta(f"sent_day:{item['stock_id']}", today)

    # --- endpoints ----------------------------------------------------------------------------------------------

    def add_stock(self, request: Request, caller: Caller, pid: str) -> Answer:
        """POST …/stocks (B.4 [D doc 4015781304]): `{out_request_no, brand_id, stock}` for an EFFECTIVE SINGLE-mode
        coupon; at most 200 stocks that are neither STOPPED nor DEACTIVATED. Answers the stock."""
        body, brand_id, key = self.write(request, caller, pid, "stocks")
        forbid_other_keys(body, {"out_request_no", "brand_id", "stock"})
        with self.pay.store.transaction():
            entity, stocks = self.load(caller, brand_id, pid)
            replay = self.pay._idempotent(key, body.obj, create=False)
            if replay is not None:
                return replay
            source = body.required("stock")
            check_stock(source, "/stock", entity["scope"], entity["type"])
            if entity["usage_mode"] != "SINGLE":
                raise invalid_request("仅 usage_mode=SINGLE 的商品券可以追加批次（多次优惠请使用 stock-bundles）")
            if entity["state"] != "EFFECTIVE":
                raise invalid_request(f"商品券状态为 {entity['state']}，仅生效中（EFFECTIVE）的商品券可以追加批次")
            if live_count(stocks) >= MAX_EFFECTIVE_STOCKS:
                raise invalid_request(f"每个商品券最多 {MAX_EFFECTIVE_STOCKS} 个生效中的批次")
            state = initial_state(entity["state"], self.pay.config.product_initial_state)
            item = new_stock(pid, len(stocks) + 1, source, brand_id, state)
            item["single_usage_rule"] = source["single_usage_rule"]
            stocks.append(item)
            self.pay.store.put_product(caller.owner, entity, stocks)
            return self.pay._remember(key, body.obj, item)

    def patch_stock(self, request: Request, caller: Caller, pid: str, stock_id: str) -> Answer:
        """PATCH …/stocks/{stock_id} (B.4 [D doc 4015781556]): the given PATCH-able fields, each replaced whole;
        SENDING / PAUSED stocks outside a bundle only. Answers the whole stock."""
        body, brand_id, key = self.write(request, caller, pid, f"stocks/{stock_id}")
        changes = check_patch(body)
        with self.pay.store.transaction():
            entity, stocks = self.load(caller, brand_id, pid)
            replay = self.pay._idempotent(key, body.obj, create=False)
            if replay is not None:
                return replay
            item = self.find(stocks, stock_id)
            if bundle_of(item) is not None:
                raise invalid_request("批次组内的批次不能单独修改，请使用修改商品券批次组接口（stock-bundles）")
            if item["state"] not in CHANGEABLE:
                raise not_changeable(item)
            item.update(changes)
            self.pay.store.put_product(caller.owner, entity, stocks)
            return self.pay._remember(key, body.obj, item)

    def update_budget(self, request: Request, caller: Caller, pid: str, stock_id: str) -> Answer:
        """POST …/stocks/{stock_id}/update-budget (B.4 [D doc 4015781561]): one dimension, compare-and-set."""
        body, brand_id, key = self.write(request, caller, pid, f"stocks/{stock_id}/update-budget")
        field, current, target = check_budget(body)
        with self.pay.store.transaction():
            entity, stocks = self.load(caller, brand_id, pid)
            replay = self.pay._idempotent(key, body.obj, create=False)
            if replay is not None:
                return replay
            item = self.find(stocks, stock_id)
            if bundle_of(item) is not None:
                raise invalid_request("批次组内的批次不能单独修改预算，请使用修改商品券批次组发放预算接口")
            apply_budget([item], field, current, target)
            self.pay.store.put_product(caller.owner, entity, stocks)
            return self.pay._remember(key, body.obj, item)

    def deactivate_stock(self, request: Request, caller: Caller, pid: str, stock_id: str) -> Answer:
        """POST …/stocks/{stock_id}/deactivate (B.8, B.10): SENDING or PAUSED only; terminal. Works for the stocks
        of a bundle too (no API deactivates a bundle: deactivate each of its stocks)."""
        body = self.pay._body(request)
        out_request_no = check_out_request_no(body)
        brand_id = self.pay._body_brand(body, caller)
        forbid_other_keys(body, {"out_request_no", "deactivate_reason", "brand_id"})
        key = f"{caller.owner}|{brand_id}|POST stocks/{stock_id}/deactivate|{out_request_no}"
        with self.pay.store.transaction():
            entity, stocks = self.load(caller, brand_id, pid)
            replay = self.pay._idempotent(key, body.obj, create=False)
            if replay is not None:
                return replay
            reason = body.string("deactivate_reason", max_len=150)
            item = self.find(stocks, stock_id)
            if item["state"] not in CHANGEABLE:
                raise not_changeable(item)
            item.update(
                state="DEACTIVATED",
                deactivate_request_no=out_request_no,
                deactivate_time=rfc3339(self.pay.config.clock()),
                deactivate_reason=reason,
            )
            self.pay.store.put_product(caller.owner, entity, stocks)
            return self.pay._remember(key, body.obj, item)

    def list_stocks(self, request: Request, caller: Caller, pid: str) -> Answer:
        """GET …/stocks (B.4): page_size <= 50 (default 20), opaque page_token, filters state / stock_bundle_id."""
        brand_id = self.pay._query_brand(request, caller)
        _, stocks = self.load(caller, brand_id, pid)
        query = request.query
        raw_size = query.get("page_size", "20")
        if not raw_size.isdigit() or not 1 <= int(raw_size) <= MAX_STOCK_PAGE:
            raise param_error("page_size", f"must be 1..{MAX_STOCK_PAGE}", raw_size, location="query")
        page_size = int(raw_size)
        offset = 0
        if query.get("page_token"):
            try:
                offset = int(base64.urlsafe_b64decode(query["page_token"].encode()).decode())
            except (ValueError, UnicodeDecodeError):
                raise param_error("page_token", "is not a token this API returned", location="query") from None
        state = query.get("state")
        if state is not None and state not in STOCK_STATES:
            raise param_error("state", f"must be one of {', '.join(STOCK_STATES)}", state, location="query")
        wanted_bundle = query.get("stock_bundle_id")
        selected = [
            s
            for s in stocks
            if (state is None or s["state"] == state) and (not wanted_bundle or bundle_of(s) == wanted_bundle)
        ]
        page = selected[offset : offset + page_size]
        payload: dict[str, Any] = {"total_count": len(selected), "stock_list": page}
        if offset + page_size < len(selected):
            payload["next_page_token"] = base64.urlsafe_b64encode(str(offset + page_size).encode()).decode()
        return self.pay.signed(200, payload)

    def get_stock(self, request: Request, caller: Caller, pid: str, stock_id: str) -> Answer:
        """GET …/stocks/{stock_id} (B.1)."""
        brand_id = self.pay._query_brand(request, caller)
        _, stocks = self.load(caller, brand_id, pid)
        return self.pay.signed(200, self.find(stocks, stock_id))
