"""ProductCoupon: the WeChat Pay APIv3 partner product-coupon create request (reference B.2–B.5) as models.

The spec is the create body minus `out_request_no` and `brand_id`, with the stocks named (decision D29): `stocks`
(`stock_bundles`) maps a name to a stock (bundle); the create's single `stock` (`stock_bundle`) is still accepted
and means the map's `main` entry. The usage modes are SINGLE and
PROGRESSIVE_BUNDLE (the 2025-11 generation); the legacy 2025-08 SEQUENTIAL model still parses, so its fields are
named precisely, but `product_rules` refuses it: the current API no longer creates it (B.0).
Times are normalised to RFC3339 in +08:00 (see timeutil). The rules across fields are in `product_rules.py`.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Discriminator, Field, Tag, WithJsonSchema
from pydantic_core import PydanticCustomError

from reconciler.manifest import limits
from reconciler.manifest.base import StrictModel
from reconciler.manifest.images import FILE_FORM, URL_FORM, ImageFile, image_form
from reconciler.manifest.timeutil import to_rfc3339_cn
from reconciler.stocks import STOCK_NAME_MAX_CHARS, STOCK_NAME_PATTERN

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
# A display image: an uploaded URL, or `{file: path}` that apply uploads (decision D33, manifest/images.py).
Image = Annotated[Annotated[Url, Tag(URL_FORM)] | Annotated[ImageFile, Tag(FILE_FORM)], Discriminator(image_form)]
Fen = Annotated[int, Field(ge=0, description="money in fen (分)")]
PositiveFen = Annotated[int, Field(ge=1, description="money in fen (分)")]
Text = Annotated[str, Field(min_length=1)]

Scope = Literal["ALL", "SINGLE"]
CouponType = Literal["NORMAL", "DISCOUNT", "EXCHANGE"]
UsageMode = Literal["SINGLE", "PROGRESSIVE_BUNDLE", "SEQUENTIAL"]
Weekday = Literal["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"]
UsageMethod = Literal["OFFLINE", "MINI_PROGRAM", "APP", "PAYMENT_CODE"]
BackgroundColor = Literal[
    "Color010",
    "Color020",
    "Color030",
    "Color040",
    "Color050",
    "Color060",
    "Color070",
    "Color080",
    "Color090",
    "Color100",
]


class NormalCoupon(StrictModel):
    """满减: spend `threshold`, get `discount_amount` off (B.2, B.4)."""

    threshold: Fen = Field(description="threshold in fen; 0 = no threshold")
    discount_amount: PositiveFen = Field(description="amount off, fen")


class DiscountCoupon(StrictModel):
    """折扣: `percent_off` percent taken off (20 → pay 80 %) above `threshold` (B.2)."""

    threshold: Fen = Field(description="threshold in fen")
    percent_off: int = Field(
        ge=limits.PRODUCT_PERCENT_OFF_MIN,
        le=limits.PRODUCT_PERCENT_OFF_MAX,
        description="percent taken off (B.2 [??] range)",
    )


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

    count: int = Field(
        ge=limits.PRODUCT_BUNDLE_COUNT_MIN, le=limits.PRODUCT_BUNDLE_COUNT_MAX, description="number of uses (steps)"
    )
    interval_days: int = Field(
        ge=0, le=limits.PRODUCT_BUNDLE_INTERVAL_DAYS_MAX, description="days between uses; 0 = no spacing"
    )


class SequentialUsageInfo(StrictModel):
    """sequential_usage_info: the legacy 2025-08 multi-use model (B.0)."""

    type: Literal["INCREMENTAL", "EQUAL"] = Field(description="多次优惠规则类型")
    count: int = Field(ge=1, le=limits.PRODUCT_SEQUENTIAL_COUNT_MAX, description="number of uses")
    available_days: int = Field(
        ge=limits.PRODUCT_SEQUENTIAL_AVAILABLE_DAYS_MIN,
        le=limits.PRODUCT_SEQUENTIAL_AVAILABLE_DAYS_MAX,
        description="days valid",
    )
    interval_days: int | None = Field(
        default=None, ge=0, le=limits.PRODUCT_SEQUENTIAL_INTERVAL_DAYS_MAX, description="days between uses"
    )


class Choice(StrictModel):
    """One item of a combo package (B.3)."""

    name: Text = Field(max_length=limits.PRODUCT_COMBO_NAME_MAX_CHARS, description="item name")
    price: Fen = Field(description="item price, fen")
    count: int = Field(ge=1, le=limits.PRODUCT_CHOICE_COUNT_MAX, description="item quantity")
    image_url: Image | None = Field(default=None, description="item image (URL or {file: path})")
    mini_program_appid: Text | None = Field(default=None, description="jump target appid")
    mini_program_path: Text | None = Field(default=None, description="jump target path; needs mini_program_appid")


class ComboPackage(StrictModel):
    """套餐组合: pick `pick_count` items from `choice_list` (B.3)."""

    name: Text = Field(max_length=limits.PRODUCT_COMBO_NAME_MAX_CHARS, description="package name")
    pick_count: int = Field(ge=1, description="how many items the user may pick")
    choice_list: list[Choice] = Field(min_length=1, max_length=limits.PRODUCT_CHOICES_MAX, description="items")


class DisplayInfo(StrictModel):
    """display_info: the only part PATCH can change (B.3, B.7)."""

    name: str = Field(
        min_length=limits.PRODUCT_DISPLAY_NAME_MIN_CHARS,
        max_length=limits.PRODUCT_DISPLAY_NAME_MAX_CHARS,
        description="coupon name (characters)",
    )
    image_url: Image = Field(description="1:1 image: an upload-API URL or {file: path} (D33)")
    background_url: Image = Field(description="65:77 background: an upload-API URL or {file: path} (D33)")
    detail_image_url_list: list[Image] | None = Field(
        default=None, min_length=1, max_length=limits.PRODUCT_DETAIL_IMAGES_MAX, description="detail images"
    )
    original_price: PositiveFen | None = Field(default=None, description="original price, fen; iff scope SINGLE")
    combo_package_list: list[ComboPackage] | None = Field(
        default=None,
        min_length=1,
        max_length=limits.PRODUCT_COMBO_PACKAGES_MAX,
        description="combo packages; iff scope SINGLE",
    )


class StockSendRule(StrictModel):
    """stock_send_rule: issue caps (B.4)."""

    max_count: int = Field(ge=1, le=limits.PRODUCT_STOCK_MAX_COUNT, description="total issue cap")
    max_count_per_day: int | None = Field(
        default=None, ge=1, le=limits.PRODUCT_STOCK_MAX_COUNT, description="daily cap; default unlimited"
    )
    max_count_per_user: int = Field(
        ge=1, le=limits.PRODUCT_STOCK_MAX_COUNT_PER_USER, description="per-user cap (required per [S])"
    )


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
    available_days: int | None = Field(
        default=None, ge=1, le=limits.PRODUCT_AVAILABLE_DAYS_MAX, description="valid N days after taking effect"
    )
    wait_days_after_receive: int | None = Field(
        default=None, ge=0, le=limits.PRODUCT_WAIT_DAYS_MAX, description="only with available_days"
    )
    weekly_available_period: WeeklyAvailablePeriod | None = Field(default=None, description="weekly availability")
    irregular_available_period_list: list[IrregularPeriod] | None = Field(
        default=None,
        min_length=1,
        max_length=limits.PRODUCT_IRREGULAR_PERIODS_MAX,
        description="explicit periods; exclusive with available_days, wait_days_after_receive, weekly",
    )


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
    guidance_wording: Text | None = Field(
        default=None, max_length=limits.PRODUCT_GUIDANCE_WORDING_MAX_CHARS, description="guidance text"
    )


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
    remark: str | None = Field(
        default=None,
        min_length=1,
        max_length=limits.PRODUCT_STOCK_REMARK_MAX_CHARS,
        description="visible to the brand only",
    )
    coupon_code_mode: Literal["WECHATPAY", "UPLOAD", "API_ASSIGN"] = Field(description="coupon code mode")
    stock_send_rule: StockSendRule = Field(description="issue caps")
    usage_rule_display_info: UsageRuleDisplayInfo = Field(description="usage display")
    coupon_display_info: CouponDisplayInfo = Field(description="coupon display")
    notify_config: NotifyConfig = Field(description="event notification")
    store_scope: Literal["NONE", "ALL", "SPECIFIC"] = Field(description="store scope")


class Stock(_StockCommon):
    """A stock (批次) of a usage_mode SINGLE (or legacy SEQUENTIAL) coupon (B.4)."""

    single_usage_rule: SingleUsageRule | None = Field(default=None, description="usage_mode SINGLE")
    sequential_usage_rule: LadderRule | None = Field(default=None, description="legacy usage_mode SEQUENTIAL")
    # store_scope SPECIFIC only (decision D34, manifest/stores.py): checked and normalised to sorted `stores`
    stores: list[Any] | None = Field(default=None, description="store ids (SPECIFIC stocks; D34)")
    stores_file: str | None = Field(default=None, min_length=1, description="file of store ids, one per line (D34)")
    # coupon_code_mode UPLOAD only (decision D35, manifest/codes.py): normalised to a `$codes` reference
    codes_file: str | None = Field(default=None, min_length=1, description="file of codes, one per line (UPLOAD; D35)")


class StockBundle(_StockCommon):
    """A stock bundle (批次组) of a usage_mode PROGRESSIVE_BUNDLE coupon: one stock per step (B.4)."""

    progressive_bundle_usage_rule: LadderRule = Field(description="one rule per use")


_STOCK_NAME_RULE = f"1–{STOCK_NAME_MAX_CHARS} characters of a-z, 0-9, '_' and '-', starting with a letter or digit"


def _stock_map_schema() -> dict[str, Any]:
    return {
        "propertyNames": {"pattern": f"^{STOCK_NAME_PATTERN.pattern}$"},
        "minProperties": 1,
        "maxProperties": limits.PRODUCT_STOCKS_MAX,
    }


class ProductCouponSpec(StrictModel):
    """The product-coupon create request minus out_request_no and brand_id (B.5)."""

    scope: Scope = Field(description="ALL or SINGLE product (B.2)")
    type: CouponType = Field(description="NORMAL 满减, DISCOUNT 折扣, EXCHANGE 兑换 (SINGLE scope only)")
    usage_mode: UsageMode = Field(description="SINGLE or PROGRESSIVE_BUNDLE; legacy SEQUENTIAL is refused (B.0)")
    single_usage_info: SingleUsageInfo | None = Field(default=None, description="usage_mode SINGLE, scope ALL")
    progressive_bundle_usage_info: ProgressiveBundleUsageInfo | None = Field(
        default=None, description="iff usage_mode PROGRESSIVE_BUNDLE"
    )
    sequential_usage_info: SequentialUsageInfo | None = Field(default=None, description="iff usage_mode SEQUENTIAL")
    display_info: DisplayInfo = Field(description="display (the only mutable part)")
    out_product_no: str | None = Field(
        default=None,
        min_length=1,
        max_length=limits.PRODUCT_OUT_PRODUCT_NO_MAX_CHARS,
        description="merchant product reference",
    )
    stock: Stock | None = Field(
        default=None, description="the one stock; same as `stocks: {main: ...}` (decision D29); usage_mode SINGLE"
    )
    stock_bundle: StockBundle | None = Field(
        default=None,
        description="the one stock bundle; same as `stock_bundles: {main: ...}` (D29); usage_mode PROGRESSIVE_BUNDLE",
    )
    stocks: dict[str, Stock] | None = Field(
        default=None,
        description="named stocks (批次), usage_mode SINGLE: the first is created with the coupon, the others are "
        f"added to it (B.4, D29); names {_STOCK_NAME_RULE}; 1–{limits.PRODUCT_STOCKS_MAX} stocks",
        json_schema_extra=_stock_map_schema(),
    )
    stock_bundles: dict[str, StockBundle] | None = Field(
        default=None,
        description="named stock bundles (批次组), usage_mode PROGRESSIVE_BUNDLE: the first is created with the "
        f"coupon (B.4, D29); names {_STOCK_NAME_RULE}",
        json_schema_extra=_stock_map_schema(),
    )
