"""ProductCoupon: the WeChat Pay APIv3 partner product-coupon create request (reference B.2–B.5) and its rules.

The spec is the create body minus `out_request_no` and `brand_id`. Both usage models are accepted: SINGLE and
PROGRESSIVE_BUNDLE (the 2025-11 generation) and the legacy 2025-08 SEQUENTIAL model, with a warning (B.0).
Times are normalised to RFC3339 in +08:00 (see timeutil).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

from reconciler.manifest import limits
from reconciler.manifest.base import Issue, Loc, StrictModel
from reconciler.manifest.timeutil import to_rfc3339_cn
from reconciler.times import rfc3339_to_unix

_HTTPS_URL = re.compile(r"https://\S+")


def _https_url(value: str) -> str:
    # Images must come from the product-coupon image-upload API (B.3), which returns https URLs; we can only
    # check the shape offline (our default).
    if _HTTPS_URL.fullmatch(value) is None:
        raise PydanticCustomError("url", "must be an https:// URL (from the image-upload API, B.3)")
    return value


ProductTime = Annotated[
    str,
    BeforeValidator(to_rfc3339_cn),
    WithJsonSchema(
        {
            "anyOf": [{"type": "string", "format": "date-time"}, {"type": "integer", "minimum": 0}],
            "description": "RFC3339 with offset or Unix seconds; sent as RFC3339 in +08:00 (B.4)",
        }
    ),
]
Url = Annotated[str, AfterValidator(_https_url), WithJsonSchema({"type": "string", "pattern": "^https://\\S+$"})]
Fen = Annotated[int, Field(ge=0, description="money in fen (分)")]
PositiveFen = Annotated[int, Field(ge=1, description="money in fen (分)")]
Text = Annotated[str, Field(min_length=1)]

Scope = Literal["ALL", "SINGLE"]
CouponType = Literal["NORMAL", "DISCOUNT", "EXCHANGE"]
UsageMode = Literal["SINGLE", "PROGRESSIVE_BUNDLE", "SEQUENTIAL"]
Weekday = Literal["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"]
UsageMethod = Literal["OFFLINE", "MINI_PROGRAM", "APP", "PAYMENT_CODE"]
BackgroundColor = Literal["Color010", "Color020", "Color030", "Color040", "Color050", "Color060", "Color070",
                          "Color080", "Color090", "Color100"]


class NormalCoupon(StrictModel):
    """满减: spend `threshold`, get `discount_amount` off (B.2, B.4)."""

    threshold: Fen = Field(description="threshold in fen; 0 = no threshold")
    discount_amount: PositiveFen = Field(description="amount off, fen")


class DiscountCoupon(StrictModel):
    """折扣: `percent_off` percent taken off (20 → pay 80 %) above `threshold` (B.2)."""

    threshold: Fen = Field(description="threshold in fen")
    percent_off: int = Field(ge=limits.PRODUCT_PERCENT_OFF_MIN, le=limits.PRODUCT_PERCENT_OFF_MAX,
                             description="percent taken off (B.2 [??] range)")


class ExchangeCoupon(StrictModel):
    """兑换: pay `exchange_price` for the product above `threshold` (B.4)."""

    threshold: Fen = Field(description="threshold in fen")
    exchange_price: Fen = Field(description="price to pay, fen")


class SingleUsageInfo(StrictModel):
    """single_usage_info: the rule of a scope=ALL, usage_mode=SINGLE coupon (B.2)."""

    normal_coupon: NormalCoupon | None = Field(default=None, description="iff scope ALL and type NORMAL")
    discount_coupon: DiscountCoupon | None = Field(default=None, description="iff scope ALL and type DISCOUNT")


class ProgressiveBundleUsageInfo(StrictModel):
    """progressive_bundle_usage_info (B.2, 2025-11 generation)."""

    count: int = Field(ge=limits.PRODUCT_BUNDLE_COUNT_MIN, le=limits.PRODUCT_BUNDLE_COUNT_MAX,
                       description="number of uses (steps)")
    interval_days: int = Field(ge=0, le=limits.PRODUCT_BUNDLE_INTERVAL_DAYS_MAX,
                               description="days between uses; 0 = no spacing")


class SequentialUsageInfo(StrictModel):
    """sequential_usage_info: the legacy 2025-08 multi-use model (B.0)."""

    type: Literal["INCREMENTAL", "EQUAL"] = Field(description="多次优惠规则类型")
    count: int = Field(ge=1, le=limits.PRODUCT_SEQUENTIAL_COUNT_MAX, description="number of uses")
    available_days: int = Field(ge=limits.PRODUCT_SEQUENTIAL_AVAILABLE_DAYS_MIN,
                                le=limits.PRODUCT_SEQUENTIAL_AVAILABLE_DAYS_MAX, description="days valid")
    interval_days: int | None = Field(default=None, ge=0, le=limits.PRODUCT_SEQUENTIAL_INTERVAL_DAYS_MAX,
                                      description="days between uses")


class Choice(StrictModel):
    """One item of a combo package (B.3)."""

    name: Text = Field(max_length=limits.PRODUCT_COMBO_NAME_MAX_CHARS, description="item name")
    price: Fen = Field(description="item price, fen")
    count: int = Field(ge=1, le=limits.PRODUCT_CHOICE_COUNT_MAX, description="item quantity")
    image_url: Url | None = Field(default=None, description="item image")
    mini_program_appid: Text | None = Field(default=None, description="jump target appid")
    mini_program_path: Text | None = Field(default=None, description="jump target path; needs mini_program_appid")


class ComboPackage(StrictModel):
    """套餐组合: pick `pick_count` items from `choice_list` (B.3)."""

    name: Text = Field(max_length=limits.PRODUCT_COMBO_NAME_MAX_CHARS, description="package name")
    pick_count: int = Field(ge=1, description="how many items the user may pick")
    choice_list: list[Choice] = Field(min_length=1, max_length=limits.PRODUCT_CHOICES_MAX, description="items")


class DisplayInfo(StrictModel):
    """display_info: the only part PATCH can change (B.3, B.7)."""

    name: str = Field(min_length=limits.PRODUCT_DISPLAY_NAME_MIN_CHARS,
                      max_length=limits.PRODUCT_DISPLAY_NAME_MAX_CHARS, description="coupon name (characters)")
    image_url: Url = Field(description="1:1 image from the image-upload API")
    background_url: Url = Field(description="65:77 background from the image-upload API")
    detail_image_url_list: list[Url] | None = Field(default=None, min_length=1,
                                                    max_length=limits.PRODUCT_DETAIL_IMAGES_MAX,
                                                    description="detail images")
    original_price: PositiveFen | None = Field(default=None, description="original price, fen; iff scope SINGLE")
    combo_package_list: list[ComboPackage] | None = Field(default=None, min_length=1,
                                                          max_length=limits.PRODUCT_COMBO_PACKAGES_MAX,
                                                          description="combo packages; iff scope SINGLE")


class StockSendRule(StrictModel):
    """stock_send_rule: issue caps (B.4)."""

    max_count: int = Field(ge=1, le=limits.PRODUCT_STOCK_MAX_COUNT, description="total issue cap")
    max_count_per_day: int | None = Field(default=None, ge=1, le=limits.PRODUCT_STOCK_MAX_COUNT,
                                          description="daily cap; default unlimited")
    max_count_per_user: int = Field(ge=1, le=limits.PRODUCT_STOCK_MAX_COUNT_PER_USER,
                                    description="per-user cap (required per [S])")


class DayPeriod(StrictModel):
    """A time range within a day, in seconds of the day (B.4)."""

    begin_time: int = Field(ge=0, le=limits.PRODUCT_SECONDS_OF_DAY_MAX, description="seconds of day")
    end_time: int = Field(ge=0, le=limits.PRODUCT_SECONDS_OF_DAY_MAX, description="seconds of day")


class WeeklyAvailablePeriod(StrictModel):
    """Fixed weekly availability (B.4)."""

    day_list: list[Weekday] | None = Field(default=None, min_length=1, description="weekdays")
    day_period_list: list[DayPeriod] | None = Field(default=None, min_length=1, description="periods of each day")


class IrregularPeriod(StrictModel):
    """An explicit availability period (B.4)."""

    begin_time: ProductTime = Field(description="period start")
    end_time: ProductTime = Field(description="period end")


class CouponAvailablePeriod(StrictModel):
    """coupon_available_period: when coupons of the stock can be used (B.4)."""

    available_begin_time: ProductTime = Field(description="window start")
    available_end_time: ProductTime = Field(description="window end; window ≤ 365 days")
    available_days: int | None = Field(default=None, ge=1, le=limits.PRODUCT_AVAILABLE_DAYS_MAX,
                                       description="valid N days after taking effect")
    wait_days_after_receive: int | None = Field(default=None, ge=0, le=limits.PRODUCT_WAIT_DAYS_MAX,
                                                description="only with available_days")
    weekly_available_period: WeeklyAvailablePeriod | None = Field(default=None, description="weekly availability")
    irregular_available_period_list: list[IrregularPeriod] | None = Field(
        default=None, min_length=1, max_length=limits.PRODUCT_IRREGULAR_PERIODS_MAX,
        description="explicit periods; exclusive with available_days, wait_days_after_receive, weekly")


class SingleUsageRule(StrictModel):
    """stock.single_usage_rule (B.4); carries the discount rule when scope is SINGLE."""

    coupon_available_period: CouponAvailablePeriod = Field(description="usable time")
    normal_coupon: NormalCoupon | None = Field(default=None, description="iff scope SINGLE and type NORMAL")
    discount_coupon: DiscountCoupon | None = Field(default=None, description="iff scope SINGLE and type DISCOUNT")
    exchange_coupon: ExchangeCoupon | None = Field(default=None, description="iff scope SINGLE and type EXCHANGE")


class LadderRule(StrictModel):
    """The rule lists of a multi-use stock: one entry per use (B.4)."""

    coupon_available_period: CouponAvailablePeriod = Field(description="usable time")
    normal_coupon_list: list[NormalCoupon] | None = Field(default=None, min_length=1, description="type NORMAL")
    discount_coupon_list: list[DiscountCoupon] | None = Field(default=None, min_length=1, description="type DISCOUNT")
    exchange_coupon_list: list[ExchangeCoupon] | None = Field(default=None, min_length=1, description="type EXCHANGE")
    special_first: bool | None = Field(default=None, description="first use is a special offer (3P)")


class CouponAvailableStoreInfo(StrictModel):
    """Where the coupon can be used (B.4)."""

    description: Text = Field(max_length=limits.PRODUCT_DESCRIPTION_MAX_CHARS, description="store description")
    mini_program_appid: Text | None = Field(default=None, description="store list mini program")
    mini_program_path: Text | None = Field(default=None, description="store list path")


class UsageRuleDisplayInfo(StrictModel):
    """usage_rule_display_info: how the coupon is used, as shown to users (B.4)."""

    coupon_usage_method_list: list[UsageMethod] = Field(min_length=1, description="usage methods")
    mini_program_appid: Text | None = Field(default=None, description="required with MINI_PROGRAM")
    mini_program_path: Text | None = Field(default=None, description="required with MINI_PROGRAM")
    app_path: Text | None = Field(default=None, description="required with APP")
    usage_description: Text = Field(max_length=limits.PRODUCT_DESCRIPTION_MAX_CHARS, description="usage text")
    coupon_available_store_info: CouponAvailableStoreInfo | None = Field(default=None, description="stores")
    app_jump_type: Literal["H5", "PASSCODE_LINK", "USAGE_GUIDE"] | None = Field(default=None, description="3P [??]")
    passcode_link: Text | None = Field(default=None, description="3P [??]")


class EntranceMiniProgram(StrictModel):
    """A mini program entrance on the coupon (B.4)."""

    appid: Text = Field(description="mini program appid")
    path: Text = Field(description="path")
    entrance_wording: Text = Field(max_length=limits.PRODUCT_ENTRANCE_WORDING_MAX_CHARS, description="entrance text")
    guidance_wording: Text | None = Field(default=None, max_length=limits.PRODUCT_GUIDANCE_WORDING_MAX_CHARS,
                                          description="guidance text")


class EntranceOfficialAccount(StrictModel):
    """An official-account entrance (B.4)."""

    appid: Text = Field(description="official account appid")


class EntranceFinder(StrictModel):
    """A 视频号 entrance (B.4)."""

    finder_id: Text = Field(description="视频号 id")
    finder_video_id: Text = Field(description="video id")
    finder_video_cover_image_url: Url = Field(description="cover image")


class CouponDisplayInfo(StrictModel):
    """coupon_display_info: how a user's coupon is displayed (B.4)."""

    code_display_mode: Literal["INVISIBLE", "BARCODE", "QRCODE"] = Field(description="code display mode")
    background_color: BackgroundColor | None = Field(default=None, description="default Color020")
    entrance_mini_program: EntranceMiniProgram | None = Field(default=None, description="mini program entrance")
    entrance_official_account: EntranceOfficialAccount | None = Field(default=None, description="OA entrance")
    entrance_finder: EntranceFinder | None = Field(default=None, description="视频号 entrance")


