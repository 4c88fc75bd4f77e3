"""THE table of named limits the manifest rules enforce, each with its reference section and confidence.

Confidence tags follow docs/upstream.md, section 0: D (official doc), S (official WeChat Pay repository),
3P (third-party mirror), INF (inferred), ?? (unconfirmed) and OURS (our own default where the docs are silent).
Every number a rule checks comes from here, so changing an assumption is a one-line edit that also updates
docs/manifests.md (generated from this table).
"""

from __future__ import annotations

from dataclasses import dataclass

from reconciler import resources, stocks


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
    "SHOP_COUPON_NAME_MAX_CHARS": Limit(
        10,
        "A.3, A.7",
        "??",
        "coupon_info.name; /shop states no length, sibling APIs cap it at 10 chars: the "
        "sandbox applies the same assumption (errcode 990008)",
    ),
    "SHOP_OUT_COUPON_ID_MAX_CHARS": Limit(64, "A.3", "OURS", "out_coupon_id length is undocumented"),
    "SHOP_DISCOUNT_NUM_MIN": Limit(
        2000,
        "A.5",
        "D",
        "discount_num (折扣 × 1000) of a 折扣 coupon: no deeper than 2折 (the /shop/coupon/add and "
        "/shop/coupon/update field tables; v1 allowed 1000)",
    ),
    "SHOP_DISCOUNT_NUM_MAX": Limit(10000, "A.5", "D", "discount_num: 10折"),
    "SHOP_DISCOUNT_NUM_STEP": Limit(100, "A.5", "D", "discount_num is a multiple of 100"),
    "SHOP_DISCOUNT_FEE_MAX": Limit(
        20000,
        "A.5",
        "D",
        "discount_fee of a 直减 / 满减 coupon (types 2, 4, 102, 104): at most 200 元, in fen "
        "(the /shop/coupon/add and /shop/coupon/update field tables)",
    ),
    "SHOP_FULL_REDUCTION_MIN_LEFT_PERCENT": Limit(
        20,
        "A.5",
        "D",
        "store 满减 (type 102): product_price - discount_fee ≥ 20 % (2折) of product_price (the "
        "/shop/coupon/add and /shop/coupon/update field tables)",
    ),
    "SHOP_PRODUCT_FULL_REDUCTION_MIN_LEFT_PERCENT": Limit(
        20,
        "A.5",
        "INF",
        "product 满减 (type 2): the doc rule is 'at least 2折 of the goods' original price'; a "
        "basket exactly at product_price is its worst case, so the same threshold rule as type 102",
    ),
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
    "PRODUCT_STOCKS_MAX": Limit(200, "B.4", "D", "effective stocks per product coupon (stocks / stock_bundles)"),
    "PRODUCT_STOCK_NAME_MAX_CHARS": Limit(
        stocks.STOCK_NAME_MAX_CHARS, "decision D29", "OURS", "stock name: the key in stocks / stock_bundles"
    ),
    "PRODUCT_AVAILABLE_PERIOD_MAX_DAYS": Limit(365, "B.4", "D", "coupon_available_period window length"),
    "PRODUCT_AVAILABLE_DAYS_MAX": Limit(365, "B.4", "D", "coupon_available_period.available_days"),
    "PRODUCT_WAIT_DAYS_MAX": Limit(30, "B.4", "D", "coupon_available_period.wait_days_after_receive"),
    "PRODUCT_IRREGULAR_PERIODS_MAX": Limit(2, "B.4", "D", "irregular_available_period_list"),
    "PRODUCT_SECONDS_OF_DAY_MAX": Limit(86399, "B.4", "D", "day_period_list begin_time / end_time (seconds of day)"),
    "PRODUCT_DESCRIPTION_MAX_CHARS": Limit(1000, "B.4", "D", "usage_description, coupon_available_store_info"),
    "PRODUCT_ENTRANCE_WORDING_MAX_CHARS": Limit(5, "B.4", "D", "entrance_mini_program.entrance_wording"),
    "PRODUCT_GUIDANCE_WORDING_MAX_CHARS": Limit(6, "B.4", "D", "entrance_mini_program.guidance_wording"),
    # --- Both ---
    "NAME_MAX_CHARS": Limit(resources.NAME_MAX_CHARS, "contract §1.2", "OURS", "manifest name (the address)"),
}


def _v(name: str) -> int:
    return LIMITS[name].value


