"""Manifests: YAML loading with positions, the ShopCoupon and ProductCoupon models and their rules (contract §1.2).

Public entry points:
- `load_manifests(paths, root=None) -> LoadResult` (raises ManifestError with every problem of the run),
- `check_time_windows(coupons, now) -> list[Diagnostic]` (plan-time claim-window sanity; pure),
- `manifest_json_schema() -> dict` (for `couponctl schema`).
"""

from __future__ import annotations

from typing import Any

from reconciler.manifest.loader import LoadResult, check_time_windows, load_manifests


def manifest_json_schema() -> dict[str, Any]:
    """The JSON Schema of a manifest document (pydantic is imported only when asked: see loader.py)."""
    from reconciler.manifest.schema import manifest_json_schema as schema

    return schema()


__all__ = ["LoadResult", "check_time_windows", "load_manifests", "manifest_json_schema"]
