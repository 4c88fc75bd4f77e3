"""THE table of named limits the manifest rules enforce, each with its reference section and confidence.

Confidence tags follow `reference/wechat-apis.md` §0: D (official doc), S (official WeChat Pay repository),
3P (third-party mirror), INF (inferred), ?? (unconfirmed) and OURS (our own default where the docs are silent).
Every number a rule checks comes from here, so changing an assumption is a one-line edit that also updates
docs/manifests.md (generated from this table).
"""

from __future__ import annotations

from dataclasses import dataclass

from reconciler import resources


@dataclass(frozen=True, slots=True)
class Limit:
    """One named limit: its value, where it comes from, and how sure we are."""

    value: int
    section: str
    confidence: str
    note: str


LIMITS: dict[str, Limit] = {
    # --- ShopCoupon (Part A) ---
    "SHOP_MAX_PRODUCTS_PER_COUPON": Limit(
        128, "A.7", "??", "out_product_ids cap; not found in any /shop doc (Channels says 200/2000): project assumption"
    ),
    "SHOP_COUPON_NAME_MAX_CHARS": Limit(10, "A.3, A.7", "??", "coupon_info.name; sibling APIs cap it at 10 chars"),
    "SHOP_OUT_COUPON_ID_MAX_CHARS": Limit(64, "A.3", "OURS", "out_coupon_id length is undocumented"),
    "SHOP_DISCOUNT_NUM_MIN": Limit(1000, "A.5", "D", "discount_num (折扣 × 1000): 1折"),
    "SHOP_DISCOUNT_NUM_MAX": Limit(10000, "A.5", "D", "discount_num: 10折"),
    "SHOP_DISCOUNT_NUM_STEP": Limit(100, "A.5", "D", "discount_num is a multiple of 100"),
    "SHOP_TIMESTAMP_MAX": Limit(9_999_999_999, "A.1", "D", "Unix seconds (10 digits); 13 digits are milliseconds"),
    # --- ProductCoupon (Part B) ---
    "PRODUCT_DISPLAY_NAME_MIN_CHARS": Limit(3, "B.3", "D", "display_info.name"),
    "PRODUCT_DISPLAY_NAME_MAX_CHARS": Limit(15, "B.3", "D", "display_info.name"),
    "PRODUCT_DETAIL_IMAGES_MAX": Limit(8, "B.3", "S", "display_info.detail_image_url_list"),
    "PRODUCT_COMBO_PACKAGES_MAX": Limit(50, "B.3", "S", "display_info.combo_package_list"),
    "PRODUCT_COMBO_NAME_MAX_CHARS": Limit(15, "B.3", "S", "combo package and choice names"),
    "PRODUCT_CHOICES_MAX": Limit(99, "B.3", "S", "combo_package_list[].choice_list"),
    "PRODUCT_CHOICE_COUNT_MAX": Limit(99, "B.3", "S", "choice_list[].count"),
    "PRODUCT_OUT_PRODUCT_NO_MAX_CHARS": Limit(40, "B.2", "D", "out_product_no string(40)"),
    "PRODUCT_PERCENT_OFF_MIN": Limit(1, "B.2", "??", "discount_coupon.percent_off; 'usually 1–99'"),
    "PRODUCT_PERCENT_OFF_MAX": Limit(99, "B.2", "??", "discount_coupon.percent_off; 'usually 1–99'"),
    "PRODUCT_BUNDLE_COUNT_MIN": Limit(3, "B.2", "D", "progressive_bundle_usage_info.count"),
    "PRODUCT_BUNDLE_COUNT_MAX": Limit(15, "B.2", "D", "progressive_bundle_usage_info.count"),
    "PRODUCT_BUNDLE_INTERVAL_DAYS_MAX": Limit(7, "B.2", "D", "progressive_bundle_usage_info.interval_days (0 = none)"),
    "PRODUCT_SEQUENTIAL_COUNT_MAX": Limit(15, "B.0", "3P", "legacy sequential_usage_info.count"),
    "PRODUCT_SEQUENTIAL_AVAILABLE_DAYS_MIN": Limit(3, "B.0", "3P", "legacy sequential_usage_info.available_days"),
    "PRODUCT_SEQUENTIAL_AVAILABLE_DAYS_MAX": Limit(365, "B.0", "3P", "legacy sequential_usage_info.available_days"),
    "PRODUCT_SEQUENTIAL_INTERVAL_DAYS_MAX": Limit(7, "B.0", "3P", "legacy sequential_usage_info.interval_days"),
    "PRODUCT_STOCK_REMARK_MAX_CHARS": Limit(20, "B.4", "D", "stock.remark string(20)"),
    "PRODUCT_STOCK_MAX_COUNT": Limit(100_000_000, "B.4", "D", "stock_send_rule.max_count and max_count_per_day"),
    "PRODUCT_STOCK_MAX_COUNT_PER_USER": Limit(100, "B.4", "D", "stock_send_rule.max_count_per_user"),
    "PRODUCT_AVAILABLE_PERIOD_MAX_DAYS": Limit(365, "B.4", "D", "coupon_available_period window length"),
    "PRODUCT_AVAILABLE_DAYS_MAX": Limit(365, "B.4", "D", "coupon_available_period.available_days"),
    "PRODUCT_WAIT_DAYS_MAX": Limit(30, "B.4", "D", "coupon_available_period.wait_days_after_receive"),
    "PRODUCT_IRREGULAR_PERIODS_MAX": Limit(2, "B.4", "D", "irregular_available_period_list"),
    "PRODUCT_SECONDS_OF_DAY_MAX": Limit(86399, "B.4", "D", "day_period_list begin_time / end_time (seconds of day)"),
    "PRODUCT_DESCRIPTION_MAX_CHARS": Limit(1000, "B.4", "D", "usage_description, coupon_available_store_info"),
    "PRODUCT_ENTRANCE_WORDING_MAX_CHARS": Limit(5, "B.4", "D", "entrance_mini_program.entrance_wording"),
    "PRODUCT_GUIDANCE_WORDING_MAX_CHARS": Limit(6, "B.4", "D", "entrance_mini_program.guidance_wording"),
    # --- Both ---
    "NAME_MAX_CHARS": Limit(resources.NAME_MAX_CHARS, "design §1.2", "OURS", "manifest name (the address)"),
}