class NotifyConfig(StrictModel):
    """notify_config (B.4)."""

    notify_appid: Text = Field(description="appid bound to the partner or brand")


class _StockCommon(StrictModel):
    remark: str | None = Field(default=None, min_length=1, max_length=limits.PRODUCT_STOCK_REMARK_MAX_CHARS,
                               description="visible to the brand only")
    coupon_code_mode: Literal["WECHATPAY", "UPLOAD", "API_ASSIGN"] = Field(description="coupon code mode")
    stock_send_rule: StockSendRule = Field(description="issue caps")
    usage_rule_display_info: UsageRuleDisplayInfo = Field(description="usage display")
    coupon_display_info: CouponDisplayInfo = Field(description="coupon display")
    notify_config: NotifyConfig = Field(description="event notification")
    store_scope: Literal["NONE", "ALL", "SPECIFIC"] = Field(description="store scope")


class Stock(_StockCommon):
    """The first stock (批次), sent with create for usage_mode SINGLE (or legacy SEQUENTIAL) (B.4)."""

    single_usage_rule: SingleUsageRule | None = Field(default=None, description="usage_mode SINGLE")
    sequential_usage_rule: LadderRule | None = Field(default=None, description="legacy usage_mode SEQUENTIAL")


class StockBundle(_StockCommon):
    """The stock bundle (批次组) for usage_mode PROGRESSIVE_BUNDLE: one stock per step (B.4)."""

    progressive_bundle_usage_rule: LadderRule = Field(description="one rule per use")


