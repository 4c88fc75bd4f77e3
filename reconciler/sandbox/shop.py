"""Mini Program shop coupons, `/shop/coupon/*` (reference Part A; checklist E Family 1 items 4-10).

The coupon key is the merchant's `out_coupon_id`. Content is editable only in status 1; status moves 1->2, 2->3,
2->4 only (A.4.2). `update` replaces the whole coupon body (A.6.2 [INF]). Errcodes the reference could not confirm
(F.3) are named below as our defaults.
"""

from __future__ import annotations

import copy
from typing import Any

from reconciler.sandbox.config import SandboxConfig
from reconciler.sandbox.credentials import SandboxCredentials
from reconciler.sandbox.messages import Answer, Request, ShopError, shop_ok
from reconciler.sandbox.store import Store
from reconciler.sandbox.tokens import parse_json_object

# Documented codes (reference A.8).
ERR_PAGE_SIZE = 990005  # page_size超过上限
ERR_MISSING = 990007  # 参数缺失
ERR_TOO_LONG = 990008  # 参数过长
ERR_START_AFTER_END = 990009  # 开始时间大于结束时间
ERR_STOCK_MISSING = 1090005  # 优惠券库存不存在 (update_coupon_stock before activation, A.4.2 [3P])
# Our defaults (reference F.3: the coupon section of the errorcode page could not be read).
ERR_INVALID_ARGS = 40097  # global "invalid args" code, used for malformed values
ERR_COUPON_EXISTS = 1090003  # duplicate out_coupon_id on add [our default]
ERR_COUPON_NOT_FOUND = 1090057  # unknown out_coupon_id (the callback ret_code for "coupon not found", A.2)
ERR_WRONG_STATUS = 1090058  # illegal transition / update outside status 1 (callback ret_code "wrong status", A.2)
ERR_NOT_CONFIRMED = 48001  # confirm gate closed (E Family-1 item 4) [our default]
ERR_NOT_SUPPORTED = 48001  # user-coupon endpoints are not emulated [our default]
ERR_STOCK_STALE = 1090059  # update_coupon_stock with a receive_num that is not the handed-out count [our default]

MAX_PAGE_SIZE = 200  # reference A.6.4
COUPON_TYPES = frozenset({1, 2, 3, 4, 5, 6, 101, 102, 103, 104})  # A.4.1
VALID_TYPES = {1: ("start_time", "end_time"), 2: ("valid_day_num",), 3: ("valid_second",)}  # A.4.4
# Reference A.5: required discount fields per type (matrix), on discount_condition / discount_info.
CONDITION_FIELDS = ("out_product_ids", "product_cnt", "product_price", "tradein_info", "buyget_info")
INFO_FIELDS = ("discount_num", "discount_fee")
REQUIRED_BY_TYPE: dict[int, frozenset[str]] = {
    1: frozenset({"out_product_ids", "product_cnt", "discount_num"}),
    2: frozenset({"out_product_ids", "product_price", "discount_fee"}),
    3: frozenset({"out_product_ids", "discount_num"}),
    4: frozenset({"out_product_ids", "discount_fee"}),
    5: frozenset({"out_product_ids", "tradein_info"}),
    6: frozenset({"buyget_info"}),
    101: frozenset({"product_cnt", "discount_num"}),
    102: frozenset({"product_price", "discount_fee"}),
    103: frozenset({"discount_num"}),
    104: frozenset({"discount_fee"}),
}
# Type 6 may list products too (A.5 [INF: not needed]).
OPTIONAL_BY_TYPE: dict[int, frozenset[str]] = {6: frozenset({"out_product_ids"})}
# A.4.3: 视频号直播 is the only promote_type documented for /shop.
PROMOTE_TYPES = frozenset({4})
# coupon_info.name: /shop states no length; sibling APIs cap it at 10 characters (A.3, A.7 [??]): our assumption.
NAME_MAX_CHARS = 10
# The money limits of the /shop/coupon/add and /shop/coupon/update field tables (A.5) [D]:
DISCOUNT_NUM_FLOOR = 2000  # a 折扣 coupon is no deeper than 2折
DISCOUNT_FEE_CAP = 20000  # a 直减 / 满减 coupon takes off at most 200 元 (fen)
LEFT_AFTER_FULL_REDUCTION_PERCENT = 20  # a 满减 leaves at least 2折 of its threshold
DISCOUNT_TYPES = frozenset({1, 3, 101, 103})
REDUCTION_TYPES = frozenset({2, 4, 102, 104})
# Store 满减 (102) is the documented case; for product 满减 (2) the doc speaks of the goods' original price, whose
# worst case is a basket exactly at the threshold [INF].
FULL_REDUCTION_TYPES = frozenset({2, 102})
# Status transitions (A.4.2).
TRANSITIONS = {(1, 2), (2, 3), (2, 4)}
RESPONSE_ONLY = ("status", "create_time", "update_time", "appid")
USER_COUPON_ENDPOINTS = frozenset(
    {"add_user_coupon", "get_usercoupon_list", "update_user_coupon", "update_usercoupon_status"}
)
ENDPOINTS = frozenset({"add", "update", "get", "get_list", "update_status", "update_coupon_stock", "confirm"})
SECONDS_LIMIT = 10**11  # a 13-digit value is milliseconds (A.1): refused


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _require(obj: dict[str, Any], key: str, where: str) -> Any:
    if key not in obj or obj[key] is None or obj[key] == "":
        raise ShopError(ERR_MISSING, f"param missing: {where}{key}")
    return obj[key]


