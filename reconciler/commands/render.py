"""`couponctl render`: the manifests with every coupon set expanded, validated first (offline, no state)."""

from __future__ import annotations

from collections.abc import Sequence

from reconciler.commands.validate import validate
from reconciler.config import Settings


def render(settings: Settings | None, paths: Sequence[str] = ()) -> str:
    """Validate the manifests (ManifestError on any problem), then return them as YAML with sets expanded.

    Without `paths`, the configured manifest paths (then `settings` is required)."""
    from reconciler.commands.validate import configured_paths
    from reconciler.manifest.rendering import render_yaml

    chosen = list(paths) or configured_paths(settings)
    validate(settings, chosen)
    return render_yaml(chosen)
