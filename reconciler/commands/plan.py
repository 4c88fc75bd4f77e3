"""`plan` and `show`, and the pipeline apply and drift share: manifests -> state -> (refresh) -> plan.

Everything here gathers inputs (files, database, clock, git, upstream reads) and hands them to the pure planner.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler import __version__
from reconciler.commands.common import Clock, git_commit, manifest_paths, now_utc, open_state
from reconciler.commands.guard import NO_OVERRIDE, Override, judged
from reconciler.commands.targets import check_targets, declared_elsewhere
from reconciler.config import Settings
from reconciler.errors import Diagnostic, ManifestError, PlanError, SavedPlanError
from reconciler.plan.model import DriftItem, Plan
from reconciler.resources import DesiredCoupon, ResourceState
from reconciler.upstream_facts import DEFAULT_RATE_LIMITS

if TYPE_CHECKING:
    from reconciler.commands.progress import ProgressSink
    from reconciler.manifest.loader import LoadResult
    from reconciler.store.api import StateStore


@dataclass(frozen=True, slots=True)
class PlanInputs:
    plan: Plan
    warnings: tuple[Diagnostic, ...]
    manifest_files: tuple[str, ...]
    coupons: tuple[DesiredCoupon, ...]  # as loaded from the manifests (drift reads their ignore_drift rules)


@dataclass(frozen=True, slots=True)
class PlanResult:
    """What `couponctl plan` made: the plan, the manifests' warnings, the rates its ETA uses, where it was saved."""

    plan: Plan
    warnings: tuple[Diagnostic, ...]
    rate_limits: Mapping[str, float]
    saved_to: Path | None = None


@dataclass(frozen=True, slots=True)
class ShownPlan:
    """A saved plan read back for `couponctl show`, with the rates its ETA uses."""

    plan: Plan
    rate_limits: Mapping[str, float]


def build_plan(
    settings: Settings,
    store: StateStore,
    *,
    paths: Sequence[str],
    targets: Sequence[str],
    now: datetime,
    default_brand_id: str | None,
    state: Mapping[str, ResourceState] | None = None,
    drift: Sequence[DriftItem] = (),
    refreshed: bool = False,
    unmanaged_shop: Mapping[str, Mapping[str, Any]] | None = None,
    loaded: LoadResult | None = None,
) -> PlanInputs:
    """Load and check manifests, then plan against `state` (the store's, unless a refreshed copy is given).

    `unmanaged_shop` (out_coupon_id -> upstream object, listed while refreshing) turns a declared shop coupon that
    state does not hold but upstream does into an adoption instead of an add (decision D17).

    `default_brand_id` is the brand of product coupons whose manifest names none: the caller gets it from the
    upstream it opened, or from `commands.upstream.default_brand_id` (which may create sandbox credentials).

    `paths` narrow the plan to the manifests under them (issue 14): coupons in state whose recorded source lies
    outside them are left alone and counted, never removed. No paths means every configured manifest path.
    """
    try:
        return _build_plan(
            settings,
            store,
            paths=paths,
            targets=targets,
            now=now,
            default_brand_id=default_brand_id,
            state=state,
            drift=drift,
            refreshed=refreshed,
            unmanaged_shop=unmanaged_shop,
            loaded=loaded,
        )
    finally:
        gc.unfreeze()  # what loading froze is the collector's again (a long process, e.g. a test run, frees it)


