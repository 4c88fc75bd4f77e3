"""ShopCoupon: the Mini Program `/shop/coupon/*` `coupon` object (reference A.3) as a strict model, and its rules.

The model accepts exactly the `/shop/coupon/add` field names. Field presence that depends on `type` (A.5) or
`valid_type` (A.4.4) is checked by `shop_rules`, which returns every violation at once.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field, WithJsonSchema

from reconciler.manifest import limits
from reconciler.manifest.base import Issue, Loc, StrictModel, enum_check
from reconciler.manifest.timeutil import to_unix_seconds
from reconciler.times import format_unix

# A.4.1 coupon types [D].
SHOP_TYPES: dict[int, str] = {
    1: "商品条件折扣券",
    2: "商品满减券",
    3: "商品统一折扣券",
    4: "商品直减券",
    5: "商品换购券",
    6: "商品买赠券",
    101: "店铺条件折扣券",
    102: "店铺满减券",
    103: "店铺统一折扣券",
    104: "店铺直减券",
}
PRODUCT_TYPES = frozenset({1, 2, 3, 4, 5, 6})
# A.4.3: 4 (视频号直播) is the only promote_type documented for /shop [D].
PROMOTE_TYPES: dict[int, str] = {4: "视频号直播"}
# A.4.4 valid_type [D].
VALID_TYPES: dict[int, str] = {1: "fixed time window", 2: "N days after claim", 3: "N seconds after claim"}

# A.5: which discount fields each type needs. Everything not listed for a type is refused for it, so a stray
# threshold can never silently change a coupon's meaning. Type 6 may name out_product_ids ([INF]: not needed).
DISCOUNT_FIELDS = (
    "out_product_ids",
    "product_cnt",
    "product_price",
    "discount_num",
    "discount_fee",
    "tradein_info",
    "buyget_info",
)
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
OPTIONAL_BY_TYPE: dict[int, frozenset[str]] = {6: frozenset({"out_product_ids"})}

# Fields WeChat returns from get / get_list but that a manifest cannot set (A.3 "response only").
READ_ONLY_SPEC_FIELDS = frozenset({"status", "create_time", "update_time", "appid"})
READ_ONLY_COUPON_INFO_FIELDS = frozenset({"ext_info"})

ShopTime = Annotated[
    int,
    BeforeValidator(to_unix_seconds),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": 0, "maximum": limits.SHOP_TIMESTAMP_MAX},
                {"type": "string", "format": "date-time"},
            ],
            "description": "Unix seconds or ISO-8601 with offset; sent as Unix seconds (A.1)",
        }
    ),
]
ShopType = Annotated[
    int, AfterValidator(enum_check(SHOP_TYPES)), WithJsonSchema({"type": "integer", "enum": list(SHOP_TYPES)})
]
PromoteType = Annotated[
    int, AfterValidator(enum_check(PROMOTE_TYPES)), WithJsonSchema({"type": "integer", "enum": list(PROMOTE_TYPES)})
]
ValidType = Annotated[
    int, AfterValidator(enum_check(VALID_TYPES)), WithJsonSchema({"type": "integer", "enum": list(VALID_TYPES)})
]
Fen = Annotated[int, Field(ge=0, description="money in fen (分), A.1")]
PositiveFen = Annotated[int, Field(ge=1, description="money in fen (分), A.1")]
Count = Annotated[int, Field(ge=1)]
OutProductId = Annotated[str, Field(min_length=1)]


class Finder(StrictModel):
    """The 视频号 (Channels) account that promotes the coupon (A.3, with promote_type 4)."""

    nickname: str = Field(min_length=1, description="视频号 nickname (A.3)")


class PromoteInfo(StrictModel):
    """coupon_info.promote_info (A.3)."""

    promote_type: PromoteType = Field(description="same enum as the top-level promote_type (A.4.3)")
    finder: Finder | None = Field(default=None, description="required when promote_type is 4 (A.3 [INF])")


class TradeinInfo(StrictModel):
    """Type 5 (换购): the product offered and the price to pay (A.3)."""

    out_product_id: OutProductId = Field(description="merchant product id offered")
    price: Fen = Field(description="price to pay, fen (A.3)")


class BuygetInfo(StrictModel):
    """Type 6 (买赠): buy N of X, get M of Y (A.3)."""

    buy_out_product_id: OutProductId = Field(description="product to buy")
    buy_product_cnt: Count = Field(description="how many to buy")
    get_out_product_id: OutProductId = Field(description="product given")
    get_product_cnt: Count = Field(description="how many given")


class DiscountCondition(StrictModel):
    """coupon_info.discount_info.discount_condition: thresholds and products; which apply depends on type (A.5)."""

    product_cnt: Count | None = Field(default=None, description="item-count threshold (types 1, 101)")
    product_price: PositiveFen | None = Field(default=None, description="amount threshold, fen (types 2, 102)")
    out_product_ids: list[OutProductId] | None = Field(
        default=None,
        min_length=1,
        max_length=limits.SHOP_MAX_PRODUCTS_PER_COUPON,
        description="merchant product ids (types 1–5; optional for 6); cap SHOP_MAX_PRODUCTS_PER_COUPON (A.7 [??])",
    )
    tradein_info: TradeinInfo | None = Field(default=None, description="type 5 only")
    buyget_info: BuygetInfo | None = Field(default=None, description="type 6 only")


class DiscountInfo(StrictModel):
    """coupon_info.discount_info (A.3, A.5)."""

    discount_condition: DiscountCondition | None = Field(default=None, description="thresholds and products (A.5)")
    # The documented floor (2折) is checked by `shop_rules`, so its message can name the limit it enforces.
    discount_num: int | None = Field(
        default=None,
        ge=0,
        le=limits.SHOP_DISCOUNT_NUM_MAX,
        multiple_of=limits.SHOP_DISCOUNT_NUM_STEP,
        description="折扣 × 1000 (5.1折 → 5100), SHOP_DISCOUNT_NUM_MIN (2折) to 10000 in steps of 100 "
        "(types 1, 3, 101, 103; A.5)",
    )
    discount_fee: PositiveFen | None = Field(
        default=None,
        description="amount off, fen (types 2, 4, 102, 104); at most SHOP_DISCOUNT_FEE_MAX, and a 满减 leaves at "
        "least 2折 of product_price (A.5)",
    )


class ReceiveInfo(StrictModel):
    """coupon_info.receive_info: the claim window and quantities (A.3, all required [INF])."""

    start_time: ShopTime = Field(description="claim window start")
    end_time: ShopTime = Field(description="claim window end (after start_time; errcode 990009)")
    limit_num_one_person: Count = Field(description="per-user claim limit (enforced by the merchant)")
    total_num: Count = Field(description="total quantity to issue")


class ValidInfo(StrictModel):
    """coupon_info.valid_info: how long a claimed coupon stays usable (A.4.4)."""

    valid_type: ValidType = Field(description="1 fixed window, 2 days after claim, 3 seconds after claim")
    valid_day_num: Count | None = Field(default=None, description="valid_type 2 only")
    valid_second: Count | None = Field(default=None, description="valid_type 3 only")
    start_time: ShopTime | None = Field(default=None, description="valid_type 1 only")
    end_time: ShopTime | None = Field(default=None, description="valid_type 1 only")


class CouponInfo(StrictModel):
    """coupon.coupon_info (A.3)."""

    name: str = Field(
        min_length=1,
        max_length=limits.SHOP_COUPON_NAME_MAX_CHARS,
        description="coupon name; ≤ SHOP_COUPON_NAME_MAX_CHARS characters (A.7 [??])",
    )
    promote_info: PromoteInfo = Field(description="promotion channel (A.3)")
    discount_info: DiscountInfo = Field(description="discount fields, per type (A.5)")
    receive_info: ReceiveInfo = Field(description="claim window and quantities")
    valid_info: ValidInfo = Field(description="validity after claim (A.4.4)")


class ShopCouponSpec(StrictModel):
    """The `coupon` object of `/shop/coupon/add` (A.3, A.6.1); out_coupon_id defaults to the manifest name."""

    out_coupon_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=limits.SHOP_OUT_COUPON_ID_MAX_CHARS,
        description="merchant coupon id, the upstream key; defaults to the manifest name",
    )
    type: ShopType = Field(description="coupon type (A.4.1)")
    promote_type: PromoteType = Field(description="promotion type (A.4.3)")
    coupon_info: CouponInfo = Field(description="coupon content (A.3)")


def shop_rules(spec: ShopCouponSpec) -> list[Issue]:
    """Every offline rule of A.4–A.7 that the model's types cannot express, located from the document root."""
    issues: list[Issue] = []
    info = spec.coupon_info
    base: Loc = ("spec", "coupon_info")

    # promote_info mirrors the top-level promote_type; 4 (视频号直播) needs the finder nickname (A.3 [INF]).
    if info.promote_info.promote_type != spec.promote_type:
        issues.append(
            Issue(
                (*base, "promote_info", "promote_type"),
                f"must equal spec.promote_type ({spec.promote_type}) (A.3 [INF])",
            )
        )
    if spec.promote_type == 4 and info.promote_info.finder is None:
        issues.append(
            Issue(
                (*base, "promote_info", "finder"),
                "required when promote_type is 4 (视频号直播): finder.nickname (A.3 [INF])",
            )
        )

    issues.extend(_discount_rules(spec.type, info.discount_info))

    receive = info.receive_info
    rloc: Loc = (*base, "receive_info")
    if receive.end_time <= receive.start_time:
        issues.append(
            Issue(
                (*rloc, "end_time"),
                f"must be after start_time ({format_unix(receive.start_time)}) (A.8 errcode 990009)",
            )
        )
    if receive.limit_num_one_person > receive.total_num:
        issues.append(
            Issue((*rloc, "limit_num_one_person"), f"must not exceed total_num ({receive.total_num}) (our default)")
        )

    issues.extend(_valid_info_rules(info.valid_info, receive, (*base, "valid_info")))
    return issues