class ProductCouponSpec(StrictModel):
    """The product-coupon create request minus out_request_no and brand_id (B.5)."""

    scope: Scope = Field(description="ALL or SINGLE product (B.2)")
    type: CouponType = Field(description="NORMAL 满减, DISCOUNT 折扣, EXCHANGE 兑换 (SINGLE scope only)")
    usage_mode: UsageMode = Field(description="SINGLE, PROGRESSIVE_BUNDLE, or legacy SEQUENTIAL (B.0)")
    single_usage_info: SingleUsageInfo | None = Field(default=None, description="usage_mode SINGLE, scope ALL")
    progressive_bundle_usage_info: ProgressiveBundleUsageInfo | None = Field(
        default=None, description="iff usage_mode PROGRESSIVE_BUNDLE")
    sequential_usage_info: SequentialUsageInfo | None = Field(default=None, description="iff usage_mode SEQUENTIAL")
    display_info: DisplayInfo = Field(description="display (the only mutable part)")
    out_product_no: str | None = Field(default=None, min_length=1, max_length=limits.PRODUCT_OUT_PRODUCT_NO_MAX_CHARS,
                                       description="merchant product reference")
    stock: Stock | None = Field(default=None, description="first stock; usage_mode SINGLE / SEQUENTIAL")
    stock_bundle: StockBundle | None = Field(default=None, description="stock bundle; usage_mode PROGRESSIVE_BUNDLE")


