"""A rule violation inside a manifest document (`Issue`) and its location (`Loc`). Pure, no pydantic: the cached path
(coupon sets, the loader) uses them without importing the models."""

from __future__ import annotations

from dataclasses import dataclass

Loc = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Issue:
    """One rule violation inside a document: where (a path from the document root) and what."""

    loc: Loc
    message: str
    severity: str = "error"
    at_key: bool = False  # point at the field's key (forbidden / unknown fields) rather than its value