def _obj(parent: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = _require(parent, key, where)
    if not isinstance(value, dict):
        raise ShopError(ERR_INVALID_ARGS, f"invalid args: {where}{key} must be an object")
    return value


def _int(parent: dict[str, Any], key: str, where: str, minimum: int = 0) -> int:
    value = _require(parent, key, where)
    if not _is_int(value) or value < minimum:
        raise ShopError(ERR_INVALID_ARGS, f"invalid args: {where}{key} must be an integer >= {minimum}")
    return int(value)


def _str(parent: dict[str, Any], key: str, where: str) -> str:
    value = _require(parent, key, where)
    if not isinstance(value, str):
        raise ShopError(ERR_INVALID_ARGS, f"invalid args: {where}{key} must be a string")
    return value


def _seconds(parent: dict[str, Any], key: str, where: str) -> int:
    value = _int(parent, key, where)
    if value >= SECONDS_LIMIT:
        raise ShopError(ERR_INVALID_ARGS, f"invalid args: {where}{key} must be Unix seconds, not milliseconds")
    return value


def _promote_type(parent: dict[str, Any], where: str) -> None:
    value = _require(parent, "promote_type", where)
    if not _is_int(value) or value not in PROMOTE_TYPES:
        raise ShopError(ERR_INVALID_ARGS, f"invalid args: {where}promote_type must be 4 (视频号直播)")


def validate_coupon(coupon: Any, max_products: int) -> dict[str, Any]:
    """Check an `add`/`update` coupon body (E Family-1 item 5); returns the coupon without response-only fields."""
    if not isinstance(coupon, dict):
        raise ShopError(ERR_MISSING, "param missing: coupon")
    _str(coupon, "out_coupon_id", "coupon.")
    ctype = _require(coupon, "type", "coupon.")
    if not _is_int(ctype) or ctype not in COUPON_TYPES:
        raise ShopError(ERR_INVALID_ARGS, "invalid args: coupon.type must be one of 1-6, 101-104")
    _promote_type(coupon, "coupon.")
    info = _obj(coupon, "coupon_info", "coupon.")
    where = "coupon.coupon_info."
    name = _str(info, "name", where)
    if len(name) > NAME_MAX_CHARS:
        raise ShopError(ERR_TOO_LONG, f"parameter too long: {where}name must be at most {NAME_MAX_CHARS} characters")
    # The field table marks promote_info.promote_type and promote_info.finder.nickname required (A.6.1) [D].
    promote = _obj(info, "promote_info", where)
    _promote_type(promote, where + "promote_info.")
    _str(_obj(promote, "finder", where + "promote_info."), "nickname", where + "promote_info.finder.")
    _validate_discount(ctype, _obj(info, "discount_info", where), max_products)
    receive = _obj(info, "receive_info", where)
    start = _seconds(receive, "start_time", where + "receive_info.")
    end = _seconds(receive, "end_time", where + "receive_info.")
    if start > end:
        raise ShopError(ERR_START_AFTER_END, f"start time > end time: {where}receive_info.end_time")
    _int(receive, "limit_num_one_person", where + "receive_info.", minimum=1)
    _int(receive, "total_num", where + "receive_info.", minimum=1)
    valid = _obj(info, "valid_info", where)
    vtype = _require(valid, "valid_type", where + "valid_info.")
    if not _is_int(vtype) or vtype not in VALID_TYPES:
        raise ShopError(ERR_INVALID_ARGS, "invalid args: valid_info.valid_type must be 1, 2 or 3")
    if vtype == 1:
        vstart = _seconds(valid, "start_time", where + "valid_info.")
        vend = _seconds(valid, "end_time", where + "valid_info.")
        if vstart > vend:
            raise ShopError(ERR_START_AFTER_END, f"start time > end time: {where}valid_info.end_time")
    else:
        _int(valid, VALID_TYPES[vtype][0], where + "valid_info.", minimum=1)
    try:
        clean = copy.deepcopy(coupon)
    except RecursionError:  # absurdly deep extra fields: a malformed body
        raise ShopError(47001, "data format error") from None
    for key in RESPONSE_ONLY:
        clean.pop(key, None)
    clean["coupon_info"].pop("ext_info", None)
    return clean


def _validate_discount(ctype: int, discount: dict[str, Any], max_products: int) -> None:
    where = "coupon.coupon_info.discount_info."
    condition = discount.get("discount_condition") or {}
    if not isinstance(condition, dict):
        raise ShopError(ERR_INVALID_ARGS, f"invalid args: {where}discount_condition must be an object")
    # Only the fields the type uses are read: the /shop/coupon/add doc example sends every discount field on a
    # type 101 coupon (A.6.1), so fields a type does not use are accepted and ignored.
    used = REQUIRED_BY_TYPE[ctype] | OPTIONAL_BY_TYPE.get(ctype, frozenset())
    present = {key for key in CONDITION_FIELDS if condition.get(key) is not None and key in used}
    present |= {key for key in INFO_FIELDS if discount.get(key) is not None and key in used}
    required = REQUIRED_BY_TYPE[ctype]
    for key in sorted(required - present):
        prefix = where if key in INFO_FIELDS else where + "discount_condition."
        raise ShopError(ERR_MISSING, f"param missing: {prefix}{key} (required for type {ctype})")
    cwhere = where + "discount_condition."
    if "out_product_ids" in present:
        ids = condition["out_product_ids"]
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) and i for i in ids):
            raise ShopError(ERR_INVALID_ARGS, f"invalid args: {cwhere}out_product_ids must be non-empty strings")
        if len(ids) > max_products:
            # Reference A.7 / F.1: the real cap is unknown; the configured cap is a project assumption.
            raise ShopError(ERR_INVALID_ARGS, f"invalid args: at most {max_products} out_product_ids")
    if "product_cnt" in present:
        _int(condition, "product_cnt", cwhere, minimum=1)
    if "product_price" in present:
        _int(condition, "product_price", cwhere, minimum=1)
    if "discount_fee" in present:
        fee = _int(discount, "discount_fee", where, minimum=1)
        if ctype in REDUCTION_TYPES and fee > DISCOUNT_FEE_CAP:
            raise ShopError(
                ERR_INVALID_ARGS,
                f"invalid args: {where}discount_fee must be at most {DISCOUNT_FEE_CAP} "
                "(a 直减 / 满减 coupon takes off at most 200 元)",
            )
        if ctype in FULL_REDUCTION_TYPES and "product_price" in present:
            price = _int(condition, "product_price", where + "discount_condition.", minimum=1)
            if (price - fee) * 100 < LEFT_AFTER_FULL_REDUCTION_PERCENT * price:
                raise ShopError(
                    ERR_INVALID_ARGS,
                    f"invalid args: {where}discount_fee leaves less than 2折 of the "
                    "threshold product_price (a 满减 must leave at least 2折)",
                )
    if "discount_num" in present:
        num = _int(discount, "discount_num", where)
        if not 0 <= num <= 10000 or num % 100:  # A.5: up to 10折 in steps of 0.1折
            raise ShopError(ERR_INVALID_ARGS, f"invalid args: {where}discount_num must be 0..10000, step 100")
        if ctype in DISCOUNT_TYPES and num < DISCOUNT_NUM_FLOOR:
            raise ShopError(
                ERR_INVALID_ARGS,
                f"invalid args: {where}discount_num must be at least "
                f"{DISCOUNT_NUM_FLOOR} (a discount coupon is no deeper than 2折)",
            )
    if "tradein_info" in present:
        trade = _obj(condition, "tradein_info", cwhere)
        _str(trade, "out_product_id", cwhere + "tradein_info.")
        _int(trade, "price", cwhere + "tradein_info.")
    if "buyget_info" in present:
        buy = _obj(condition, "buyget_info", cwhere)
        bwhere = cwhere + "buyget_info."
        _str(buy, "buy_out_product_id", bwhere)
        _int(buy, "buy_product_cnt", bwhere, minimum=1)
        _str(buy, "get_out_product_id", bwhere)
        _int(buy, "get_product_cnt", bwhere, minimum=1)


