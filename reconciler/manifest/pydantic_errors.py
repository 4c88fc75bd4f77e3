"""Pydantic's validation errors as couponctl's manifest messages, each with the location it refers to.

Imported only when a document fails validation (it pulls in the models, see `loader._import_validation`).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from reconciler.manifest.base import Issue, Loc
from reconciler.manifest.document import OTHER_KIND_FIELDS, model_at
from reconciler.manifest.images import IMAGE_FORMS
from reconciler.manifest.product import ProductCouponSpec
from reconciler.manifest.shop import READ_ONLY_COUPON_INFO_FIELDS, READ_ONLY_SPEC_FIELDS, CouponInfo
from reconciler.manifest.timeutil import describe
from reconciler.manifest.wording import did_you_mean, plural, shown

# Fields of the product-coupon create request or entity that do not belong in a manifest spec (B.2, B.9).
PRODUCT_SPEC_MISPLACED = {
    "out_request_no": "out_request_no is derived by couponctl for every request (B.9); remove it",
    "brand_id": 'brand_id goes in the document\'s envelope (brand_id: "..."), not in spec',
    "product_coupon_id": "read-only: WeChat assigns product_coupon_id (B.2); couponctl keeps it in state",
    "state": "read-only: WeChat reports state (B.2); removing the document deactivates the coupon",
    "deactivate_request_no": "read-only: returned after deactivation (B.2)",
    "deactivate_time": "read-only: returned after deactivation (B.2)",
    "deactivate_reason": "read-only: returned after deactivation (B.2)",
}


def translate(err: ErrorDetails, root: type[BaseModel], kind: str) -> Issue:
    """A pydantic error as one of our messages, with the location it refers to."""
    loc: Loc = tuple(part for part in err["loc"] if part not in IMAGE_FORMS)  # union tags of images (D33)
    kind_of = err["type"]
    ctx: dict[str, Any] = dict(err.get("ctx") or {})
    value = err.get("input")
    got = describe(value)
    if kind_of == "null_value":
        return Issue((*loc, ctx["field"]), "null is not allowed (WeChat Pay refuses nulls, B.11): omit the field")
    if kind_of == "missing":
        return Issue(loc, "required field is missing")
    if kind_of == "extra_forbidden":
        return Issue(loc, unknown_field(loc, root, kind), at_key=True)
    if kind_of == "int_type":
        hint = " (remove the quotes)" if isinstance(value, str) and value.strip().lstrip("-").isdigit() else ""
        return Issue(loc, f"expected an integer, got {got}{hint}")
    if kind_of == "string_type":
        hint = f' (quote it: "{value}")' if isinstance(value, int) and not isinstance(value, bool) else ""
        return Issue(loc, f"expected a string, got {got}{hint}")
    if kind_of == "bool_type":
        return Issue(loc, f"expected true or false, got {got}")
    if kind_of == "list_type":
        return Issue(loc, f"expected a list, got {got}")
    if kind_of in ("model_type", "dict_type", "model_attributes_type"):
        return Issue(loc, f"expected a mapping, got {got}")
    if kind_of == "literal_error":
        return Issue(loc, f"must be one of {ctx.get('expected')}, got {shown(value)}")
    if kind_of == "greater_than_equal":
        return Issue(loc, f"must be at least {ctx['ge']}, got {value!r}")
    if kind_of == "less_than_equal":
        return Issue(loc, f"must be at most {ctx['le']}, got {value!r}")
    if kind_of == "multiple_of":
        return Issue(loc, f"must be a multiple of {ctx['multiple_of']}, got {value!r}")
    if kind_of == "string_too_short":
        if ctx["min_length"] == 1:
            return Issue(loc, "must not be empty")
        return Issue(loc, f"must be at least {plural(ctx['min_length'], 'character')}, got {len(value)}")
    if kind_of == "string_too_long":
        return Issue(loc, f"must be at most {plural(ctx['max_length'], 'character')}, got {len(value)}")
    if kind_of == "too_short":
        return Issue(loc, f"must have at least {plural(ctx['min_length'], 'item')}")
    if kind_of == "too_long":
        return Issue(loc, f"must have at most {plural(ctx['max_length'], 'item')}, got {ctx.get('actual_length')}")
    return Issue(loc, err["msg"])


def unknown_field(loc: Loc, root: type[BaseModel], kind: str) -> str:
    key = str(loc[-1])
    parent = loc[:-1]
    model = model_at(root, parent)
    if parent == () and key in OTHER_KIND_FIELDS[kind]:
        return OTHER_KIND_FIELDS[kind][key]
    if model is not None and model.__name__ == "ShopCouponSpec" and key in READ_ONLY_SPEC_FIELDS:
        hint = " (the desired lifecycle is the document's status: draft | active | expired | voided)"
        return f"read-only: WeChat returns {key}, a manifest cannot set it (A.3){hint if key == 'status' else ''}"
    if model is CouponInfo and key in READ_ONLY_COUPON_INFO_FIELDS:
        return f"read-only: WeChat returns {key}, a manifest cannot set it (A.3)"
    if model is ProductCouponSpec and key in PRODUCT_SPEC_MISPLACED:
        return PRODUCT_SPEC_MISPLACED[key]
    candidates = [f.alias or n for n, f in model.model_fields.items()] if model is not None else []
    return f"unknown field{did_you_mean(key, candidates)}"
