"""The stock-bundle (批次组) endpoints of a PROGRESSIVE_BUNDLE product coupon (reference B.1, B.4, B.10).

| operation | call |
|---|---|
| `product.stock_bundles.create` | `POST …/{id}/stock-bundles` `{out_request_no, brand_id, stock_bundle}` |
| `product.stock_bundles.patch` | `PATCH …/stock-bundles/{bundle_id}` (the stock PATCH fields, on every step stock) |
| `product.stock_bundles.update_budget` | `POST …/stock-bundles/{bundle_id}/update-budget` (the stock budget body) |

Every answer is `{stock_bundle_id, stock_list}` (B.4 [3P]). No API deactivates a bundle: a client deactivates each
of its stocks with `POST …/stocks/{stock_id}/deactivate` (`stocks.py`), which accepts bundle stocks.
"""

from __future__ import annotations

from typing import Any

from reconciler.sandbox.messages import Answer, PayError, Request, invalid_request
from reconciler.sandbox.product_rules import RULE_KEY, check_stock_bundle, forbid_other_keys
from reconciler.sandbox.stock_model import (
    CHANGEABLE,
    MAX_EFFECTIVE_STOCKS,
    bundle_answer,
    bundle_id_for,
    bundle_ids,
    bundle_of,
    bundle_stocks,
    initial_state,
    live_count,
)
from reconciler.sandbox.stocks import StockService, apply_budget, check_budget, check_patch, not_changeable
from reconciler.sandbox.wechatpay import Caller


class BundleService:
    """Add, change and re-budget stock bundles; shares the stock service's loading, idempotency and rules."""

    def __init__(self, stocks: StockService) -> None:
        self.stocks = stocks
        self.pay = stocks.pay

    @staticmethod
    def members(stocks: list[dict[str, Any]], bundle_id: str) -> list[dict[str, Any]]:
        found = [s for s in stocks if bundle_of(s) == bundle_id]
        if not found:
            raise PayError("NOT_FOUND", "批次组不存在")
        return found

    def add_bundle(self, request: Request, caller: Caller, pid: str) -> Answer:
        """POST …/stock-bundles (B.4 [D doc 4016280622]): one stock per step of the coupon's ladder."""
        body, brand_id, key = self.stocks.write(request, caller, pid, "stock-bundles")
        forbid_other_keys(body, {"out_request_no", "brand_id", "stock_bundle"})
        with self.pay.store.transaction():
            entity, stocks = self.stocks.load(caller, brand_id, pid)
            replay = self.pay._idempotent(key, body.obj, create=False)
            if replay is not None:
                return replay
            if entity["usage_mode"] != "PROGRESSIVE_BUNDLE":
                raise invalid_request("仅 usage_mode=PROGRESSIVE_BUNDLE 的商品券可以添加批次组（单券请使用 stocks）")
            count = int(entity["progressive_bundle_usage_info"]["count"])
            source = body.required("stock_bundle")
            check_stock_bundle(source, "/stock_bundle", entity["scope"], entity["type"], count)
            if entity["state"] != "EFFECTIVE":
                raise invalid_request(f"商品券状态为 {entity['state']}，仅生效中（EFFECTIVE）的商品券可以添加批次组")
            if live_count(stocks) + count > MAX_EFFECTIVE_STOCKS:
                raise invalid_request(
                    f"每个商品券最多 {MAX_EFFECTIVE_STOCKS} 个生效中的批次：已有 {live_count(stocks)} 个，"
                    f"该批次组还需 {count} 个"
                )
            bundle_id = bundle_id_for(pid, len(bundle_ids(stocks)))
            state = initial_state(entity["state"], self.pay.config.product_initial_state)
            added = bundle_stocks(pid, bundle_id, len(stocks) + 1, source, RULE_KEY[entity["type"]], brand_id, state)
            stocks.extend(added)
            self.pay.store.put_product(caller.owner, entity, stocks)
            return self.pay._remember(key, body.obj, bundle_answer(bundle_id, stocks))

    def patch_bundle(self, request: Request, caller: Caller, pid: str, bundle_id: str) -> Answer:
        """PATCH …/stock-bundles/{bundle_id} (B.4 [D doc 4016280633]): the PATCH-able fields on every stock of the
        bundle; each must be SENDING or PAUSED ("批次组内批次未失效或过期")."""
        body, brand_id, key = self.stocks.write(request, caller, pid, f"stock-bundles/{bundle_id}")
        changes = check_patch(body)
        with self.pay.store.transaction():
            entity, stocks = self.stocks.load(caller, brand_id, pid)
            replay = self.pay._idempotent(key, body.obj, create=False)
            if replay is not None:
                return replay
            members = self.members(stocks, bundle_id)
            for item in members:
                if item["state"] not in CHANGEABLE:
                    raise not_changeable(item, "批次组内的批次")
            for item in members:
                item.update(changes)
            self.pay.store.put_product(caller.owner, entity, stocks)
            return self.pay._remember(key, body.obj, bundle_answer(bundle_id, stocks))

    def update_bundle_budget(self, request: Request, caller: Caller, pid: str, bundle_id: str) -> Answer:
        """POST …/stock-bundles/{bundle_id}/update-budget (B.4 [D doc 4016280642]): one dimension on every stock of
        the bundle; `current_*` must equal each stock's value and the target may not go below any stock's sent
        count."""
        body, brand_id, key = self.stocks.write(request, caller, pid, f"stock-bundles/{bundle_id}/update-budget")
        field, current, target = check_budget(body)
        with self.pay.store.transaction():
            entity, stocks = self.stocks.load(caller, brand_id, pid)
            replay = self.pay._idempotent(key, body.obj, create=False)
            if replay is not None:
                return replay
            apply_budget(self.members(stocks, bundle_id), field, current, target)
            self.pay.store.put_product(caller.owner, entity, stocks)
            return self.pay._remember(key, body.obj, bundle_answer(bundle_id, stocks))
