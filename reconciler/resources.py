"""The data the planner compares: desired coupons (from manifests) and resource states (from the state store).

Both sides hold coupon bodies in one *normalised upstream form*, so the planner can compare them field by field:

- ShopCoupon: the `coupon` object exactly as `/shop/coupon/add` takes it (`out_coupon_id`, `type`, `promote_type`,
  `coupon_info`), times as Unix seconds, money as integer fen. In state, the last-known upstream object also carries
  `status` (1..4) and whatever read-only fields upstream returned (`create_time`, `ext_info`, ...).
- ProductCoupon: the create request minus `out_request_no` and `brand_id` (`scope`, `type`, `usage_mode`,
  `single_usage_info` | `progressive_bundle_usage_info`, `display_info`, `out_product_no`), with its stocks as
  named maps instead of the create's one `stock` | `stock_bundle`: `stocks: {name: stock}` |
  `stock_bundles: {name: bundle}`, in manifest order, the first being the one sent with create (a manifest's
  `stock:` is `stocks: {main: ...}`; decision D29, `reconciler/stocks.py`). Times as RFC3339 with offset. In state,
  the upstream entity also carries `product_coupon_id`, `state`, and each stock as upstream last answered it (what
  was sent plus `stock_id`, `state`, `sent_count_info`, ...; GET of the coupon never returns stocks).

Everything here is plain, frozen data; no I/O.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["ShopCoupon", "ProductCoupon"]
KINDS: tuple[Kind, ...] = ("ShopCoupon", "ProductCoupon")
ADDRESS_PREFIX: dict[Kind, str] = {"ShopCoupon": "shop_coupon", "ProductCoupon": "product_coupon"}
KIND_BY_PREFIX: dict[str, Kind] = {v: k for k, v in ADDRESS_PREFIX.items()}

# Desired lifecycle of a ShopCoupon as written in manifests, and the upstream status each maps to
# (reference A.4.2: 1 editing, 2 active, 3 expired, 4 voided).
SHOP_STATUS_BY_NAME: dict[str, int] = {"draft": 1, "active": 2, "expired": 3, "voided": 4}
SHOP_STATUS_NAME: dict[int, str] = {v: k for k, v in SHOP_STATUS_BY_NAME.items()}


# A coupon's name, the second half of its address: our own rule (contract §1.2), listed with the limits manifests
# enforce (manifest/limits.py NAME_MAX_CHARS). Used by the manifest schema and by `couponctl import` alike.
NAME_MAX_CHARS = 64
NAME_PATTERN = re.compile(rf"[a-z0-9][a-z0-9_-]{{0,{NAME_MAX_CHARS - 1}}}")


def make_address(kind: Kind, name: str) -> str:
    return f"{ADDRESS_PREFIX[kind]}.{name}"


def split_address(address: str) -> tuple[Kind, str]:
    """`shop_coupon.x` -> ("ShopCoupon", "x"); raises ValueError for anything else."""
    prefix, sep, name = address.partition(".")
    if not sep or not name or prefix not in KIND_BY_PREFIX:
        raise ValueError(f"invalid address {address!r}: expected shop_coupon.<name> or product_coupon.<name>")
    return KIND_BY_PREFIX[prefix], name


def canonical_json(value: Any) -> str:
    """Deterministic JSON (sorted keys, no whitespace, UTF-8 kept) used for digests and comparisons."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def digest(value: Any) -> str:
    """sha256 hex of the canonical JSON of `value`."""
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class SourceRef:
    """Where a manifest document starts (1-based line and column)."""

    file: str
    line: int
    col: int = 1
    set_name: str | None = None  # the coupon set (`kind: CouponSet`) that expanded into this coupon, if any

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@dataclass(frozen=True, slots=True)
class IgnoreRule:
    """A field that drift detection and the planner leave alone because a team edits it in the console on purpose."""

    path: str  # dotted field path inside the body, e.g. "coupon_info.receive_info.total_num"
    reason: str


@dataclass(frozen=True, slots=True)
class DesiredCoupon:
    """One coupon as declared in a manifest, already validated and normalised."""

    kind: Kind
    name: str
    status: str  # ShopCoupon: draft | active | expired | voided. ProductCoupon: always "active".
    body: Mapping[str, Any]  # normalised upstream form (see module docstring)
    source: SourceRef
    protect: bool = False
    brand_id: str | None = None  # ProductCoupon only; None means the configured default brand
    ignore_drift: tuple[IgnoreRule, ...] = ()
    moved_from: str | None = None  # `moved: {from: NAME}`: the name this coupon was declared under before a rename
    # What the policy reads beside the spec (issue 18): {"max_order_fen": int, "allow": [{rule, reason, expires}]}.
    # Never sent upstream and not part of `digest`: a reviewed override changes no coupon.
    guard: Mapping[str, Any] = field(default_factory=dict)

    @property
    def address(self) -> str:
        return make_address(self.kind, self.name)

    @property
    def upstream_key(self) -> str | None:
        """The merchant-chosen identity: out_coupon_id for ShopCoupon, None for ProductCoupon (WeChat assigns it)."""
        if self.kind == "ShopCoupon":
            return str(self.body["out_coupon_id"])
        return None

    @property
    def digest(self) -> str:
        return digest(
            {
                "kind": self.kind,
                "name": self.name,
                "status": self.status,
                "protect": self.protect,
                "brand_id": self.brand_id,
                "body": self.body,
                "ignore_drift": [[r.path, r.reason] for r in self.ignore_drift],
            }
        )


@dataclass(frozen=True, slots=True)
class ResourceState:
    """What the state store knows about one managed coupon: the last-known upstream representation."""

    address: str
    kind: Kind
    upstream_id: str  # out_coupon_id (ShopCoupon) or product_coupon_id (ProductCoupon)
    upstream: Mapping[str, Any]  # last-known upstream object, normalised (see module docstring)
    desired_digest: str  # digest of the manifest entry that produced it ("" after import)
    protect: bool = False
    brand_id: str | None = None
    created_at: str = ""  # ISO-8601 UTC
    updated_at: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)  # e.g. {"ignore_drift": [...]} kept for drift

    @property
    def name(self) -> str:
        return split_address(self.address)[1]

    @property
    def status(self) -> str:
        """Upstream lifecycle as text: shop "1".."4", product AUDITING | EFFECTIVE | DEACTIVATED."""
        if self.kind == "ShopCoupon":
            return str(self.upstream.get("status", ""))
        return str(self.upstream.get("state", ""))
