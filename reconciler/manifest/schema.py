"""The JSON Schema of a manifest document (`couponctl schema`), generated from the models.

Editors and CI linters apply it to each YAML document. It describes shapes, enums, ranges and lengths; the
cross-field rules (per-type discount fields, time order, ...) are enforced by `couponctl validate` only.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, TypeAdapter
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema


class _NoNullSchema(GenerateJsonSchema):
    """Optional fields may be omitted but never null (B.11), so `X | None` is rendered as plain `X`."""

    def nullable_schema(self, schema: core_schema.NullableSchema) -> JsonSchemaValue:
        return self.generate_inner(schema["schema"])

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        result = super().default_schema(schema)
        if result.get("default", 0) is None:
            result.pop("default")
        return result


def manifest_json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of one manifest document of any kind."""
    from reconciler.manifest.document import ProductCouponDocument, ShopCouponDocument
    from reconciler.manifest.set_schema import CouponSetDocument

    adapter: TypeAdapter[Any] = TypeAdapter(
        Annotated[ShopCouponDocument | ProductCouponDocument | CouponSetDocument, Field(discriminator="kind")]
    )
    schema = adapter.json_schema(schema_generator=_NoNullSchema, mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "couponctl manifest document",
        "description": "One YAML document of a couponctl manifest: a ShopCoupon, a ProductCoupon (contract §1.2) "
        "or a CouponSet that expands into them.",
        **schema,
    }
