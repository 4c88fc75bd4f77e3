"""Validation of product-coupon request bodies (reference B.2-B.5, B.7, B.8; checklist E Family 2 items 5-7, 11-12).

Every problem raises `PayError` (400 PARAM_ERROR for malformed fields with a JSON-pointer `detail.field`,
400 INVALID_REQUEST for business-rule violations such as a scope/type mismatch).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from reconciler.sandbox.config import SandboxConfig
from reconciler.sandbox.messages import PayError, invalid_request, param_error

OUT_REQUEST_NO = re.compile(r"[0-9A-Za-z_-]{6,40}")  # B.2 / B.9
SCOPES = ("ALL", "SINGLE")
TYPES = ("NORMAL", "DISCOUNT", "EXCHANGE")
USAGE_MODES = ("SINGLE", "PROGRESSIVE_BUNDLE")
CODE_MODES = ("WECHATPAY", "UPLOAD", "API_ASSIGN")
USAGE_METHODS = ("OFFLINE", "MINI_PROGRAM", "APP", "PAYMENT_CODE")
CODE_DISPLAY_MODES = ("INVISIBLE", "BARCODE", "QRCODE")
BACKGROUND_COLORS = tuple(f"Color{n:03d}" for n in range(10, 101, 10))
STORE_SCOPES = ("NONE", "ALL", "SPECIFIC")
WEEK_DAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")
RULE_KEY = {"NORMAL": "normal_coupon", "DISCOUNT": "discount_coupon", "EXCHANGE": "exchange_coupon"}
MAX_COUNT = 100_000_000  # B.4 stock_send_rule caps
_FOUR_BYTE = re.compile("[\U00010000-\U0010ffff]")  # characters that take 4 bytes in UTF-8


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_strings(value: Any, pointer: str, reject_4byte: bool) -> None:
    """No nulls anywhere (B.11) and, when configured, no 4-byte UTF-8 characters (B.11, E Family-2 item 12)."""
    if value is None:
        raise param_error(pointer or "/", "null is not allowed")
    if isinstance(value, dict):
        for key, item in value.items():
            check_strings(item, f"{pointer}/{key}", reject_4byte)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            check_strings(item, f"{pointer}/{index}", reject_4byte)
    elif isinstance(value, str) and reject_4byte and not value.isascii() and _FOUR_BYTE.search(value):
        raise param_error(pointer, "contains a 4-byte UTF-8 character, which APIv3 does not accept")


class Fields:
    """Typed access to one JSON object, raising PARAM_ERROR with the field's JSON pointer."""

    def __init__(self, obj: Any, pointer: str) -> None:
        if not isinstance(obj, dict):
            raise param_error(pointer or "/", "must be an object")
        self.obj: dict[str, Any] = obj
        self.pointer = pointer

    def at(self, key: str) -> str:
        return f"{self.pointer}/{key}"

    def has(self, key: str) -> bool:
        return key in self.obj

    def required(self, key: str) -> Any:
        if key not in self.obj:
            raise param_error(self.at(key), "is required")
        return self.obj[key]

    def sub(self, key: str, required: bool = True) -> Fields | None:
        if key not in self.obj and not required:
            return None
        return Fields(self.required(key), self.at(key))

    def string(self, key: str, required: bool = True, min_len: int = 1, max_len: int | None = None) -> str | None:
        if key not in self.obj and not required:
            return None
        value = self.required(key)
        if not isinstance(value, str):
            raise param_error(self.at(key), "must be a string", value)
        if len(value) < min_len or (max_len is not None and len(value) > max_len):
            bound = f"{min_len}-{max_len}" if max_len is not None else f"at least {min_len}"
            raise param_error(self.at(key), f"length must be {bound} characters", value)
        return value

    def integer(self, key: str, required: bool = True, minimum: int = 0, maximum: int | None = None) -> int | None:
        if key not in self.obj and not required:
            return None
        value = self.required(key)
        if not _is_int(value):
            raise param_error(self.at(key), "must be an integer", value)
        if value < minimum or (maximum is not None and value > maximum):
            bound = f"{minimum}..{maximum}" if maximum is not None else f">= {minimum}"
            raise param_error(self.at(key), f"must be in {bound}", value)
        return int(value)

    def enum(self, key: str, allowed: tuple[str, ...], required: bool = True) -> str | None:
        if key not in self.obj and not required:
            return None
        value = self.required(key)
        if value not in allowed:
            raise param_error(self.at(key), f"must be one of {', '.join(allowed)}", value)
        return str(value)

    def array(self, key: str, required: bool = True, min_len: int = 0, max_len: int | None = None) -> list[Any]:
        if key not in self.obj and not required:
            return []
        value = self.required(key)
        if not isinstance(value, list):
            raise param_error(self.at(key), "must be an array")
        if len(value) < min_len or (max_len is not None and len(value) > max_len):
            raise param_error(self.at(key), f"must have {min_len}..{max_len} items")
        return value

    def time(self, key: str, required: bool = True) -> datetime | None:
        text = self.string(key, required)
        if text is None:
            return None
        return parse_rfc3339(text, self.at(key))