def _v(name: str) -> int:
    return LIMITS[name].value


SHOP_MAX_PRODUCTS_PER_COUPON = _v("SHOP_MAX_PRODUCTS_PER_COUPON")
SHOP_COUPON_NAME_MAX_CHARS = _v("SHOP_COUPON_NAME_MAX_CHARS")
SHOP_OUT_COUPON_ID_MAX_CHARS = _v("SHOP_OUT_COUPON_ID_MAX_CHARS")
SHOP_DISCOUNT_NUM_MIN = _v("SHOP_DISCOUNT_NUM_MIN")
SHOP_DISCOUNT_NUM_MAX = _v("SHOP_DISCOUNT_NUM_MAX")
SHOP_DISCOUNT_NUM_STEP = _v("SHOP_DISCOUNT_NUM_STEP")
SHOP_TIMESTAMP_MAX = _v("SHOP_TIMESTAMP_MAX")
PRODUCT_DISPLAY_NAME_MIN_CHARS = _v("PRODUCT_DISPLAY_NAME_MIN_CHARS")
PRODUCT_DISPLAY_NAME_MAX_CHARS = _v("PRODUCT_DISPLAY_NAME_MAX_CHARS")
PRODUCT_DETAIL_IMAGES_MAX = _v("PRODUCT_DETAIL_IMAGES_MAX")
PRODUCT_COMBO_PACKAGES_MAX = _v("PRODUCT_COMBO_PACKAGES_MAX")
PRODUCT_COMBO_NAME_MAX_CHARS = _v("PRODUCT_COMBO_NAME_MAX_CHARS")
PRODUCT_CHOICES_MAX = _v("PRODUCT_CHOICES_MAX")
PRODUCT_CHOICE_COUNT_MAX = _v("PRODUCT_CHOICE_COUNT_MAX")
PRODUCT_OUT_PRODUCT_NO_MAX_CHARS = _v("PRODUCT_OUT_PRODUCT_NO_MAX_CHARS")
PRODUCT_PERCENT_OFF_MIN = _v("PRODUCT_PERCENT_OFF_MIN")
PRODUCT_PERCENT_OFF_MAX = _v("PRODUCT_PERCENT_OFF_MAX")
PRODUCT_BUNDLE_COUNT_MIN = _v("PRODUCT_BUNDLE_COUNT_MIN")
PRODUCT_BUNDLE_COUNT_MAX = _v("PRODUCT_BUNDLE_COUNT_MAX")
PRODUCT_BUNDLE_INTERVAL_DAYS_MAX = _v("PRODUCT_BUNDLE_INTERVAL_DAYS_MAX")
PRODUCT_SEQUENTIAL_COUNT_MAX = _v("PRODUCT_SEQUENTIAL_COUNT_MAX")
PRODUCT_SEQUENTIAL_AVAILABLE_DAYS_MIN = _v("PRODUCT_SEQUENTIAL_AVAILABLE_DAYS_MIN")
PRODUCT_SEQUENTIAL_AVAILABLE_DAYS_MAX = _v("PRODUCT_SEQUENTIAL_AVAILABLE_DAYS_MAX")
PRODUCT_SEQUENTIAL_INTERVAL_DAYS_MAX = _v("PRODUCT_SEQUENTIAL_INTERVAL_DAYS_MAX")
PRODUCT_STOCK_REMARK_MAX_CHARS = _v("PRODUCT_STOCK_REMARK_MAX_CHARS")
PRODUCT_STOCK_MAX_COUNT = _v("PRODUCT_STOCK_MAX_COUNT")
PRODUCT_STOCK_MAX_COUNT_PER_USER = _v("PRODUCT_STOCK_MAX_COUNT_PER_USER")
PRODUCT_AVAILABLE_PERIOD_MAX_DAYS = _v("PRODUCT_AVAILABLE_PERIOD_MAX_DAYS")
PRODUCT_AVAILABLE_DAYS_MAX = _v("PRODUCT_AVAILABLE_DAYS_MAX")
PRODUCT_WAIT_DAYS_MAX = _v("PRODUCT_WAIT_DAYS_MAX")
PRODUCT_IRREGULAR_PERIODS_MAX = _v("PRODUCT_IRREGULAR_PERIODS_MAX")
PRODUCT_SECONDS_OF_DAY_MAX = _v("PRODUCT_SECONDS_OF_DAY_MAX")
PRODUCT_DESCRIPTION_MAX_CHARS = _v("PRODUCT_DESCRIPTION_MAX_CHARS")
PRODUCT_ENTRANCE_WORDING_MAX_CHARS = _v("PRODUCT_ENTRANCE_WORDING_MAX_CHARS")
PRODUCT_GUIDANCE_WORDING_MAX_CHARS = _v("PRODUCT_GUIDANCE_WORDING_MAX_CHARS")
NAME_MAX_CHARS = _v("NAME_MAX_CHARS")
