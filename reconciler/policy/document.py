"""The models of `policies.yaml`, validated like manifests (strict types, unknown fields refused with positions)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, model_validator
from pydantic_core import PydanticCustomError

from reconciler.manifest.base import StrictModel
from reconciler.policy.model import RULE_KINDS

RuleKind = Literal[
    "max_plan_exposure",
    "max_coupon_exposure",
    "max_face_value",
    "max_discount_percent",
    "max_discount_ratio",
    "max_quantity",
    "max_claim_days",
    "require_protect",
    "max_deactivations",
    "allowed_brands",
]
ActionTypeName = Literal["create", "update", "replace", "deactivate", "transition"]
PARAMETERS = ("max_fen", "max_percent", "max", "days", "brand_ids")


def _moment(value: Any) -> Any:
    """A freeze boundary: ISO-8601 with an explicit offset (freezes are declared in +08:00)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise PydanticCustomError("moment", "expected a time like 2028-11-10T20:00:00+08:00") from None
    if isinstance(value, datetime) and value.tzinfo is None:
        raise PydanticCustomError("moment", "needs an offset, e.g. 2028-11-10T20:00:00+08:00")
    return value


def _day(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise PydanticCustomError("day", "expected a date like 2028-12-01") from None
    return value


Moment = Annotated[datetime, BeforeValidator(_moment), Field(strict=False)]
Day = Annotated[date, BeforeValidator(_day), Field(strict=False)]
RuleId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$", description="rule id: a-z, 0-9, '_' and '-'")]


class ScopeDoc(StrictModel):
    """Which coupons a rule reads: kinds and manifest-file globs (relative to the project root)."""

    kinds: list[Literal["ShopCoupon", "ProductCoupon"]] | None = Field(default=None, description="coupon kinds")
    files: list[Annotated[str, Field(min_length=1)]] | None = Field(default=None, description="manifest globs")


class RuleDoc(StrictModel):
    id: RuleId
    kind: RuleKind = Field(description="one of the rule kinds (docs/policies.md)")
    message: str = Field(min_length=1, description="what the reviewer reads")
    severity: Literal["deny", "warn"] = Field(default="deny", description="deny fails the plan, warn shows it")
    max_fen: int | None = Field(default=None, ge=0)
    max_percent: int | None = Field(default=None, ge=0, le=100)
    max: int | None = Field(default=None, ge=0)
    days: int | None = Field(default=None, ge=0)
    brand_ids: list[Annotated[str, Field(pattern=r"^[0-9]{1,32}$")]] | None = None
    scope: ScopeDoc | None = None

    @model_validator(mode="after")
    def _parameter(self) -> RuleDoc:
        wanted = RULE_KINDS[self.kind][0]
        for name in PARAMETERS:
            given = getattr(self, name) is not None
            if name == wanted and not given:
                raise PydanticCustomError("parameter", "{kind} needs {name}", {"kind": self.kind, "name": name})
            if name != wanted and given:
                needs = f"it takes {wanted}" if wanted else "it takes no parameter"
                raise PydanticCustomError(
                    "parameter",
                    "{name} does not apply to {kind} ({needs})",
                    {"name": name, "kind": self.kind, "needs": needs},
                )
        return self


class FreezeDoc(StrictModel):
    name: str = Field(min_length=1, description="shown in the plan and in apply's refusal")
    start: Moment
    end: Moment
    allow: list[ActionTypeName] = Field(default_factory=list, description="action types allowed (e.g. deactivate)")
    reason: str | None = None

    @model_validator(mode="after")
    def _order(self) -> FreezeDoc:
        if self.end <= self.start:
            raise PydanticCustomError("order", "end must be after start")
        return self


class PolicyDocument(StrictModel):
    rules: list[RuleDoc] = Field(default_factory=list)
    freezes: list[FreezeDoc] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> PolicyDocument:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.id in seen:
                raise PydanticCustomError("duplicate", "rule id {id} is used twice", {"id": rule.id})
            seen.add(rule.id)
        return self
