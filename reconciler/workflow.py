"""The I/O pipeline shared by plan, apply and drift: manifests -> state -> (refresh) -> plan.

Everything here gathers inputs (files, database, clock, git, upstream reads) and hands them to the pure core.
"""

from __future__ import annotations

import getpass
import os
import socket
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from reconciler import __version__
from reconciler.config import Settings
from reconciler.errors import Diagnostic, ManifestError, PlanError
from reconciler.plan.model import DriftItem, Plan
from reconciler.resources import DesiredCoupon, ResourceState
from reconciler.store.api import StateStore


def now_utc() -> datetime:
    return datetime.now(UTC)


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def actor() -> str:
    """Who runs this: CI's actor when known, else user@host."""
    for var in ("GITHUB_ACTOR", "GITLAB_USER_LOGIN", "COUPONCTL_ACTOR"):
        if os.environ.get(var):
            return os.environ[var]
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return f"{user}@{socket.gethostname()}"


def git_commit(root: Path) -> str | None:
    """The commit of the manifests' repository, if any (no network: a local `git rev-parse`)."""
    for var in ("GITHUB_SHA", "CI_COMMIT_SHA"):
        if os.environ.get(var):
            return os.environ[var]
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    sha = out.stdout.strip()
    if out.returncode != 0 or not sha:
        return None
    dirty = subprocess.run(
        ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
        timeout=5,
        check=False,
    )
    return sha + ("-dirty" if dirty.returncode == 0 and dirty.stdout.strip() else "")


@dataclass(frozen=True, slots=True)
class PlanInputs:
    plan: Plan
    warnings: tuple[Diagnostic, ...]
    manifest_files: tuple[str, ...]
    coupons: tuple[DesiredCoupon, ...]  # as loaded from the manifests (drift reads their ignore_drift rules)


def open_state(settings: Settings) -> StateStore:
    from reconciler.store import open_store

    return open_store(settings.state_url)


def manifest_paths(settings: Settings, paths: Sequence[str]) -> list[str]:
    if paths:
        return list(paths)
    if settings.config_file is None:
        return list(settings.manifests)
    return [os.path.relpath(settings.resolve(p)) for p in settings.manifests]


def build_plan(
    settings: Settings,
    store: StateStore,
    *,
    paths: Sequence[str],
    targets: Sequence[str],
    now: datetime,
    state: dict[str, ResourceState] | None = None,
    drift: Sequence[DriftItem] = (),
    refreshed: bool = False,
) -> PlanInputs:
    """Load and check manifests, then plan against `state` (the store's, unless a refreshed copy is given)."""
    from reconciler.manifest import check_time_windows, load_manifests
    from reconciler.manifest.cache import cache_for
    from reconciler.plan.planner import make_plan

    loaded = load_manifests(manifest_paths(settings, paths), cache=cache_for(settings))
    current = store.resources() if state is None else state
    # Time sanity (design §1.2) concerns coupons about to be created: a live coupon whose claim window has ended
    # is simply over, not an error in the manifests (else every plan would fail once a campaign ends).
    time_diags = check_time_windows([c for c in loaded.coupons if c.address not in current], now)
    errors = [d for d in time_diags if d.severity == "error"]
    if errors:
        raise ManifestError(errors)
    for target in targets:
        _check_target(target)
    plan = make_plan(
        loaded.coupons,
        current,
        lineage=store.lineage,
        serial=store.serial,
        manifest_digest=loaded.digest,
        now=now,
        tool_version=__version__,
        default_brand_id=default_brand(settings),
        targets=tuple(targets),
        refreshed=refreshed,
        drift=tuple(drift),
        plan_ttl=timedelta(hours=settings.apply.plan_max_age_hours),
        git_commit=git_commit(settings.root),
    )
    warnings = tuple(loaded.warnings) + tuple(d for d in time_diags if d.severity != "error")
    return PlanInputs(plan=plan, warnings=warnings, manifest_files=tuple(loaded.files), coupons=tuple(loaded.coupons))


def default_brand(settings: Settings) -> str | None:
    if settings.wechatpay.brand_id:
        return settings.wechatpay.brand_id
    if settings.upstream.mode == "sandbox":
        from reconciler.sandbox import load_or_create_credentials

        creds = load_or_create_credentials(settings.resolve(settings.upstream.sandbox_dir) / "keys")
        return creds.brand_id
    return None


def _check_target(target: str) -> None:
    from reconciler.resources import split_address

    name = target[:-2] if target.endswith(".*") else target
    if target.endswith(".*") and name in ("shop_coupon", "product_coupon"):
        return
    try:
        split_address(target)
    except ValueError as exc:
        raise PlanError(f"--target {exc}") from None


__all__ = ["PlanInputs", "actor", "build_plan", "git_commit", "iso", "now_utc", "open_state"]