def _build_plan(
    settings: Settings,
    store: StateStore,
    *,
    paths: Sequence[str],
    targets: Sequence[str],
    now: datetime,
    default_brand_id: str | None,
    state: Mapping[str, ResourceState] | None,
    drift: Sequence[DriftItem],
    refreshed: bool,
    unmanaged_shop: Mapping[str, Mapping[str, Any]] | None,
    loaded: LoadResult | None,
) -> PlanInputs:
    from reconciler.manifest import check_time_windows, load_manifests
    from reconciler.manifest.cache import cache_for
    from reconciler.plan.planner import make_plan

    if loaded is None:  # a refreshing caller loaded (and so validated) them before reading upstream
        with _collector_paused():
            loaded = load_manifests(manifest_paths(settings, paths), root=settings.root, cache=cache_for(settings))
    loaded = with_environment(settings, loaded, paths)  # its overlay and shop id prefix (decision D26)
    skip = None
    current: Mapping[str, ResourceState]
    if state is None:  # the rows as stored: decoded only where compared (decision D36, commands/converged.py)
        from reconciler.commands.converged import stored_state

        current, skip = stored_state(store)
    else:
        current = dict(state)
    if unmanaged_shop:  # declared shop coupons upstream already holds: adopted, never added twice (D17)
        from reconciler.plan.adopt import adoption_candidates
        from reconciler.times import iso_utc

        found = adoption_candidates(loaded.coupons, current, unmanaged_shop, iso_utc(now))
        current, skip = {**current, **found}, None
    # Time sanity (contract §1.2) concerns coupons about to be created: a live coupon whose claim window has ended
    # is simply over, not an error in the manifests (else every plan would fail once a campaign ends).
    new = [c for c in loaded.coupons if c.address not in current and not _moved_in(c, current)]
    time_diags = check_time_windows(new, now)
    errors = [d for d in time_diags if d.severity == "error"]
    if errors:
        raise ManifestError(errors)
    for target in targets:
        _check_target(target)
    check_targets(targets, (c.address for c in loaded.coupons), current)  # a typo is an error, not a no-op
    plan = make_plan(
        loaded.coupons,
        current,
        lineage=store.lineage,
        serial=store.serial,
        manifest_digest=loaded.digest,
        now=now,
        tool_version=__version__,
        default_brand_id=default_brand_id,
        targets=tuple(targets),
        refreshed=refreshed,
        drift=tuple(drift),
        plan_ttl=timedelta(hours=settings.apply.plan_max_age_hours),
        git_commit=git_commit(settings.root),
        paths=tuple(root_relative(settings, p) for p in paths),
        manifest_files=_manifest_files(settings, loaded.coupons),
        declared_elsewhere=declared_elsewhere(settings, paths, loaded, current),
        environment=settings.env.name,
        assets={sha: asset.url for sha, asset in store.assets().items()},  # uploaded images (decision D33)
        unchanged_rows=skip,
    )
    warnings = tuple(loaded.warnings) + tuple(d for d in time_diags if d.severity != "error")
    return PlanInputs(plan=plan, warnings=warnings, manifest_files=tuple(loaded.files), coupons=tuple(loaded.coupons))


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Loading builds the coupons, which live until the command ends, and little cyclic garbage: the cyclic collector
    is paused meanwhile, and what exists afterwards is frozen (not walked again while the plan is made; `build_plan`
    unfreezes it). At 100,000 coupons the collector walking the growing heap was ~25% of a cached no-op plan's CPU
    (issue 20)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
        gc.freeze()


def with_environment(settings: Settings, loaded: LoadResult, paths: Sequence[str]) -> LoadResult:
    """The loaded manifests as the selected environment declares them (its overlay, its out_coupon_id prefix)."""
    if settings.env.name is None:
        return loaded
    from reconciler.commands.env import environment_coupons

    return replace(loaded, coupons=environment_coupons(settings, loaded.coupons, complete=not paths))


def _manifest_files(settings: Settings, coupons: Sequence[DesiredCoupon]) -> dict[str, str]:
    """Each coupon's manifest file relative to the project root, resolved once per file (not once per coupon:
    10,000 path resolutions were 0.2 s of a no-op plan)."""
    by_file: dict[str, str] = {}
    out: dict[str, str] = {}
    for coupon in coupons:
        file = coupon.source.file
        relative = by_file.get(file)
        if relative is None:
            relative = by_file[file] = root_relative(settings, file)
        out[coupon.address] = relative
    return out


def root_relative(settings: Settings, path: str) -> str:
    """`path` (as given, relative to the working directory) relative to the project root, with `/` separators:
    the form sources are recorded in, so a plan run from another directory compares them alike."""
    absolute = Path(os.path.abspath(path))
    try:
        return absolute.relative_to(Path(os.path.abspath(settings.root))).as_posix() or "."
    except ValueError:
        return Path(os.path.relpath(absolute, os.path.abspath(settings.root))).as_posix()


def interrupted_calls_warning(store: StateStore) -> str | None:
    """The plan's warning when an earlier apply was interrupted between a call and its record: the state does not
    know those calls' outcomes, so a plan (above all with --no-refresh) may miss what they changed upstream."""
    open_calls = store.open_intents()
    if not open_calls:
        return None
    named = ", ".join(f"{i.operation} {i.address}" for i in open_calls[:3])
    more = f" and {len(open_calls) - 3} more" if len(open_calls) > 3 else ""
    return (
        f"{len(open_calls)} call(s) of an interrupted apply have no recorded outcome ({named}{more}): this plan "
        "compares with the state from before them; `couponctl apply` settles them before anything else (reads each "
        "back and records it)."
    )


