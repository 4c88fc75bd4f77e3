"""The policy as plain, frozen data (rules are data, not code: a fixed set of kinds with parameters). Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

Severity = Literal["deny", "warn"]

# Every rule kind, with its one parameter (None: no parameter) and what it checks. `couponctl` knows no other.
RULE_KINDS: dict[str, tuple[str | None, str]] = {
    "max_plan_exposure": ("max_fen", "money one plan may add (fen), summed over the coupons it makes claimable"),
    "max_coupon_exposure": ("max_fen", "worst-case cost of one coupon (fen): quantity × value"),
    "max_face_value": ("max_fen", "fixed amount one coupon takes off (fen)"),
    "max_discount_percent": ("max_percent", "percent off of a percentage coupon"),
    "max_discount_ratio": ("max_percent", "fixed amount off as a percent of the threshold (满100减90 is 90 %)"),
    "max_quantity": ("max", "coupons one declaration may issue (total_num / max_count)"),
    "max_claim_days": ("days", "length of the claim window in days"),
    "require_protect": (None, "every active coupon in scope has protect: true"),
    "max_deactivations": ("max", "deactivations (voids) in one plan"),
    "allowed_brands": ("brand_ids", "product coupons name only these brands"),
}
PLAN_WIDE_KINDS: frozenset[str] = frozenset({"max_plan_exposure", "max_deactivations"})


@dataclass(frozen=True, slots=True)
class Scope:
    kinds: tuple[str, ...] = ()  # empty: every kind
    files: tuple[str, ...] = ()  # globs over manifest files relative to the project root; empty: every file


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    kind: str
    message: str
    severity: Severity
    limit: Any = None  # the kind's parameter: an int, or a tuple of brand ids
    scope: Scope = field(default_factory=Scope)
    line: int = 1  # where the rule is declared in the policy file


@dataclass(frozen=True, slots=True)
class Freeze:
    """A declared period in which apply refuses mutating calls, except the action types in `allow`."""

    name: str
    start: datetime
    end: datetime
    allow: tuple[str, ...] = ()  # action types, e.g. ("deactivate",)
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Policy:
    file: str
    rules: tuple[Rule, ...] = ()
    freezes: tuple[Freeze, ...] = ()
    digest: str = ""


@dataclass(frozen=True, slots=True)
class Allow:
    """A reviewed exception: findings of `rule` pass, for a reason, until `expires` (None: never)."""

    rule: str
    reason: str
    expires: date | None = None
    by: str | None = None  # who gave a command-line override


@dataclass(frozen=True, slots=True)
class CouponFacts:
    """What a manifest declares beside a coupon's spec that the policy reads."""

    allows: tuple[Allow, ...] = ()
    max_order_fen: int | None = None


def facts_of(coupons: Mapping[str, CouponFacts], address: str) -> CouponFacts:
    return coupons.get(address, CouponFacts())