_S: Loc = ("spec",)
_RULE_FIELD = {"NORMAL": "normal_coupon", "DISCOUNT": "discount_coupon", "EXCHANGE": "exchange_coupon"}


def _exclusive(present: Mapping[str, object], wanted: str | None, base: Loc, why: str) -> list[Issue]:
    """`wanted` must be set and every other key of `present` unset (None)."""
    issues: list[Issue] = []
    for key, value in present.items():
        if key == wanted and value is None:
            issues.append(Issue((*base, key), f"required {why}"))
        elif key != wanted and value is not None:
            issues.append(Issue((*base, key), f"not allowed {why}", at_key=True))
    return issues


def product_rules(spec: ProductCouponSpec) -> list[Issue]:
    """Every offline rule of B.0–B.5 that the model's types cannot express, located from the document root."""
    issues: list[Issue] = []
    if spec.type == "EXCHANGE" and spec.scope != "SINGLE":
        issues.append(Issue((*_S, "type"), "EXCHANGE requires scope SINGLE (B.2)"))
    mode = spec.usage_mode
    if mode == "SEQUENTIAL":
        issues.append(Issue((*_S, "usage_mode"),
                            "SEQUENTIAL is the legacy 2025-08 model; new coupons use PROGRESSIVE_BUNDLE (B.0)",
                            severity="warning"))

    infos = {"single_usage_info": spec.single_usage_info,
             "progressive_bundle_usage_info": spec.progressive_bundle_usage_info,
             "sequential_usage_info": spec.sequential_usage_info}
    if mode == "SINGLE":
        wanted_info = "single_usage_info" if spec.scope == "ALL" else None
        why = f"with usage_mode SINGLE and scope {spec.scope}"
        if spec.scope == "SINGLE":
            why += " (the rule goes in stock.single_usage_rule, B.5)"
        issues += _exclusive(infos, wanted_info, _S, f"{why} (B.2)" if spec.scope == "ALL" else why)
    else:
        wanted_info = "progressive_bundle_usage_info" if mode == "PROGRESSIVE_BUNDLE" else "sequential_usage_info"
        issues += _exclusive(infos, wanted_info, _S, f"with usage_mode {mode} (B.2)")

    if spec.single_usage_info is not None and mode == "SINGLE" and spec.scope == "ALL":
        rules = {"normal_coupon": spec.single_usage_info.normal_coupon,
                 "discount_coupon": spec.single_usage_info.discount_coupon}
        if spec.type in ("NORMAL", "DISCOUNT"):
            issues += _exclusive(rules, _RULE_FIELD[spec.type], (*_S, "single_usage_info"),
                                 f"for type {spec.type} (B.2)")
        if spec.single_usage_info.normal_coupon is not None:
            issues += _normal_rules(spec.single_usage_info.normal_coupon, (*_S, "single_usage_info", "normal_coupon"))

    stocks = {"stock": spec.stock, "stock_bundle": spec.stock_bundle}
    wanted_stock = "stock_bundle" if mode == "PROGRESSIVE_BUNDLE" else "stock"
    issues += _exclusive(stocks, wanted_stock, _S, f"with usage_mode {mode} (B.4, B.5)")
    if spec.stock is not None:
        issues += _stock_rules(spec, spec.stock)
    if spec.stock_bundle is not None:
        issues += _bundle_rules(spec, spec.stock_bundle)
    issues += _display_rules(spec)
    return issues


