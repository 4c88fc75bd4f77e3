"""The manifest envelope: kind, name, status, protect, brand_id, ignore_drift and the per-kind spec (contract §1.2)."""

from __future__ import annotations

import re
import types
import typing
from datetime import date
from functools import cache
from typing import Annotated, Any, Literal, Union

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, WithJsonSchema, model_validator
from pydantic_core import PydanticCustomError

from reconciler.manifest import limits
from reconciler.manifest.base import StrictModel
from reconciler.manifest.product import ProductCouponSpec
from reconciler.manifest.shop import ShopCouponSpec
from reconciler.resources import NAME_PATTERN

BRAND_ID_PATTERN = re.compile(r"[0-9]{1,32}")


def _check_name(value: str) -> str:
    if not NAME_PATTERN.fullmatch(value):
        raise PydanticCustomError(
            "name",
            "must be 1–{max} characters of a-z, 0-9, '_' and '-', starting with a letter or digit",
            {"max": limits.NAME_MAX_CHARS},
        )
    return value


def _check_brand_id(value: str) -> str:
    if not BRAND_ID_PATTERN.fullmatch(value):
        raise PydanticCustomError("brand_id", 'must be a string of digits, e.g. "120344" (B.2)')
    return value


Name = Annotated[
    str,
    AfterValidator(_check_name),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": f"^{NAME_PATTERN.pattern}$",
            "description": "address name; ShopCoupon out_coupon_id defaults to it",
        }
    ),
]
BrandId = Annotated[
    str, AfterValidator(_check_brand_id), WithJsonSchema({"type": "string", "pattern": f"^{BRAND_ID_PATTERN.pattern}$"})
]


class IgnoreDrift(StrictModel):
    """A spec field that plan and drift leave alone because a team edits it in the console on purpose."""

    field: str = Field(min_length=1, description="dotted path inside spec, e.g. coupon_info.receive_info.total_num")
    reason: str = Field(min_length=1, description="why the field is edited outside git")


class Moved(StrictModel):
    """A reviewed rename, like Terraform's `moved {}` block: the coupon declared here was declared as `from` before.

    The plan moves the state entry from `<kind>.<from>` to this address without any upstream call (the upstream
    coupon and its id are kept); once no state holds the old address the declaration is a harmless no-op."""

    from_: Name = Field(alias="from", description="the name this coupon was declared under before (same kind)")

    @model_validator(mode="before")
    @classmethod
    def _mapping(cls, data: Any) -> Any:
        if isinstance(data, str):  # `moved: old-name`, the likeliest slip
            raise PydanticCustomError("moved", "expected a mapping: moved: {from: {name}}", {"name": data})
        return data


def _expiry(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise PydanticCustomError("expires", "expected a date like 2028-12-01") from None
    return value


class Allow(StrictModel):
    """A reviewed exception to one policy rule for this coupon (docs/policies.md), until it expires."""

    rule: str = Field(min_length=1, description="the rule id in policies.yaml")
    reason: str = Field(min_length=1, description="why the exception is right (shown in the plan and the PR comment)")
    expires: Annotated[date, BeforeValidator(_expiry), Field(strict=False)] = Field(
        description="date after which the exception is ignored (with a warning), e.g. 2028-12-01"
    )


MAX_ORDER_DESCRIPTION = (
    "largest order value (fen) the coupon is priced against when its value depends on the order (policy exposure)"
)


def guard_of(model: ShopCouponDocument | ProductCouponDocument) -> dict[str, Any]:
    """The policy facts of a document (`DesiredCoupon.guard`): its order cap and its allow entries, when given."""
    guard: dict[str, Any] = {}
    if model.max_order_fen is not None:
        guard["max_order_fen"] = model.max_order_fen
    if model.allow:
        guard["allow"] = [{"rule": a.rule, "reason": a.reason, "expires": a.expires.isoformat()} for a in model.allow]
    return guard


class ShopCouponDocument(StrictModel):
    """A `kind: ShopCoupon` document: a Mini Program `/shop/coupon` coupon."""

    kind: Literal["ShopCoupon"] = Field(description="ShopCoupon")
    name: Name = Field(description="address name: shop_coupon.<name>")
    status: Literal["draft", "active", "expired", "voided"] = Field(
        default="active", description="desired lifecycle (A.4.2: 1 draft, 2 active, 3 expired, 4 voided)"
    )
    protect: bool = Field(default=False, description="refuse to void or replace it")
    ignore_drift: list[IgnoreDrift] | None = Field(default=None, description="fields edited outside git on purpose")
    moved: Moved | None = Field(
        default=None,
        description="renamed from an earlier name: {from: old-name}; "
        "moves state, no upstream call (spec.out_coupon_id must keep the old value)",
    )
    max_order_fen: int | None = Field(default=None, ge=1, description=MAX_ORDER_DESCRIPTION)
    allow: list[Allow] | None = Field(default=None, description="reviewed exceptions to policy rules")
    spec: ShopCouponSpec = Field(description="the upstream `coupon` object (A.3)")


class ProductCouponDocument(StrictModel):
    """A `kind: ProductCoupon` document: a WeChat Pay partner product coupon."""

    kind: Literal["ProductCoupon"] = Field(description="ProductCoupon")
    name: Name = Field(description="address name: product_coupon.<name>")
    protect: bool = Field(default=False, description="refuse to deactivate or replace it")
    brand_id: BrandId | None = Field(default=None, description="brand; defaults to the configured brand (B.0)")
    ignore_drift: list[IgnoreDrift] | None = Field(default=None, description="fields edited outside git on purpose")
    moved: Moved | None = Field(
        default=None, description="renamed from an earlier name: {from: old-name}; moves state, no upstream call"
    )
    max_order_fen: int | None = Field(default=None, ge=1, description=MAX_ORDER_DESCRIPTION)
    allow: list[Allow] | None = Field(default=None, description="reviewed exceptions to policy rules")
    spec: ProductCouponSpec = Field(description="the create request minus out_request_no and brand_id (B.5)")


Document = ShopCouponDocument | ProductCouponDocument
DOCUMENT_MODELS: dict[str, type[ShopCouponDocument] | type[ProductCouponDocument]] = {
    "ShopCoupon": ShopCouponDocument,
    "ProductCoupon": ProductCouponDocument,
}
# Envelope fields that belong to one kind only, with the message a user gets when using them on the other.
OTHER_KIND_FIELDS: dict[str, dict[str, str]] = {
    "ShopCoupon": {"brand_id": "brand_id applies to ProductCoupon only"},
    "ProductCoupon": {
        "status": "status applies to ShopCoupon only (a product coupon is always active; "
        "removing it from the manifests deactivates it)"
    },
}


def model_class(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside an annotation (through Optional, list and Annotated), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return model_class(typing.get_args(annotation)[0])
    if origin in (Union, types.UnionType, list):
        for arg in typing.get_args(annotation):
            found = model_class(arg)
            if found is not None:
                return found
    return None


def map_value_model(annotation: Any) -> type[BaseModel] | None:
    """The model of a map's values (`dict[str, Stock] | None` -> Stock: the named stocks, decision D29), if any."""
    for arg in (*typing.get_args(annotation), annotation):
        if typing.get_origin(arg) is dict:
            return model_class(typing.get_args(arg)[1])
    return None


def model_at(root: type[BaseModel], loc: tuple[str | int, ...]) -> type[BaseModel] | None:
    """The model class that holds the fields at `loc` (list indices and the keys of named maps are skipped)."""
    current: type[BaseModel] | None = root
    skip_key = False
    for part in loc:
        if isinstance(part, int) or skip_key:
            skip_key = False
            continue
        if current is None or part not in current.model_fields:
            return None
        annotation = current.model_fields[part].annotation
        inner = map_value_model(annotation)
        current, skip_key = (inner, True) if inner is not None else (model_class(annotation), False)
    return current


@cache
def field_paths(spec_model: type[BaseModel]) -> frozenset[str]:
    """Every dotted field path inside a spec model (lists are not indexed; a named map's key is `*`, e.g.
    `stocks.*.remark`), for ignore_drift checks."""
    paths: set[str] = set()

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, info in model.model_fields.items():
            path = f"{prefix}{name}"
            paths.add(path)
            in_map = map_value_model(info.annotation)
            if in_map is not None:
                paths.add(path + ".*")
                walk(in_map, path + ".*.")
                continue
            inner = model_class(info.annotation)
            if inner is not None:
                walk(inner, path + ".")

    walk(spec_model, "")
    return frozenset(paths)
