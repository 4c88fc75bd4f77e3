"""Coupon code upload to an UPLOAD stock (reference B.1 "upload codes", B.4; decision D35).

`POST …/product-coupons/{id}/stocks/{stock_id}/upload-coupon-codes` `{out_request_no, brand_id, code_list}`:
1..200 codes of 1..40 characters of `[0-9A-Za-z_-]` [D doc 4016434668]; only a stock whose `coupon_code_mode` is
UPLOAD and that is neither STOPPED nor DEACTIVATED [D]; at most the stock's `max_count` codes in all [INF]. The
answer is `{total_count, success_code_list, failed_code_list, already_exist_code_list, duplicate_code_list}` [3P SKIT
`…CouponCodesResponse`]: a code already uploaded is listed as existing, one repeated in the request as a duplicate.
The stock's `coupon_code_count_info {total_count, available_count}` counts the codes taken.

Secrecy (decision D35): the codes are kept in the table `stock_codes` (upstream's own data) and nowhere else: the
call log never holds request bodies, the idempotency record keeps the request's digest and count and the answer as
positions in the request (a replay, whose body is the same, rebuilds the lists from it), and error messages name a
code by its position (`/code_list/17`), never its text. Idempotent by `out_request_no` (B.9), rate limited like
every stock endpoint (20/s, B.12).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from reconciler.sandbox.messages import Answer, PayError, Request, invalid_request, param_error
from reconciler.sandbox.product_rules import forbid_other_keys
from reconciler.sandbox.stocks import StockService
from reconciler.sandbox.wechatpay import Caller

MAX_CODES_PER_CALL = 200  # [D doc 4016434668]
CODE = re.compile(r"[0-9A-Za-z_-]{1,40}")  # [D doc 4016434668]
ENDED = ("STOPPED", "DEACTIVATED")
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS stock_codes (stock_id TEXT NOT NULL, code TEXT NOT NULL, PRIMARY KEY (stock_id, code))"
)
MISMATCH = "out_request_no 已被使用，且请求内容不同"


class CodeService:
    """The code upload endpoint over the stock service's store, idempotency and signing."""

    def __init__(self, stocks: StockService) -> None:
        self.stocks = stocks
        self.pay = stocks.pay
        store = self.pay.store
        with store._lock:
            store._conn.execute(SCHEMA)

    def _existing(self, stock_id: str, codes: list[str]) -> set[str]:
        store = self.pay.store
        found: set[str] = set()
        with store._lock:
            for start in range(0, len(codes), 500):
                part = codes[start : start + 500]
                marks = ",".join("?" * len(part))
                rows = store._conn.execute(
                    f"SELECT code FROM stock_codes WHERE stock_id = ? AND code IN ({marks})", (stock_id, *part)
                ).fetchall()
                found.update(str(r[0]) for r in rows)
        return found

    def _insert(self, stock_id: str, codes: list[str]) -> None:
        store = self.pay.store
        with store._lock:
            store._conn.executemany(
                "INSERT INTO stock_codes (stock_id, code) VALUES (?, ?)", [(stock_id, c) for c in codes]
            )

    def count(self, stock_id: str) -> int:
        store = self.pay.store
        with store._lock:
            row = store._conn.execute("SELECT COUNT(*) FROM stock_codes WHERE stock_id = ?", (stock_id,)).fetchone()
        return int(row[0])

    def upload(self, request: Request, caller: Caller, pid: str, stock_id: str) -> Answer:
        body, brand_id, key = self.stocks.write(request, caller, pid, f"stocks/{stock_id}/upload-coupon-codes")
        forbid_other_keys(body, {"out_request_no", "brand_id", "code_list"})
        codes = check_codes(body.required("code_list"))
        digest = {"code_list_sha256": hashlib.sha256("\n".join(codes).encode()).hexdigest(), "count": len(codes)}
        with self.pay.store.transaction():
            entity, stocks = self.stocks.load(caller, brand_id, pid)
            prior = self.pay.store.get_idempotent(key)
            if prior is not None:
                if prior[0] != digest:
                    raise PayError("INVALID_REQUEST", MISMATCH, business_code=268578927)
                return self.pay.signed(200, rebuilt(codes, prior[1]["body"]))
            item = self.stocks.find(stocks, stock_id)
            if item.get("coupon_code_mode") != "UPLOAD":
                raise invalid_request(f"批次 {stock_id} 的 coupon_code_mode 不是 UPLOAD，不能上传券Code")
            if item["state"] in ENDED:
                raise invalid_request(f"批次 {stock_id} 状态为 {item['state']}，已失效或过期的批次不能上传券Code")
            positions = self._positions(stock_id, codes)
            new = [codes[i] for i in positions["success"]]
            info = item.setdefault("coupon_code_count_info", {"total_count": 0, "available_count": 0})
            limit = int(item.get("stock_send_rule", {}).get("max_count", 0)) or None
            if limit is not None and int(info.get("total_count", 0)) + len(new) > limit:
                raise invalid_request(f"券Code总数将超过批次 {stock_id} 的发放总量 {limit}")
            self._insert(stock_id, new)
            info["total_count"] = int(info.get("total_count", 0)) + len(new)
            info["available_count"] = int(info.get("available_count", 0)) + len(new)
            self.pay.store.put_product(caller.owner, entity, stocks)
            self.pay.store.put_idempotent(key, digest, {"status": 200, "body": positions})
            return self.pay.signed(200, rebuilt(codes, positions))

    def _positions(self, stock_id: str, codes: list[str]) -> dict[str, Any]:
        """The answer as positions in the request: new, already uploaded, repeated in the request."""
        existing = self._existing(stock_id, sorted(set(codes)))
        seen: set[str] = set()
        out: dict[str, Any] = {"success": [], "exist": [], "duplicate": [], "total_count": len(set(codes))}
        for i, code in enumerate(codes):
            if code in seen:
                out["duplicate"].append(i)
                continue
            seen.add(code)
            out["exist" if code in existing else "success"].append(i)
        return out


def check_codes(value: Any) -> list[str]:
    """1..200 codes of the documented form; a bad one is named by its position, never its text."""
    if not isinstance(value, list) or not value:
        raise param_error("/code_list", "must be a non-empty array of codes")
    if len(value) > MAX_CODES_PER_CALL:
        raise param_error("/code_list", f"holds {len(value)} codes: at most {MAX_CODES_PER_CALL} per call")
    for i, code in enumerate(value):
        if not isinstance(code, str) or not CODE.fullmatch(code):
            raise param_error(f"/code_list/{i}", "must be 1-40 characters of [0-9A-Za-z_-]")
    return list(value)


def rebuilt(codes: list[str], positions: dict[str, Any]) -> dict[str, Any]:
    return {
        "total_count": positions["total_count"],
        "success_code_list": [codes[i] for i in positions["success"]],
        "failed_code_list": [],
        "already_exist_code_list": [codes[i] for i in positions["exist"]],
        "duplicate_code_list": [codes[i] for i in positions["duplicate"]],
    }
