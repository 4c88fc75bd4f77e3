"""Coupons unchanged since apply last found them converged (decision D36): the planner's skip, and its markers.

`stored_state` gives `build_plan` the rows as stored (decoded only where compared) with each row's marker;
`record_converged` is what apply runs at its end, under the state lock: it plans every declared coupon against its
stored row with the full rules (skipping those whose marker still holds) and records the marker of each one the
rules found converged (no action, no warning). Nothing else writes a marker. `COUPONCTL_SKIP_UNCHANGED=0` turns the
skip off (every coupon planned in full; markers are still recorded), for tests and to rule it out when in doubt.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from reconciler.config import Settings
from reconciler.errors import CouponctlError
from reconciler.plan.unchanged import Skip
from reconciler.resources import DesiredCoupon

if TYPE_CHECKING:
    from reconciler.store.api import StateStore
    from reconciler.store.planning import StoredRows

SKIP_ENV = "COUPONCTL_SKIP_UNCHANGED"


@functools.cache
def code_fingerprint() -> str:
    """sha256 of couponctl's version and every source file of the package but the sandbox: any change to the code
    (a planner rule, the store's decoding, the environments, ...) forgets every marker. Once per process."""
    from reconciler import __version__

    package = Path(__file__).resolve().parent.parent
    hasher = hashlib.sha256(f"{__version__}\0".encode())
    for source in sorted(package.rglob("*.py")):
        relative = source.relative_to(package).as_posix()
        if not relative.startswith("sandbox/"):
            hasher.update(relative.encode() + b"\0" + source.read_bytes() + b"\0")
    return hasher.hexdigest()


def stored_state(store: StateStore) -> tuple[StoredRows, Skip]:
    """The store's rows (lazy) and the planner's skip over them (decision D36)."""
    from reconciler.store.planning import planning_state

    rows = planning_state(store)  # type: ignore[arg-type]  # the SQL store is the only StateStore
    enabled = os.environ.get(SKIP_ENV, "1") != "0"
    return rows, Skip(rows.recorded, code_fingerprint(), prefetch=rows.load, enabled=enabled)


def record_converged(
    settings: Settings,
    store: StateStore,
    *,
    coupons: Sequence[DesiredCoupon] | None,
    default_brand_id: str | None,
    now: datetime,
) -> int:
    """Plan every declared coupon against its stored row and record the marker of each the full rules find
    converged; returns how many were recorded. `coupons`: as planned (the selected environment's), else loaded
    again. Never fails the command it ends: a marker is only ever a shortcut, so an error records none."""
    from reconciler import __version__
    from reconciler.plan.planner import make_plan
    from reconciler.store.planning import mark_converged

    try:
        if coupons is None:
            coupons = _declared(settings)
        rows, skip = stored_state(store)
        make_plan(
            coupons,
            rows,
            lineage=store.lineage,
            serial=store.serial,
            manifest_digest="",
            now=now,
            tool_version=__version__,
            default_brand_id=default_brand_id,
            environment=settings.env.name,
            assets={sha: asset.url for sha, asset in store.assets().items()},
            unchanged_rows=skip,
        )
        return mark_converged(store, skip.found)  # type: ignore[arg-type]
    except CouponctlError:
        return 0


def _declared(settings: Settings) -> tuple[DesiredCoupon, ...]:
    from reconciler.commands.common import manifest_paths
    from reconciler.commands.plan import with_environment
    from reconciler.manifest import load_manifests
    from reconciler.manifest.cache import cache_for

    loaded = load_manifests(manifest_paths(settings, ()), root=settings.root, cache=cache_for(settings))
    return tuple(with_environment(settings, loaded, ()).coupons)
