"""Building blocks shared by the ShopCoupon and ProductCoupon models: the strict base model and rule issues.

Models accept exactly what the APIs accept, with the APIs' own field names: unknown fields are errors
(`extra="forbid"`), types are strict (no "102" → 102 coercion), and explicit `null` is refused because WeChat Pay
forbids null values (reference B.11) and an omitted field says the same thing unambiguously.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator
from pydantic_core import PydanticCustomError

from reconciler.manifest.issues import Issue, Loc

__all__ = ["Issue", "Loc", "StrictModel", "char_len", "enum_check"]


class StrictModel(BaseModel):
    """Base of every manifest model: unknown fields and nulls are errors, types are strict."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _refuse_nulls(cls, data: Any) -> Any:
        if isinstance(data, dict) and None in data.values():
            key = next(k for k, v in data.items() if v is None)
            raise PydanticCustomError(
                "null_value", "null is not allowed (WeChat Pay refuses nulls, B.11): omit the field", {"field": key}
            )
        return data


def enum_check(allowed: Iterable[int], meaning: dict[int, str] | None = None) -> Callable[[int], int]:
    """An after-validator refusing integers outside `allowed` (strict typing already refused non-integers)."""
    values = tuple(allowed)
    listing = ", ".join(f"{v} ({meaning[v]})" if meaning and v in meaning else str(v) for v in values)

    def check(value: int) -> int:
        if value not in values:
            raise PydanticCustomError("enum", "must be one of {allowed}", {"allowed": listing})
        return value

    return check


def char_len(text: str) -> int:
    """Length in characters (code points), the unit WeChat's limits use (B.3: an emoji counts as 1)."""
    return len(text)
