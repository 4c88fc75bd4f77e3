"""`couponctl validate` (offline manifest checks) and `couponctl schema` (the manifest JSON Schema).

Start-up stays light on purpose: nothing here imports httpx, sqlalchemy, starlette, rich or cryptography.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.config import Settings
from reconciler.errors import Diagnostic


@dataclass(frozen=True, slots=True)
class Validation:
    """Every manifest was valid (else ManifestError was raised): how many coupons in how many files, warnings."""

    coupons: int
    files: int
    warnings: tuple[Diagnostic, ...]


def validate(settings: Settings | None, paths: Sequence[str] = ()) -> Validation:
    """Check manifests offline: YAML, schema and every documented business rule. No network.

    Without `paths`, the configured manifest paths (then `settings` is required). `settings` also gives the parse
    cache; explicit files validate without settings (a broken couponctl.toml), then without the cache.
    """
    from reconciler.manifest import load_manifests
    from reconciler.manifest.cache import cache_for

    if not paths:
        paths = configured_paths(settings)
    root = settings.root if settings is not None else None  # image files lie inside it (decision D33)
    result = load_manifests(list(paths), root=root, cache=cache_for(settings) if settings is not None else None)
    return Validation(len(result.coupons), len(result.files), tuple(result.warnings))


def configured_paths(settings: Settings | None) -> list[str]:
    """The manifest paths of couponctl.toml, as shown in diagnostics (validate, render and fmt without PATH)."""
    if settings is None:
        raise ValueError("without paths the settings are needed (the configured manifest paths)")
    return [_display(str(settings.resolve(p))) for p in settings.manifests]


def schema() -> dict[str, Any]:
    """The JSON Schema of a manifest document (for editors and CI linters)."""
    from reconciler.manifest import manifest_json_schema

    return manifest_json_schema()


def _display(path: str) -> str:
    """A path relative to the working directory when it lies below it (diagnostics show what users type)."""
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative
