"""The shape of a `kind: CouponSet` document for the JSON Schema and the reference (`couponctl schema`,
docs/manifests.md). The loader does not validate sets with this model: `sets.expand` checks the envelope with
located messages, and every expanded coupon is validated by the ShopCoupon / ProductCoupon models, which is where
the template's fields are checked (a template holds `{placeholders}` where the models want integers)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field

from reconciler.manifest.base import StrictModel
from reconciler.manifest.document import Name

Scalar = str | int | bool


class CouponTemplate(StrictModel):
    """A ShopCoupon or ProductCoupon document whose strings may hold `{var}` / `{var*N}` placeholders."""

    model_config = ConfigDict(extra="allow", strict=True, frozen=True)  # the kind's own fields are checked later

    kind: Literal["ShopCoupon", "ProductCoupon"] = Field(description="the kind of every coupon of the set")
    name: str = Field(min_length=1, description="name pattern, e.g. d11-{threshold}-off-{discount}")
    spec: dict[str, Any] = Field(
        description="the kind's spec; a string that is exactly one placeholder takes the "
        'row\'s value with its type ("{threshold*100}" is an integer)'
    )


class CouponSetDocument(StrictModel):
    """A `kind: CouponSet` document: one template expanded over rows and/or a matrix into ordinary coupons."""

    kind: Literal["CouponSet"] = Field(description="CouponSet")
    name: Name = Field(description="the set's name; plans group its coupons under it (not an address)")
    matrix: dict[str, list[Scalar | dict[str, Scalar]]] | None = Field(
        default=None,
        min_length=1,
        description="axis -> values; every combination is one coupon (a mapping value sets several placeholders)",
    )
    rows: list[dict[str, Scalar]] | None = Field(
        default=None, min_length=1, description="one mapping of placeholder values per coupon"
    )
    csv: str | None = Field(
        default=None,
        min_length=1,
        description="a CSV file relative to this manifest: a header line, then one row per coupon",
    )
    template: CouponTemplate = Field(description="the coupon document to expand, with {placeholders}")