def _normal_rules(coupon: NormalCoupon, loc: Loc) -> list[Issue]:
    # B.2 / Part F.9: the troubleshooting guide hints that the amount off must stay below the threshold [??].
    if coupon.threshold > 0 and coupon.discount_amount >= coupon.threshold:
        return [Issue((*loc, "discount_amount"), f"must be less than threshold ({coupon.threshold}) (B.2 [??])")]
    return []


def _stock_rules(spec: ProductCouponSpec, stock: Stock) -> list[Issue]:
    base: Loc = (*_S, "stock")
    issues = _common_stock_rules(stock, base)
    usage = {"single_usage_rule": stock.single_usage_rule, "sequential_usage_rule": stock.sequential_usage_rule}
    wanted = "sequential_usage_rule" if spec.usage_mode == "SEQUENTIAL" else "single_usage_rule"
    issues += _exclusive(usage, wanted, base, f"with usage_mode {spec.usage_mode} (B.4)")
    rule = stock.single_usage_rule
    if rule is not None:
        rloc: Loc = (*base, "single_usage_rule")
        issues += _period_rules(rule.coupon_available_period, (*rloc, "coupon_available_period"))
        present = {"normal_coupon": rule.normal_coupon, "discount_coupon": rule.discount_coupon,
                   "exchange_coupon": rule.exchange_coupon}
        if spec.scope == "SINGLE":
            issues += _exclusive(present, _RULE_FIELD[spec.type], rloc, f"for scope SINGLE and type {spec.type} (B.4)")
        else:
            issues += _exclusive(present, None, rloc, "for scope ALL: the rule goes in single_usage_info (B.5)")
        if rule.normal_coupon is not None:
            issues += _normal_rules(rule.normal_coupon, (*rloc, "normal_coupon"))
    if stock.sequential_usage_rule is not None:
        count = spec.sequential_usage_info.count if spec.sequential_usage_info else None
        issues += _ladder_rules(spec, stock.sequential_usage_rule, (*base, "sequential_usage_rule"), count)
    return issues


