"""Static per-kind knowledge the planner needs, as data: compared fields, what is mutable in which status, what forces
replacement, the shop status machine, and the display annotations (enum meanings, money and time fields).

The planner reads these tables; it never asks a provider object. Each rule cites the reference section it comes from.
"""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.resources import Kind
from reconciler.stocks import STOCK_MAPS


@dataclass(frozen=True, slots=True)
class KindRules:
    """How one coupon kind is compared and what the upstream allows to change."""

    kind: Kind
    # Top-level body keys that are never compared: upstream fills them in (response-only).
    read_only: frozenset[str]
    # Nested response-only keys, as key paths (e.g. shop `coupon_info.ext_info`, reference A.3).
    read_only_nested: tuple[tuple[str, ...], ...]
    # Top-level keys that can change in place, and the upstream statuses in which they can.
    mutable: frozenset[str]
    mutable_in: frozenset[str]
    # Top-level keys whose change forces a replacement (product) or is blocked once active (shop).
    immutable: frozenset[str]
    # Top-level keys reported but never changed by couponctl after creation (product stock, reference B.4).
    not_applied: frozenset[str]


# reference B.4: what upstream fills in on a stock or stock bundle by itself (ids, counters, state, deactivation, a
# bundle step's `stock_bundle_info`, timestamps [INF]), and the request number state may keep from what was sent:
# never declared, never compared by the planner (diff engine and plan/stock_calls.py), never drift
# (plan/stock_drift.py), left out of what `import --generate` writes. The one list of them.
STOCK_RESPONSE_ONLY: frozenset[str] = frozenset(
    {
        "product_coupon_id",
        "stock_id",
        "stock_bundle_id",
        "stock_bundle_info",
        "stock_list",
        "coupon_code_count_info",
        "sent_count_info",
        "state",
        "deactivate_request_no",
        "deactivate_time",
        "deactivate_reason",
        "brand_id",
        "create_time",
        "update_time",
        "out_request_no",
    }
)


SHOP_RULES = KindRules(
    kind="ShopCoupon",
    # reference A.3: status, create_time, update_time, appid and coupon_info.ext_info are response-only;
    # coupon_stock comes with get_list after activation (A.3, A.6.4).
    read_only=frozenset({"status", "create_time", "update_time", "appid", "ext_info", "coupon_stock"}),
    read_only_nested=(("coupon_info", "ext_info"),),
    # reference A.6.2 / A.4.2: `update` replaces the whole coupon, only while status = 1.
    mutable=frozenset({"type", "promote_type", "coupon_info"}),
    mutable_in=frozenset({"1"}),
    # out_coupon_id is the identity (A.3): a different one is a different coupon.
    immutable=frozenset({"out_coupon_id"}),
    not_applied=frozenset(),
)

PRODUCT_RULES = KindRules(
    kind="ProductCoupon",
    # reference B.2: id, state, deactivation fields are response-only; brand_id is compared separately.
    read_only=frozenset(
        {
            "product_coupon_id",
            "brand_id",
            "state",
            "deactivate_request_no",
            "deactivate_time",
            "deactivate_reason",
            "out_request_no",
        }
    ),
    # reference B.4: each stock in state (the create or add-stock answer, or the stock list) adds the response-only
    # fields of STOCK_RESPONSE_ONLY to what was sent; `*` is any stock name of the `stocks` / `stock_bundles` map
    # (decision D29).
    read_only_nested=tuple((stock, "*", field) for stock in STOCK_MAPS for field in sorted(STOCK_RESPONSE_ONLY)),
    # reference B.2 / B.7: display_info is the only PATCHable part, and only in EFFECTIVE.
    mutable=frozenset({"display_info"}),
    mutable_in=frozenset({"EFFECTIVE"}),
    # reference B.2: everything else of the entity is fixed at creation; a change means create new + deactivate old.
    immutable=frozenset(
        {
            "scope",
            "type",
            "usage_mode",
            "single_usage_info",
            "progressive_bundle_usage_info",
            "sequential_usage_info",
            "out_product_no",
        }
    ),
    # Nothing is reported without being applied any more: stocks change through the stock APIs (reference B.4,
    # decision D29: plan/stocks.py); what no API can do is blocked with a remedy.
    not_applied=frozenset(),
)

RULES: dict[Kind, KindRules] = {"ShopCoupon": SHOP_RULES, "ProductCoupon": PRODUCT_RULES}

# reference A.6.4: `get` / `get_list` may answer a status-1 coupon with a partial `coupon_info` [D example]. Which
# fields are left out, and whether they come back missing or as zeros, is not documented [INF]: every key below may
# be echoed with holes (missing, or 0 / "" / [] / {}), and a hole says nothing about the coupon, so it is filled
# from what we last knew (`diff.fill_echo_holes`) instead of being compared. Other statuses are echoed whole.
SHOP_PARTIAL_ECHO_STATUSES: frozenset[int] = frozenset({1})
SHOP_PARTIAL_ECHO_KEYS: tuple[str, ...] = ("type", "promote_type", "coupon_info")

# reference B.2: a product coupon's stocks (or stock bundles) never come from GET of the coupon; state keeps them
# as named maps (decision D29).
STOCK_KEYS: tuple[str, ...] = STOCK_MAPS