SHOP_MAX_PRODUCTS_PER_COUPON = _v("SHOP_MAX_PRODUCTS_PER_COUPON")
SHOP_COUPON_NAME_MAX_CHARS = _v("SHOP_COUPON_NAME_MAX_CHARS")
SHOP_OUT_COUPON_ID_MAX_CHARS = _v("SHOP_OUT_COUPON_ID_MAX_CHARS")
SHOP_DISCOUNT_NUM_MIN = _v("SHOP_DISCOUNT_NUM_MIN")
SHOP_DISCOUNT_NUM_MAX = _v("SHOP_DISCOUNT_NUM_MAX")
SHOP_DISCOUNT_NUM_STEP = _v("SHOP_DISCOUNT_NUM_STEP")
SHOP_DISCOUNT_FEE_MAX = _v("SHOP_DISCOUNT_FEE_MAX")
SHOP_FULL_REDUCTION_MIN_LEFT_PERCENT = _v("SHOP_FULL_REDUCTION_MIN_LEFT_PERCENT")
SHOP_PRODUCT_FULL_REDUCTION_MIN_LEFT_PERCENT = _v("SHOP_PRODUCT_FULL_REDUCTION_MIN_LEFT_PERCENT")
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
PRODUCT_STOCKS_MAX = _v("PRODUCT_STOCKS_MAX")
PRODUCT_STOCK_NAME_MAX_CHARS = _v("PRODUCT_STOCK_NAME_MAX_CHARS")
PRODUCT_AVAILABLE_PERIOD_MAX_DAYS = _v("PRODUCT_AVAILABLE_PERIOD_MAX_DAYS")
PRODUCT_AVAILABLE_DAYS_MAX = _v("PRODUCT_AVAILABLE_DAYS_MAX")
PRODUCT_WAIT_DAYS_MAX = _v("PRODUCT_WAIT_DAYS_MAX")
PRODUCT_IRREGULAR_PERIODS_MAX = _v("PRODUCT_IRREGULAR_PERIODS_MAX")
PRODUCT_SECONDS_OF_DAY_MAX = _v("PRODUCT_SECONDS_OF_DAY_MAX")
PRODUCT_DESCRIPTION_MAX_CHARS = _v("PRODUCT_DESCRIPTION_MAX_CHARS")
PRODUCT_ENTRANCE_WORDING_MAX_CHARS = _v("PRODUCT_ENTRANCE_WORDING_MAX_CHARS")
PRODUCT_GUIDANCE_WORDING_MAX_CHARS = _v("PRODUCT_GUIDANCE_WORDING_MAX_CHARS")
NAME_MAX_CHARS = _v("NAME_MAX_CHARS")


@dataclass(frozen=True, slots=True)
class StricterRule:
    """A rule `validate` applies although the reference says upstream accepts the value (our own default)."""

    rule: str  # a short id, also used by the agreement test (tests/agreement) to excuse the disagreement
    severity: str  # "error" or "warning"
    what: str
    why: str


# Where validate is deliberately stricter than upstream. The sandbox follows the reference (it accepts these), so
# tests/agreement/ excuses exactly these rules, and docs/manifests.md lists them (generated).
STRICTER_RULES: tuple[StricterRule, ...] = (
    StricterRule(
        "shop.unused_discount_field",
        "error",
        "a discount field the `type` does not use (A.5), e.g. `discount_fee` on a type 101",
        "the /shop/coupon/add doc example sends every discount field on a type 101 and WeChat accepts it, but a "
        "field the type ignores never means what it says (a threshold that is not applied)",
    ),
    StricterRule(
        "shop.unused_valid_field",
        "error",
        "a `valid_info` field the `valid_type` does not use (A.4.4), e.g. `valid_day_num` with valid_type 1",
        "the doc example sends them and WeChat ignores them; a manifest should say only what takes effect",
    ),
    StricterRule(
        "shop.zero_length_window",
        "error",
        "a claim or fixed validity window whose end equals its start",
        "errcode 990009 refuses only start > end (A.8); a window of no length cannot be what anyone means",
    ),
    StricterRule(
        "shop.limit_exceeds_total",
        "error",
        "`limit_num_one_person` above `total_num`",
        "the per-person limit could never be reached; upstream leaves both numbers to the merchant (A.3)",
    ),
    StricterRule(
        "shop.validity_ends_before_claims",
        "error",
        "a fixed validity window (`valid_type` 1) ending before the claim window ends",
        "a coupon claimed late would already be unusable",
    ),
    StricterRule(
        "shop.duplicate_product_ids",
        "error",
        "the same id twice in `out_product_ids`",
        "a typo hides behind it; upstream states nothing about duplicates",
    ),
    StricterRule(
        "shop.out_coupon_id_length",
        "error",
        "`out_coupon_id` longer than SHOP_OUT_COUPON_ID_MAX_CHARS",
        "its length is undocumented (A.3); a bounded key keeps state and plans readable",
    ),
    StricterRule(
        "product.display_price_on_scope_all",
        "warning",
        "`display_info.original_price` / `combo_package_list` on a scope ALL coupon",
        "B.3 says they go with scope SINGLE, yet the PATCH doc's own response example shows them on an ALL "
        "coupon, so WeChat accepts them: a warning (they may not be shown), not an error",
    ),
    StricterRule(
        "product.duplicates",
        "error",
        "duplicate usage methods or weekdays",
        "a duplicate is a typo; upstream states nothing about it",
    ),
    StricterRule(
        "product.pick_count",
        "error",
        "a combo package `pick_count` above its number of choices",
        "the user could never pick that many; upstream states nothing about it",
    ),
    StricterRule(
        "product.irregular_outside_window",
        "error",
        "an `irregular_available_period_list` period outside the available window",
        "the period could never apply; upstream states nothing about it",
    ),
)