def _bundle_rules(spec: ProductCouponSpec, bundle: StockBundle) -> list[Issue]:
    base: Loc = (*_S, "stock_bundle")
    issues = _common_stock_rules(bundle, base)
    count = spec.progressive_bundle_usage_info.count if spec.progressive_bundle_usage_info else None
    issues += _ladder_rules(spec, bundle.progressive_bundle_usage_rule, (*base, "progressive_bundle_usage_rule"),
                            count)
    return issues


def _ladder_rules(spec: ProductCouponSpec, rule: LadderRule, loc: Loc, count: int | None) -> list[Issue]:
    issues = _period_rules(rule.coupon_available_period, (*loc, "coupon_available_period"))
    lists = {"normal_coupon_list": rule.normal_coupon_list, "discount_coupon_list": rule.discount_coupon_list,
             "exchange_coupon_list": rule.exchange_coupon_list}
    wanted = _RULE_FIELD[spec.type] + "_list"
    issues += _exclusive(lists, wanted, loc, f"for type {spec.type} (B.4)")
    chosen = lists.get(wanted)
    info_name = "progressive_bundle_usage_info" if spec.usage_mode == "PROGRESSIVE_BUNDLE" else "sequential_usage_info"
    if chosen is not None and count is not None and len(chosen) != count:
        # B.4: one stock per step of the ladder, so one rule per use.
        issues.append(Issue((*loc, wanted), f"must have one entry per use: {count} ({info_name}.count), "
                                            f"not {len(chosen)} (B.4)"))
    if rule.normal_coupon_list is not None:
        for i, coupon in enumerate(rule.normal_coupon_list):
            issues += _normal_rules(coupon, (*loc, "normal_coupon_list", i))
    return issues


def _common_stock_rules(stock: _StockCommon, base: Loc) -> list[Issue]:
    issues: list[Issue] = []
    usage = stock.usage_rule_display_info
    uloc: Loc = (*base, "usage_rule_display_info")
    methods = usage.coupon_usage_method_list
    issues += _unique(methods, (*uloc, "coupon_usage_method_list"))
    if "MINI_PROGRAM" in methods:
        for field in ("mini_program_appid", "mini_program_path"):
            if getattr(usage, field) is None:
                issues.append(Issue((*uloc, field), "required when coupon_usage_method_list has MINI_PROGRAM (B.4)"))
    if "APP" in methods and usage.app_path is None:
        issues.append(Issue((*uloc, "app_path"), "required when coupon_usage_method_list has APP (B.4)"))
    if usage.mini_program_path is not None and usage.mini_program_appid is None:
        issues.append(Issue((*uloc, "mini_program_path"), "needs mini_program_appid (B.4)"))
    return issues


def _unique(values: Sequence[Any], loc: Loc) -> list[Issue]:
    issues: list[Issue] = []
    seen: set[Any] = set()
    for i, value in enumerate(values):
        if value in seen:
            issues.append(Issue((*loc, i), f"duplicate value {value!r} (our default)"))
        seen.add(value)
    return issues