def _zero_filled(value: Any) -> Any:
    """`value` with every leaf replaced by its type's zero (0, "", [], False): the shape kept, the content gone."""
    if isinstance(value, dict):
        return {key: _zero_filled(item) for key, item in value.items()}
    if isinstance(value, list):
        return []
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return 0
    if isinstance(value, str):
        return ""
    return value


class ShopService:
    """The `/shop/coupon/*` endpoints over the store."""

    def __init__(self, store: Store, credentials: SandboxCredentials, config: SandboxConfig) -> None:
        self.store = store
        self.credentials = credentials
        self.config = config

    def handle(self, name: str, request: Request) -> Answer:
        if name in USER_COUPON_ENDPOINTS:
            raise ShopError(
                ERR_NOT_SUPPORTED, "api unauthorized: user-coupon endpoints are not emulated by the sandbox"
            )
        body = parse_json_object(request.body)
        if name == "confirm":
            self.store.set_meta("shop_confirmed", "1")
            return shop_ok()
        if self.config.confirm_required and self.store.get_meta("shop_confirmed") != "1":
            raise ShopError(ERR_NOT_CONFIRMED, "api unauthorized: call /shop/coupon/confirm first")
        handler = getattr(self, f"_{name}")
        answer: Answer = handler(body)
        return answer

    def _now(self) -> int:
        return int(self.config.clock())

    def _load(self, out_coupon_id: Any) -> dict[str, Any]:
        if not isinstance(out_coupon_id, str) or not out_coupon_id:
            raise ShopError(ERR_MISSING, "param missing: out_coupon_id")
        doc = self.store.get_shop(out_coupon_id)
        if doc is None:
            # The code is a switch (reference F.3: the real one is not documented); 1090057 by default.
            raise ShopError(self.config.shop_not_found_errcode, "优惠券不存在")
        return doc

    def _add(self, body: dict[str, Any]) -> Answer:
        coupon = validate_coupon(body.get("coupon"), self.config.shop_max_out_product_ids)
        now = self._now()
        coupon.update(status=1, create_time=now, update_time=now, appid=self.credentials.appid)
        with self.store.transaction():
            if self.store.get_shop(coupon["out_coupon_id"]) is not None:
                raise ShopError(ERR_COUPON_EXISTS, "优惠券已存在")
            self.store.insert_shop(coupon["out_coupon_id"], {"coupon": coupon})
        return shop_ok()

    def _update(self, body: dict[str, Any]) -> Answer:
        coupon = validate_coupon(body.get("coupon"), self.config.shop_max_out_product_ids)
        with self.store.transaction():
            doc = self._load(coupon["out_coupon_id"])
            old = doc["coupon"]
            if old["status"] != 1:  # A.6.2: "当且仅当优惠券状态为1时可更新"
                raise ShopError(ERR_WRONG_STATUS, "优惠券状态不对: update is allowed only in status 1")
            coupon.update(
                status=old["status"], create_time=old["create_time"], update_time=self._now(), appid=old["appid"]
            )
            doc["coupon"] = coupon
            self.store.put_shop(coupon["out_coupon_id"], doc)
        return shop_ok()

    def _get(self, body: dict[str, Any]) -> Answer:
        doc = self._load(body.get("out_coupon_id"))
        return shop_ok(result={"coupon": self._echo(doc["coupon"])})

    def _get_list(self, body: dict[str, Any]) -> Answer:
        page_size = _int(body, "page_size", "", minimum=1)
        if page_size > MAX_PAGE_SIZE:
            raise ShopError(ERR_PAGE_SIZE, "page_size超过上限")
        offset = body.get("offset", 0)
        if not _is_int(offset) or not 0 <= offset < 2**31:
            raise ShopError(ERR_INVALID_ARGS, "invalid args: offset must be an integer >= 0")
        total, docs = self.store.list_shop(offset, page_size)
        return shop_ok(total_num=total, result_list=[{**doc, "coupon": self._echo(doc["coupon"])} for doc in docs])

    def _echo(self, coupon: dict[str, Any]) -> dict[str, Any]:
        """The coupon as `get` / `get_list` answer it: whole, or, for status 1 under the `shop_status1_body`
        switch, with the partial or zero-filled `coupon_info` the doc examples show (reference A.6.4)."""
        mode = self.config.shop_status1_body
        if mode == "full" or coupon.get("status") != 1 or not isinstance(coupon.get("coupon_info"), dict):
            return coupon
        info = coupon["coupon_info"]
        if mode == "partial":
            # [INF] which fields survive is not documented: the examples keep the name and drop the rest.
            kept = {"name": info["name"]} if "name" in info else {}
            return {**coupon, "coupon_info": kept}
        return {**coupon, "coupon_info": _zero_filled(info)}

    def _update_status(self, body: dict[str, Any]) -> Answer:
        status = _require(body, "status", "")
        if not _is_int(status) or status not in {1, 2, 3, 4}:
            raise ShopError(ERR_INVALID_ARGS, "invalid args: status must be 2, 3 or 4")
        with self.store.transaction():
            doc = self._load(body.get("out_coupon_id"))
            coupon = doc["coupon"]
            if (coupon["status"], status) not in TRANSITIONS:
                raise ShopError(ERR_WRONG_STATUS, f"优惠券状态不对: cannot move from {coupon['status']} to {status}")
            now = self._now()
            coupon["status"] = status
            coupon["update_time"] = now
            if status == 2:
                # A.3: ext_info.valid_time appears on activation and equals the activation time [INF].
                coupon["coupon_info"].setdefault("ext_info", {})["valid_time"] = now
                total = coupon["coupon_info"]["receive_info"]["total_num"]
                doc["coupon_stock"] = {
                    "out_coupon_id": coupon["out_coupon_id"],
                    # A.3: issued_num is the remaining quantity, receive_num the issued one.
                    "stock_info": {"issued_num": total, "receive_num": 0},
                    "create_time": now,
                    "update_time": now,
                    "appid": coupon["appid"],
                }
            self.store.put_shop(coupon["out_coupon_id"], doc)
        return shop_ok()

    def _update_coupon_stock(self, body: dict[str, Any]) -> Answer:
        """Set the quantities of an active coupon (reference A.6.6, our [INF] semantics, strict): absolute values;
        `receive_num` must equal the number handed out so far (else `ERR_STOCK_STALE`), `issued_num` >= 0 is what
        is left; the total becomes issued + received and `coupon_info.receive_info.total_num` follows it."""
        stock = body.get("coupon_stock")
        if not isinstance(stock, dict):
            raise ShopError(ERR_MISSING, "param missing: coupon_stock")
        info = _obj(stock, "stock_info", "coupon_stock.")
        issued = _int(info, "issued_num", "coupon_stock.stock_info.")
        received = _int(info, "receive_num", "coupon_stock.stock_info.")
        if issued + received < 1:  # the add page's total_num >= 1 (A.3)
            raise ShopError(ERR_INVALID_ARGS, "invalid args: issued_num + receive_num must be at least 1")
        with self.store.transaction():
            doc = self._load(stock.get("out_coupon_id"))
            coupon = doc["coupon"]
            if "coupon_stock" not in doc or coupon["status"] == 1:  # A.4.2: only after activation
                raise ShopError(ERR_STOCK_MISSING, "优惠券库存不存在")
            if coupon["status"] != 2:
                raise ShopError(ERR_WRONG_STATUS, f"优惠券状态不对: status is {coupon['status']}, not 2 (active)")
            handed_out = doc["coupon_stock"]["stock_info"]["receive_num"]
            if received != handed_out:
                raise ShopError(
                    ERR_STOCK_STALE,
                    f"receive_num {received} does not match the {handed_out} coupons already handed out",
                )
            now = self._now()
            doc["coupon_stock"]["stock_info"] = {"issued_num": issued, "receive_num": received}
            doc["coupon_stock"]["update_time"] = now
            coupon["coupon_info"]["receive_info"]["total_num"] = issued + received
            coupon["update_time"] = now
            self.store.put_shop(coupon["out_coupon_id"], doc)
        return shop_ok()


def claim(store: Store, out_coupon_id: str, count: Any) -> dict[str, Any]:
    """Users claim `count` coupons of an active shop coupon (the admin API's stand-in for real users): the
    handed-out count rises and what is left falls by `count`; the total is unchanged. Raises ValueError."""
    if not _is_int(count) or count < 1:
        raise ValueError("count must be an integer >= 1")
    with store.transaction():
        doc = store.get_shop(out_coupon_id)
        if doc is None:
            raise LookupError(f"no shop coupon {out_coupon_id}")
        if doc["coupon"].get("status") != 2 or "coupon_stock" not in doc:
            raise ValueError(f"shop coupon {out_coupon_id} is not active (status 2): nothing can be claimed")
        info = doc["coupon_stock"]["stock_info"]
        if count > info["issued_num"]:
            raise ValueError(f"only {info['issued_num']} coupons are left to claim, not {count}")
        info["issued_num"] -= count
        info["receive_num"] += count
        store.put_shop(out_coupon_id, doc)
    return dict(doc["coupon_stock"])