def nested_by_parent(rules: KindRules) -> dict[tuple[str, ...], frozenset[str]]:
    """`read_only_nested` grouped by parent path: {("stocks", "*"): {"stock_id", ...}} (one lookup per parent;
    `*` stands for every key of a map)."""
    grouped: dict[tuple[str, ...], set[str]] = {}
    for path in rules.read_only_nested:
        grouped.setdefault(tuple(path[:-1]), set()).add(path[-1])
    return {parent: frozenset(leaves) for parent, leaves in grouped.items()}


NESTED_READ_ONLY: dict[Kind, dict[tuple[str, ...], frozenset[str]]] = {
    kind: nested_by_parent(rules) for kind, rules in RULES.items()
}

# --- Shop status machine (reference A.4.2): 1 -> 2, 2 -> 3, 2 -> 4; nothing else, never back to 1. ---------------

SHOP_TRANSITIONS: dict[int, frozenset[int]] = {1: frozenset({2}), 2: frozenset({3, 4})}
SHOP_TERMINAL: frozenset[int] = frozenset({3, 4})
SHOP_VOID = 4


def shop_status_path(current: int, wanted: int) -> tuple[int, ...] | None:
    """The `update_status` values that move a shop coupon from `current` to `wanted` (empty when equal), or None
    when the status machine does not allow it (reference A.4.2)."""
    if current == wanted:
        return ()
    path: list[int] = []
    status = current
    # Breadth is tiny (4 states): walk 1 -> 2 first when needed, then 2 -> wanted.
    while status != wanted:
        allowed = SHOP_TRANSITIONS.get(status, frozenset())
        if wanted in allowed:
            status = wanted
        elif 2 in allowed and wanted in SHOP_TRANSITIONS.get(2, frozenset()):
            status = 2
        else:
            return None
        path.append(status)
    return tuple(path)


# --- Product state machine (reference B.10) ------------------------------------------------------------------------

PRODUCT_AUDITING = "AUDITING"
PRODUCT_EFFECTIVE = "EFFECTIVE"
PRODUCT_DEACTIVATED = "DEACTIVATED"

# --- Display annotations: enum meanings (reference A.4, B.2, B.4) ---------------------------------------------------

SHOP_TYPE_MEANING: dict[int, str] = {
    1: "商品条件折扣券 (product, N items -> discount)",
    2: "商品满减券 (product, spend X get Y off)",
    3: "商品统一折扣券 (product, flat discount)",
    4: "商品直减券 (product, straight reduction)",
    5: "商品换购券 (product, trade-in)",
    6: "商品买赠券 (product, buy X get Y)",
    101: "店铺条件折扣券 (shop-wide, N items -> discount)",
    102: "店铺满减券 (shop-wide spend X get Y off)",
    103: "店铺统一折扣券 (shop-wide flat discount)",
    104: "店铺直减券 (shop-wide straight reduction)",
}
SHOP_STATUS_MEANING: dict[int, str] = {
    1: "未生效，编辑中 (editing)",
    2: "生效 (active)",
    3: "已过期 (expired)",
    4: "已作废 (voided)",
}
SHOP_PROMOTE_TYPE_MEANING: dict[int, str] = {4: "视频号直播 (Channels live)"}
SHOP_VALID_TYPE_MEANING: dict[int, str] = {
    1: "fixed window (valid_info.start_time..end_time)",
    2: "N days after claim",
    3: "N seconds after claim",
}
# Shop `type`s whose discount is a fixed amount of money (reference A.5: discount_fee types).
SHOP_REDUCTION_TYPES: frozenset[int] = frozenset({2, 4, 102, 104})
# Shop types whose value depends on the order (discount_num percentages, trade-in, buy-get).
SHOP_ORDER_DEPENDENT_TYPES: frozenset[int] = frozenset({1, 3, 5, 6, 101, 103})

PRODUCT_ENUM_MEANING: dict[str, dict[str, str]] = {
    "scope": {"ALL": "all products", "SINGLE": "a single product or combo"},
    "type": {
        "NORMAL": "满减 (spend X get Y off)",
        "DISCOUNT": "折扣 (percent off)",
        "EXCHANGE": "兑换 (pay a fixed price)",
    },
    "usage_mode": {
        "SINGLE": "one use",
        "PROGRESSIVE_BUNDLE": "a bundle used step by step",
        "SEQUENTIAL": "legacy sequential use",
    },
    "state": {"AUDITING": "under review", "EFFECTIVE": "effective", "DEACTIVATED": "deactivated (terminal)"},
    "coupon_code_mode": {
        "WECHATPAY": "codes by WeChat Pay",
        "UPLOAD": "merchant-uploaded codes",
        "API_ASSIGN": "codes assigned by API",
    },
    "code_display_mode": {"INVISIBLE": "no code shown", "BARCODE": "barcode", "QRCODE": "QR code"},
    "store_scope": {"NONE": "no stores", "ALL": "all stores", "SPECIFIC": "specific stores"},
}

# Field names (last path segment) holding money in fen, in either family (reference A.1, B.2-B.4).
MONEY_FIELDS: frozenset[str] = frozenset(
    {"discount_fee", "product_price", "price", "original_price", "threshold", "discount_amount", "exchange_price"}
)
# Shop fields holding Unix seconds (reference A.1, A.3).
UNIX_TIME_FIELDS: frozenset[str] = frozenset({"start_time", "end_time", "valid_time", "create_time", "update_time"})