def _period_rules(period: CouponAvailablePeriod, loc: Loc) -> list[Issue]:
    issues: list[Issue] = []
    begin = rfc3339_to_unix(period.available_begin_time)
    end = rfc3339_to_unix(period.available_end_time)
    if end <= begin:
        issues.append(Issue((*loc, "available_end_time"),
                            f"must be after available_begin_time ({period.available_begin_time}) (B.4)"))
    elif end - begin > limits.PRODUCT_AVAILABLE_PERIOD_MAX_DAYS * 86400:
        issues.append(Issue((*loc, "available_end_time"),
                            f"the window may last at most {limits.PRODUCT_AVAILABLE_PERIOD_MAX_DAYS} days (B.4)"))
    if period.wait_days_after_receive is not None and period.available_days is None:
        issues.append(Issue((*loc, "wait_days_after_receive"), "only allowed together with available_days (B.4)",
                            at_key=True))
    if period.irregular_available_period_list is not None:
        for field in ("available_days", "wait_days_after_receive", "weekly_available_period"):
            if getattr(period, field) is not None:
                issues.append(Issue((*loc, field), "not allowed with irregular_available_period_list (B.4)",
                                    at_key=True))
        for i, irregular in enumerate(period.irregular_available_period_list):
            ib, ie = rfc3339_to_unix(irregular.begin_time), rfc3339_to_unix(irregular.end_time)
            iloc: Loc = (*loc, "irregular_available_period_list", i)
            if ie <= ib:
                issues.append(Issue((*iloc, "end_time"), f"must be after begin_time ({irregular.begin_time}) (B.4)"))
            elif ib < begin or ie > end:
                issues.append(Issue(iloc, "must lie within available_begin_time … available_end_time (our default)"))
    weekly = period.weekly_available_period
    if weekly is not None:
        wloc: Loc = (*loc, "weekly_available_period")
        if weekly.day_list is not None:
            issues += _unique(weekly.day_list, (*wloc, "day_list"))
        for i, day_period in enumerate(weekly.day_period_list or ()):
            if day_period.end_time <= day_period.begin_time:
                issues.append(Issue((*wloc, "day_period_list", i, "end_time"),
                                    f"must be after begin_time ({day_period.begin_time}) (B.4)"))
    return issues


def _display_rules(spec: ProductCouponSpec) -> list[Issue]:
    issues: list[Issue] = []
    display = spec.display_info
    dloc: Loc = (*_S, "display_info")
    # B.3: original_price and combo_package_list are required when scope is SINGLE ("当且仅当", i.e. only then;
    # the doc sentence is truncated [??], so refusing them for scope ALL is the safer reading).
    for field in ("original_price", "combo_package_list"):
        value = getattr(display, field)
        if spec.scope == "SINGLE" and value is None:
            issues.append(Issue((*dloc, field), "required when scope is SINGLE (B.3)"))
        elif spec.scope == "ALL" and value is not None:
            issues.append(Issue((*dloc, field), "only allowed when scope is SINGLE (B.3 [??])", at_key=True))
    for i, package in enumerate(display.combo_package_list or ()):
        ploc: Loc = (*dloc, "combo_package_list", i)
        if package.pick_count > len(package.choice_list):
            issues.append(Issue((*ploc, "pick_count"),
                                f"must not exceed the number of choices ({len(package.choice_list)}) (our default)"))
        for j, choice in enumerate(package.choice_list):
            if choice.mini_program_path is not None and choice.mini_program_appid is None:
                issues.append(Issue((*ploc, "choice_list", j, "mini_program_path"),
                                    "needs mini_program_appid (B.3)"))
    return issues


def four_byte_issues(value: Any, loc: Loc) -> list[Issue]:
    """APIv3 accepts only 1–3 byte UTF-8 characters (B.11): find strings with characters beyond U+FFFF."""
    issues: list[Issue] = []
    if isinstance(value, str):
        if not value.isascii() and any(ord(c) > 0xFFFF for c in value):
            issues.append(Issue(loc, "contains a 4-byte UTF-8 character (e.g. an emoji), which WeChat Pay "
                                     "APIv3 refuses (B.11)"))
    elif isinstance(value, dict):
        for key, item in value.items():
            issues += four_byte_issues(item, (*loc, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            issues += four_byte_issues(item, (*loc, i))
    return issues