def _discount_rules(coupon_type: int, discount: DiscountInfo) -> list[Issue]:
    issues: list[Issue] = []
    dloc: Loc = ("spec", "coupon_info", "discount_info")
    cloc: Loc = (*dloc, "discount_condition")
    cond = discount.discount_condition
    present: dict[str, Loc] = {}
    if cond is not None:
        for field in ("out_product_ids", "product_cnt", "product_price", "tradein_info", "buyget_info"):
            if getattr(cond, field) is not None:
                present[field] = (*cloc, field)
    for field in ("discount_num", "discount_fee"):
        if getattr(discount, field) is not None:
            present[field] = (*dloc, field)

    required = REQUIRED_BY_TYPE[coupon_type]
    allowed = required | OPTIONAL_BY_TYPE.get(coupon_type, frozenset())
    label = f"type {coupon_type} ({SHOP_TYPES[coupon_type]})"
    for field in DISCOUNT_FIELDS:
        if field in required and field not in present:
            where: Loc = (*dloc, field) if field.startswith("discount_") else (*cloc, field)
            issues.append(Issue(where, f"required for {label} (A.5)"))
        elif field in present and field not in allowed:
            needs = ", ".join(f for f in DISCOUNT_FIELDS if f in required)
            issues.append(Issue(present[field], f"not allowed for {label}, which uses {needs} (A.5)", at_key=True))

    if cond is not None and cond.out_product_ids is not None:
        seen: set[str] = set()
        for i, pid in enumerate(cond.out_product_ids):
            if pid in seen:
                issues.append(Issue((*cloc, "out_product_ids", i), f"duplicate product id {pid!r} (our default)"))
            seen.add(pid)
    issues.extend(_money_rules(coupon_type, allowed, discount))
    return issues


