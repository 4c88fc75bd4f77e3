"""The store association endpoints of a stock (reference B.1, B.4; decision D34).

| operation | call |
|---|---|
| `product.stocks.associate_stores` | `POST …/stocks/{stock_id}/associate-stores` `{brand_id, store_list}` |
| `product.stocks.disassociate_stores` | `POST …/stocks/{stock_id}/disassociate-stores` (same body) |
| `product.stocks.associated_stores` | `GET …/stocks/{stock_id}/associated-stores?brand_id=&page_size=&page_token=` |

Rules: at most 200 ids per call [D]; only a stock whose `store_scope` is SPECIFIC, not STOPPED or DEACTIVATED [D]; a
stock of a bundle is refused (the bundle has its own batch API, not modelled). No request number: associating an
associated store (or disassociating one that is not) succeeds and changes nothing [INF], so a re-sent batch is
harmless. The answer is `{total_count, success_store_list, failed_store_list}` [3P SKIT]; `total_count` is the
stock's associated stores afterwards [INF]. Store ids are 1-32 digits [INF]; ids listed in the `unknown_store_ids`
switch fail with `STORE_NOT_FOUND` in `failed_store_list` (our default code).

The call log entry of each association call carries `effect`: how many ids it actually added or removed, so a test
can tell a batch that took effect from a harmless re-send. The ids live beside the stock (store meta
`stores:<stock_id>`), so list-stocks answers stay as documented.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from reconciler.sandbox.messages import Answer, PayError, Request, invalid_request, param_error
from reconciler.sandbox.product_rules import forbid_other_keys

MAX_STORES_PER_CALL = 200  # reference B.1 [D docs 4015781302, 4015781537]
MAX_STORE_PAGE = 200  # reference B.4 [D doc 4015781546]: page_size default 20, at most 200
DEFAULT_STORE_PAGE = 20
STORE_ID = re.compile(r"[0-9]{1,32}")
ENDED = ("STOPPED", "DEACTIVATED")
UNKNOWN_STORE_CODE = "STORE_NOT_FOUND"  # our default


class StoreService:
    """Associate, disassociate and list the stores of a stock, over the stock service's store and signing."""

    def __init__(self, stocks: Any) -> None:
        self.stocks = stocks  # reconciler.sandbox.stocks.StockService

    @property
    def pay(self) -> Any:
        return self.stocks.pay

    def _ids(self, stock_id: str) -> list[str]:
        raw = self.pay.store.get_meta(f"stores:{stock_id}")
        return list(json.loads(raw)) if raw else []

    def _stock(self, caller: Any, brand_id: str, pid: str, stock_id: str) -> dict[str, Any]:
        _, stocks = self.stocks.load(caller, brand_id, pid)
        item: dict[str, Any] = self.stocks.find(stocks, stock_id)
        if item.get("stock_bundle_info"):
            raise invalid_request("批次组内的批次不能单独关联门店，请使用批次组批量关联门店接口")
        if item.get("store_scope") != "SPECIFIC":
            raise invalid_request(
                f"批次 {stock_id} 的 store_scope 为 {item.get('store_scope')}，仅 SPECIFIC 的批次可关联门店"
            )
        if item.get("state") in ENDED:
            raise invalid_request(f"批次 {stock_id} 状态为 {item['state']}，已失效或过期的批次不能关联门店")
        return item

    def change(self, request: Request, caller: Any, pid: str, stock_id: str, *, associate: bool) -> Answer:
        body = self.pay._body(request)
        brand_id = self.pay._body_brand(body, caller)
        forbid_other_keys(body, {"brand_id", "store_list"})
        stores = body.required("store_list")
        if not isinstance(stores, list) or not stores:
            raise param_error("/store_list", "must be a non-empty array")
        if len(stores) > MAX_STORES_PER_CALL:
            raise param_error("/store_list", f"at most {MAX_STORES_PER_CALL} stores per call", len(stores))
        ids: list[str] = []
        for i, entry in enumerate(stores):
            value = entry.get("store_id") if isinstance(entry, dict) else None
            if not isinstance(value, str) or not STORE_ID.fullmatch(value) or set(entry) != {"store_id"}:
                raise param_error(f"/store_list/{i}/store_id", "must be a store id of 1-32 digits", value)
            ids.append(value)
        unknown = set(self.pay.config.unknown_store_ids)
        with self.pay.store.transaction():
            self._stock(caller, brand_id, pid, stock_id)
            known = set(self._ids(stock_id))
            before = len(known)
            ok = [s for s in ids if s not in unknown]
            if associate:
                known |= set(ok)
            else:
                known -= set(ok)
            self.pay.store.set_meta(f"stores:{stock_id}", json.dumps(sorted(known)))
        answer: Answer = self.pay.signed(
            200,
            {
                "total_count": len(known),
                "success_store_list": [{"store_id": s} for s in ok],
                "failed_store_list": [
                    {"store_id": s, "code": UNKNOWN_STORE_CODE, "message": "门店不存在"} for s in ids if s in unknown
                ],
            },
        )
        answer.log_extra = {"effect": abs(len(known) - before), "stores": len(ids)}
        return answer

    def associate(self, request: Request, caller: Any, pid: str, stock_id: str) -> Answer:
        return self.change(request, caller, pid, stock_id, associate=True)

    def disassociate(self, request: Request, caller: Any, pid: str, stock_id: str) -> Answer:
        return self.change(request, caller, pid, stock_id, associate=False)

    def associated(self, request: Request, caller: Any, pid: str, stock_id: str) -> Answer:
        brand_id = self.pay._query_brand(request, caller)
        self._stock(caller, brand_id, pid, stock_id)
        query = request.query
        raw_size = query.get("page_size", str(DEFAULT_STORE_PAGE))
        if not raw_size.isdigit() or not 1 <= int(raw_size) <= MAX_STORE_PAGE:
            raise param_error("page_size", f"must be 1..{MAX_STORE_PAGE}", raw_size, location="query")
        size = int(raw_size)
        offset = 0
        if query.get("page_token"):
            try:
                offset = int(base64.urlsafe_b64decode(query["page_token"].encode()).decode())
            except (ValueError, UnicodeDecodeError):
                raise param_error("page_token", "is not a token this API returned", location="query") from None
        ids = self._ids(stock_id)
        payload: dict[str, Any] = {
            "total_count": len(ids),
            "store_list": [{"store_id": s} for s in ids[offset : offset + size]],
        }
        if offset + size < len(ids):
            payload["next_page_token"] = base64.urlsafe_b64encode(str(offset + size).encode()).decode()
        page: Answer = self.pay.signed(200, payload)
        return page

    def set_stores(self, stock_id: str, ids: list[str]) -> None:
        """The admin route's console edit: the stock's stores become `ids`."""
        self.pay.store.set_meta(f"stores:{stock_id}", json.dumps(sorted(set(ids))))


# `…/stocks/{stock_id}/<verb>` -> (operation suffix, handler, allowed methods) for the app's router.
STORE_VERBS: dict[str, Any] = {
    "associate-stores": lambda st: ("associate_stores", st.associate, ("POST",)),
    "disassociate-stores": lambda st: ("disassociate_stores", st.disassociate, ("POST",)),
    "associated-stores": lambda st: ("associated_stores", st.associated, ("GET",)),
}

__all__ = ["PayError", "StoreService"]