def plan(
    settings: Settings,
    *,
    paths: Sequence[str] = (),
    targets: Sequence[str] = (),
    refresh: bool = True,
    out: Path | None = None,
    skip_blocked: bool = False,
    clock: Clock = now_utc,
    override: Override = NO_OVERRIDE,
    progress: ProgressSink | None = None,
) -> PlanResult:
    """`couponctl plan`: load, refresh (reading upstream, writing nothing), plan, and save the plan to `out`.

    With `skip_blocked` the plan records that apply is to skip its blocked actions and apply the rest. The policy
    file's verdict (with the `override`s) is recorded in the plan; the CLI exits 1 on an unoverridden deny."""
    store = open_state(settings)
    try:
        now = clock()
        if refresh:
            import asyncio

            from reconciler.commands.drift import refreshed_plan
            from reconciler.commands.preflight import prerequisite_errors

            # an unconfirmed shop's 48001 reads as the pre-flight's line and fix, as in apply (decision D32)
            with prerequisite_errors(settings.upstream.mode != "sandbox"):
                inputs = asyncio.run(
                    refreshed_plan(
                        settings, store, store.resources(), paths=paths, targets=targets, now=now, progress=progress
                    )
                )
        else:
            from reconciler.commands.upstream import default_brand_id

            inputs = build_plan(
                settings, store, paths=paths, targets=targets, now=now, default_brand_id=default_brand_id(settings)
            )
        interrupted = interrupted_calls_warning(store)
    finally:
        store.close()
    if interrupted:
        inputs = replace(inputs, plan=replace(inputs.plan, warnings=(*inputs.plan.warnings, interrupted)))
    if skip_blocked:
        inputs = replace(inputs, plan=replace(inputs.plan, skip_blocked=True))
    inputs = replace(inputs, plan=judged(settings, inputs.plan, inputs.coupons, override, now))  # policies (issue 18)
    if out is not None:  # saved even when denied or blocked: `show --format markdown` tells the PR why
        from reconciler.plan.planfile import save_plan

        out.write_bytes(save_plan(inputs.plan))
    return PlanResult(inputs.plan, inputs.warnings, settings.apply.rate_limits, out)


def read_plan_file(path: Path) -> Plan:
    """A saved plan (`plan --out FILE`), checked for integrity; SavedPlanError when unreadable or tampered with."""
    from reconciler.plan.planfile import load_plan

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SavedPlanError(f"cannot read plan file {path}: {exc.strerror}") from None
    return load_plan(data)


def show(settings: Settings | None, plan_file: Path) -> ShownPlan:
    """`couponctl show`: a saved plan, with the configured rates (the defaults without a usable configuration:
    a saved plan is self-contained, so a broken couponctl.toml must not stop anyone reading it)."""
    plan_ = read_plan_file(plan_file)
    return ShownPlan(plan_, settings.apply.rate_limits if settings is not None else dict(DEFAULT_RATE_LIMITS))


def blocked_error(plan_: Plan) -> PlanError:
    """The error of a plan that cannot be applied: every blocked address, its reason and remedy."""
    from reconciler.render.text import blocked_message

    return PlanError(blocked_message(plan_) or "the plan contains blocked changes")


def _moved_in(coupon: DesiredCoupon, current: Mapping[str, ResourceState]) -> bool:
    """A renamed coupon (`moved: {from: ...}`) whose old address is in state: live already, not about to be created."""
    from reconciler.resources import make_address

    return coupon.moved_from is not None and make_address(coupon.kind, coupon.moved_from) in current


def _check_target(target: str) -> None:
    from reconciler.resources import split_address

    name = target[:-2] if target.endswith(".*") else target
    if target.endswith(".*") and name in ("shop_coupon", "product_coupon"):
        return
    try:
        split_address(target)
    except ValueError as exc:
        raise PlanError(f"--target {exc}") from None


__all__ = ["PlanInputs", "PlanResult", "ShownPlan", "blocked_error", "build_plan", "plan", "read_plan_file", "show"]