def parse_rfc3339(text: str, pointer: str) -> datetime:
    """RFC3339 with an explicit offset, e.g. `2025-08-31T23:59:59+08:00` (B.2)."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})", text):
        raise param_error(pointer, "must be an RFC3339 time such as 2025-08-31T23:59:59+08:00", text)
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise param_error(pointer, "is not a valid time", text) from None


def check_out_request_no(body: Fields) -> str:
    value = body.required("out_request_no")
    if not isinstance(value, str) or not OUT_REQUEST_NO.fullmatch(value):
        raise param_error(body.at("out_request_no"), "must be 6-40 characters of [0-9A-Za-z_-]", value)
    return value


def check_brand_id(body: dict[str, Any], pointer: str, location: str) -> str:
    value = body.get("brand_id")
    if not isinstance(value, str) or not value:
        raise param_error(pointer, "is required", location=location)
    return value


class ImageRule:
    """Image URLs must be "uploaded" URLs (E Family-2 item 7): https under a configured prefix."""

    def __init__(self, prefixes: tuple[str, ...]) -> None:
        self.prefixes = prefixes

    def check(self, fields: Fields, key: str, required: bool = True) -> None:
        url = fields.string(key, required)
        if url is not None and not url.startswith(self.prefixes):
            raise invalid_request(
                f"图片链接非法: {fields.at(key)} must be a URL returned by the image upload API "
                f"(sandbox accepts {', '.join(self.prefixes)})",
                field=fields.at(key),
            )


def check_display_info(raw: Any, pointer: str, scope: str, config: SandboxConfig) -> None:
    """display_info (B.3): name 3-15 chars, uploaded image URLs, SINGLE-scope price and combo packages."""
    d = Fields(raw, pointer)
    images = ImageRule(config.image_url_prefixes)
    d.string("name", min_len=3, max_len=15)
    images.check(d, "image_url")
    images.check(d, "background_url")
    for index, _ in enumerate(d.array("detail_image_url_list", required=False, max_len=8)):
        images.check(
            Fields({"url": d.obj["detail_image_url_list"][index]}, d.at(f"detail_image_url_list/{index}")), "url"
        )
    single = scope == "SINGLE"  # B.3 [S]: original_price and combo_package_list are required for SINGLE scope
    d.integer("original_price", required=single)
    packages = d.array("combo_package_list", required=single, min_len=1 if single else 0, max_len=50)
    for i, package in enumerate(packages):
        p = Fields(package, d.at(f"combo_package_list/{i}"))
        p.string("name", max_len=15)
        p.integer("pick_count", minimum=1)
        for j, choice in enumerate(p.array("choice_list", min_len=1, max_len=99)):
            c = Fields(choice, p.at(f"choice_list/{j}"))
            c.string("name", max_len=15)
            c.integer("price")
            c.integer("count", minimum=1, maximum=99)
            images.check(c, "image_url", required=False)
            if c.has("mini_program_path"):
                c.string("mini_program_appid")  # a path must come with its appid (B.3)


def _check_coupon_rule(f: Fields, ctype: str) -> None:
    """normal_coupon {threshold, discount_amount} / discount_coupon {threshold, percent_off} / exchange_coupon."""
    if ctype == "NORMAL":
        threshold = f.integer("threshold")
        amount = f.integer("discount_amount", minimum=1)
        # Part F.9: the troubleshooting guide hints that the amount off stays below a non-zero threshold [??].
        if threshold and amount is not None and amount >= threshold:
            raise invalid_request("优惠金额必须小于使用门槛", field=f.at("discount_amount"))
    elif ctype == "DISCOUNT":
        f.integer("threshold")
        f.integer("percent_off", minimum=1, maximum=99)  # B.2: "usually 1-99" [??]
    else:
        f.integer("threshold")
        f.integer("exchange_price")


def _check_period(f: Fields) -> None:
    begin = f.time("available_begin_time")
    end = f.time("available_end_time")
    assert begin is not None and end is not None
    if end <= begin:
        raise invalid_request("可用结束时间必须晚于开始时间", field=f.at("available_end_time"))
    if end - begin > timedelta(days=365):  # B.4: window <= 365 days
        raise invalid_request("可用时间窗口不能超过365天", field=f.at("available_end_time"))
    days = f.integer("available_days", required=False, minimum=1, maximum=365)
    wait = f.integer("wait_days_after_receive", required=False, maximum=30)
    if wait is not None and days is None:
        raise invalid_request(
            "wait_days_after_receive 只能与 available_days 一起使用", field=f.at("wait_days_after_receive")
        )
    irregular = f.array("irregular_available_period_list", required=False, max_len=2)
    if irregular and (days is not None or f.has("weekly_available_period")):
        raise invalid_request(
            "irregular_available_period_list 与其他可用时间规则互斥", field=f.at("irregular_available_period_list")
        )
    for i, item in enumerate(irregular):
        period = Fields(item, f.at(f"irregular_available_period_list/{i}"))
        period.time("begin_time")
        period.time("end_time")
    weekly = f.sub("weekly_available_period", required=False)
    if weekly is not None:
        for i, day in enumerate(weekly.array("day_list", required=False, max_len=7)):
            if day not in WEEK_DAYS:
                raise param_error(weekly.at(f"day_list/{i}"), f"must be one of {', '.join(WEEK_DAYS)}", day)
        for i, item in enumerate(weekly.array("day_period_list", required=False)):
            span = Fields(item, weekly.at(f"day_period_list/{i}"))
            span.integer("begin_time", maximum=86399)
            span.integer("end_time", maximum=86399)


# The stock fields PATCH may change (reference B.4: WeChat Pay doc 4015781556).
PATCHABLE_STOCK_FIELDS = ("remark", "usage_rule_display_info", "coupon_display_info", "notify_config", "store_scope")


def _check_stock_common(s: Fields) -> None:
    s.enum("coupon_code_mode", CODE_MODES)
    send = s.sub("stock_send_rule")
    assert send is not None
    send.integer("max_count", minimum=1, maximum=MAX_COUNT)
    send.integer("max_count_per_day", required=False, minimum=1, maximum=MAX_COUNT)
    send.integer("max_count_per_user", minimum=1, maximum=100)  # required per [S]
    check_stock_display(s, required=True)


def check_stock_display(s: Fields, required: bool) -> None:
    """The PATCH-able stock fields (B.4): required on create, each optional on PATCH (then only those present)."""
    s.string("remark", required=False, max_len=20)
    usage = s.sub("usage_rule_display_info", required=required)
    if usage is not None:
        methods = usage.array("coupon_usage_method_list", min_len=1, max_len=len(USAGE_METHODS))
        for i, method in enumerate(methods):
            if method not in USAGE_METHODS:
                raise param_error(
                    usage.at(f"coupon_usage_method_list/{i}"), f"must be one of {', '.join(USAGE_METHODS)}", method
                )
        if "MINI_PROGRAM" in methods:
            usage.string("mini_program_appid")
            usage.string("mini_program_path")
        if "APP" in methods:
            usage.string("app_path")
        usage.string("usage_description", max_len=1000)
        store_info = usage.sub("coupon_available_store_info", required=False)
        if store_info is not None:
            store_info.string("description", required=False, max_len=1000)
    display = s.sub("coupon_display_info", required=required)
    if display is not None:
        display.enum("code_display_mode", CODE_DISPLAY_MODES)
        display.enum("background_color", BACKGROUND_COLORS, required=False)
        entrance = display.sub("entrance_mini_program", required=False)
        if entrance is not None:
            entrance.string("appid")
            entrance.string("path")
            entrance.string("entrance_wording", max_len=5)
            entrance.string("guidance_wording", max_len=6)
    notify = s.sub("notify_config", required=required)
    if notify is not None:
        notify.string("notify_appid")
    s.enum("store_scope", STORE_SCOPES, required=required)


def check_stock(raw: Any, pointer: str, scope: str, ctype: str) -> None:
    """A SINGLE-mode stock (B.4): the usage rule lives here for scope=SINGLE and must match `type`."""
    s = Fields(raw, pointer)
    _check_stock_common(s)
    rule = s.sub("single_usage_rule")
    assert rule is not None
    period = rule.sub("coupon_available_period")
    assert period is not None
    _check_period(period)
    present = [key for key in RULE_KEY.values() if rule.has(key)]
    if scope == "SINGLE":
        if present != [RULE_KEY[ctype]]:
            raise invalid_request(
                f"scope=SINGLE 的券需要且只能在 stock.single_usage_rule 中提供 {RULE_KEY[ctype]}",
                field=rule.at(RULE_KEY[ctype]),
            )
        sub = rule.sub(RULE_KEY[ctype])
        assert sub is not None
        _check_coupon_rule(sub, ctype)
    elif present:
        raise invalid_request("scope=ALL 的券优惠规则应放在 single_usage_info 中", field=rule.at(present[0]))


def check_stock_bundle(raw: Any, pointer: str, scope: str, ctype: str, count: int) -> None:
    """A PROGRESSIVE_BUNDLE stock bundle (B.4): one rule per step, `count` steps."""
    s = Fields(raw, pointer)
    _check_stock_common(s)
    rule = s.sub("progressive_bundle_usage_rule")
    assert rule is not None
    period = rule.sub("coupon_available_period")
    assert period is not None
    _check_period(period)
    key = RULE_KEY[ctype] + "_list"
    others = [k + "_list" for k in RULE_KEY.values() if k + "_list" != key and rule.has(k + "_list")]
    if others:
        raise invalid_request(f"type={ctype} 的券只能提供 {key}", field=rule.at(others[0]))
    steps = rule.array(key, min_len=count, max_len=count)
    for i, step in enumerate(steps):
        _check_coupon_rule(Fields(step, rule.at(f"{key}/{i}")), ctype)
    del scope


def check_create(body: Fields, config: SandboxConfig) -> None:
    """The create request (B.5, E Family-2 item 6)."""
    scope = body.enum("scope", SCOPES)
    ctype = body.enum("type", TYPES)
    if body.obj.get("usage_mode") == "SEQUENTIAL":
        raise invalid_request("usage_mode=SEQUENTIAL 已下线，请使用 PROGRESSIVE_BUNDLE", field="/usage_mode")
    mode = body.enum("usage_mode", USAGE_MODES)
    assert scope is not None and ctype is not None and mode is not None
    if ctype == "EXCHANGE" and scope != "SINGLE":
        raise invalid_request("EXCHANGE 类型的券只能使用 scope=SINGLE", field="/type")
    body.string("out_product_no", required=False, max_len=40)
    check_display_info(body.required("display_info"), "/display_info", scope, config)
    count = 0
    if mode == "SINGLE":
        for key in ("progressive_bundle_usage_info", "stock_bundle"):
            if body.has(key):
                raise invalid_request(f"usage_mode=SINGLE 不能提供 {key}", field=f"/{key}")
    else:
        for key in ("single_usage_info", "stock"):
            if body.has(key):
                raise invalid_request(f"usage_mode=PROGRESSIVE_BUNDLE 不能提供 {key}", field=f"/{key}")
        info = body.sub("progressive_bundle_usage_info")
        assert info is not None
        count = info.integer("count", minimum=3, maximum=15) or 0
        info.integer("interval_days", minimum=0, maximum=7)
    if scope == "ALL" and mode == "SINGLE":
        usage = body.sub("single_usage_info")
        assert usage is not None
        present = [key for key in RULE_KEY.values() if usage.has(key)]
        if present != [RULE_KEY[ctype]]:
            raise invalid_request(
                f"scope=ALL 的券需要且只能在 single_usage_info 中提供 {RULE_KEY[ctype]}",
                field=usage.at(RULE_KEY[ctype]),
            )
        sub = usage.sub(RULE_KEY[ctype])
        assert sub is not None
        _check_coupon_rule(sub, ctype)
    elif body.has("single_usage_info"):
        raise invalid_request("scope=SINGLE 的券优惠规则应放在 stock.single_usage_rule 中", field="/single_usage_info")
    if mode == "SINGLE":
        check_stock(body.required("stock"), "/stock", scope, ctype)
    else:
        check_stock_bundle(body.required("stock_bundle"), "/stock_bundle", scope, ctype, count)


def forbid_other_keys(body: Fields, allowed: set[str]) -> None:
    """PATCH and deactivate accept nothing beyond their documented fields (B.7, B.8)."""
    for key in body.obj:
        if key not in allowed:
            raise PayError(
                "PARAM_ERROR",
                f"参数错误: {key} is not accepted here",
                field=f"/{key}",
                issue="is not accepted by this endpoint",
            )