def _money_rules(coupon_type: int, allowed: frozenset[str], discount: DiscountInfo) -> list[Issue]:
    """The three documented money limits of the /shop/coupon/add and update field tables (A.5); each message names
    the limit it enforces. Boundary values are accepted exactly at the limit."""
    issues: list[Issue] = []
    dloc: Loc = ("spec", "coupon_info", "discount_info")
    num, fee = discount.discount_num, discount.discount_fee
    if "discount_num" in allowed and num is not None and num < limits.SHOP_DISCOUNT_NUM_MIN:
        issues.append(
            Issue(
                (*dloc, "discount_num"),
                f"must be at least {limits.SHOP_DISCOUNT_NUM_MIN}, got {num}: a discount coupon may be "
                "no deeper than 2折 (limit SHOP_DISCOUNT_NUM_MIN, A.5)",
            )
        )
    if "discount_fee" not in allowed or fee is None:
        return issues
    if fee > limits.SHOP_DISCOUNT_FEE_MAX:
        issues.append(
            Issue(
                (*dloc, "discount_fee"),
                f"must be at most {limits.SHOP_DISCOUNT_FEE_MAX} fen (200 元), got {fee}: the most a "
                "直减 / 满减 coupon may take off (limit SHOP_DISCOUNT_FEE_MAX, A.5)",
            )
        )
    cond = discount.discount_condition
    price = cond.product_price if cond is not None else None
    if "product_price" in allowed and price is not None:
        name, percent = (
            ("SHOP_FULL_REDUCTION_MIN_LEFT_PERCENT", limits.SHOP_FULL_REDUCTION_MIN_LEFT_PERCENT)
            if coupon_type == 102
            else ("SHOP_PRODUCT_FULL_REDUCTION_MIN_LEFT_PERCENT", limits.SHOP_PRODUCT_FULL_REDUCTION_MIN_LEFT_PERCENT)
        )
        # Integer arithmetic: price - fee >= percent % of price, so the boundary is exact.
        if (price - fee) * 100 < percent * price:
            most = price - (percent * price + 99) // 100
            issues.append(
                Issue(
                    (*dloc, "discount_fee"),
                    f"must be at most {most} fen, got {fee}: the price left after a 满减 discount must "
                    f"stay at least 2折 ({percent} %) of the threshold product_price ({price}) "
                    f"(limit {name}, A.5)",
                )
            )
    return issues


def _valid_info_rules(valid: ValidInfo, receive: ReceiveInfo, vloc: Loc) -> list[Issue]:
    issues: list[Issue] = []
    companions = {1: ("start_time", "end_time"), 2: ("valid_day_num",), 3: ("valid_second",)}
    needed = companions[valid.valid_type]
    for field in ("valid_day_num", "valid_second", "start_time", "end_time"):
        value = getattr(valid, field)
        if field in needed and value is None:
            issues.append(Issue((*vloc, field), f"required when valid_type is {valid.valid_type} (A.4.4)"))
        elif field not in needed and value is not None:
            need = " and ".join(needed)
            issues.append(
                Issue(
                    (*vloc, field),
                    f"not allowed when valid_type is {valid.valid_type}, which uses {need} (A.4.4)",
                    at_key=True,
                )
            )
    if valid.valid_type == 1 and valid.start_time is not None and valid.end_time is not None:
        if valid.end_time <= valid.start_time:
            issues.append(
                Issue(
                    (*vloc, "end_time"),
                    f"must be after start_time ({format_unix(valid.start_time)}) (A.8 errcode 990009)",
                )
            )
        elif valid.end_time < receive.end_time:
            # A coupon claimed at the end of the claim window would already be unusable (our default).
            issues.append(
                Issue(
                    (*vloc, "end_time"),
                    f"must not be before receive_info.end_time ({format_unix(receive.end_time)}) (our default)",
                )
            )
    return issues
