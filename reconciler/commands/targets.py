"""What a narrowed plan selects: `--target` must select something, and `plan PATH` must know what the configured
manifests declare outside PATH.

A target that matches no declared and no managed coupon used to be a warning on a plan that then did nothing and
exited 0, so a CI job with a typo in its `--target` went green without deploying anything.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from reconciler.commands.common import manifest_paths
from reconciler.errors import CouponctlError, Diagnostic, PlanError

if TYPE_CHECKING:
    from reconciler.config import Settings
    from reconciler.manifest.loader import LoadResult
    from reconciler.resources import ResourceState


def check_targets(targets: Sequence[str], declared: Iterable[str], managed: Iterable[str]) -> None:
    """PlanError naming every target that selects no declared or managed coupon (with the closest address)."""
    from reconciler.plan.planner import target_matches

    if not targets:
        return
    addresses = sorted(set(declared) | set(managed))
    lines = []
    for target in targets:
        if any(target_matches(a, target) for a in addresses):
            continue
        close = difflib.get_close_matches(target, addresses, n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]}?)" if close else ""
        lines.append(f"--target {target} matches no declared or managed coupon{hint}")
    if lines:
        lines.append("Nothing was planned and nothing was sent upstream; `couponctl state list` shows what is managed.")
        raise PlanError("\n".join(lines))


def declared_elsewhere(
    settings: Settings, paths: Sequence[str], loaded: LoadResult, current: Mapping[str, ResourceState]
) -> frozenset[str] | None:
    """With `paths`, the managed coupons that the configured manifests still declare outside them (a document moved
    to another folder since its last apply still records its old source): a narrowed plan must not remove them.

    Reads only the configured manifest files that `loaded` (the files under `paths`) does not hold, so no file is
    loaded twice, and only when the narrowed plan could remove something; None when they do not load (then the
    planner removes nothing that `paths` do not declare)."""
    if not paths:
        return frozenset()
    declared = {c.address for c in loaded.coupons}
    if all(address in declared for address in current):
        return frozenset()
    from reconciler.manifest import load_manifests
    from reconciler.manifest.cache import cache_for
    from reconciler.manifest.discovery import discover

    problems: list[Diagnostic] = []
    configured = discover(manifest_paths(settings, ()), problems)
    if problems:  # a configured path that is missing or a dangling link: they do not load
        return None
    already = {Path(file).resolve() for file in loaded.files}
    others = [display for display, path in configured if path.resolve() not in already]
    if not others:
        return frozenset()
    try:
        elsewhere = load_manifests(others, root=settings.root, cache=cache_for(settings))
    except CouponctlError:
        return None
    return frozenset(c.address for c in elsewhere.coupons) - declared
