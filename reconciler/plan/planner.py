"""The pure planner (contract §2.2): desired coupons + state (+ drift found while refreshing) -> a `Plan` value.

No I/O, no clock (`now` is passed in), no randomness. One `Action` per address that needs something; addresses that
match are only counted (`Plan.unchanged`). Diffing, like Alembic autogenerate: the addresses are a set split on
stable keys (desired - state -> create, state - desired -> deactivate / forget, both -> compare field by field).

Where each part lives: the diff engine in `plan/diff.py`, the rules of the two action tables of contract §2.2 in
`plan/shop.py` and `plan/product.py`, the claim-window rule in `plan/time_rules.py` (over `reconciler.claim_window`),
typed action building and request numbers in `plan/actions.py`, the static per-kind facts in `plan/kinds.py`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from reconciler.errors import PlanError
from reconciler.plan.actions import PlanContext, Subject
from reconciler.plan.images import resolve_images, with_uploads
from reconciler.plan.model import (
    Action,
    ActionType,
    DriftItem,
    FieldChange,
    Plan,
    format_version_for,
    uses_new_operations,
)
from reconciler.plan.moves import Moves, mark_move, rename_hints, resolve_moves
from reconciler.plan.product import plan_product
from reconciler.plan.shop import plan_shop
from reconciler.plan.unchanged import Keys, Skip
from reconciler.resources import DesiredCoupon, ResourceState, make_address
from reconciler.times import iso_utc


def target_matches(address: str, target: str) -> bool:
    """`--target` matching: the exact address, a kind (`shop_coupon`), or a prefix pattern ending in `*`."""
    if target.endswith("*"):
        return address.startswith(target[:-1])
    if "." not in target:
        return address.startswith(target + ".")
    return address == target


def make_plan(
    desired: Sequence[DesiredCoupon],
    state: Mapping[str, ResourceState],
    *,
    lineage: str,
    serial: int,
    manifest_digest: str,
    now: datetime,
    tool_version: str,
    default_brand_id: str | None,
    targets: Sequence[str] = (),
    refreshed: bool = False,
    drift: Sequence[DriftItem] = (),
    plan_ttl: timedelta = timedelta(hours=24),
    git_commit: str | None = None,
    paths: Sequence[str] = (),
    manifest_files: Mapping[str, str] | None = None,
    skip_blocked: bool = False,
    declared_elsewhere: frozenset[str] | None = frozenset(),
    environment: str | None = None,
    assets: Mapping[str, str] | None = None,
    unchanged_rows: Skip | None = None,
) -> Plan:
    """Compare desired coupons with state and return the plan (contract §2.2-2.3). Pure.

    Raises PlanError only for inputs that cannot be planned at all (duplicate addresses, a naive `now`); every
    per-coupon problem becomes a BLOCKED action so that all of them are shown at once.

    `paths` (relative to the project root) narrow what is considered: a coupon in state that is not declared in
    `desired` is compared (and so may be removed) only when its recorded source lies within them; the others are
    left alone and counted (`Plan.left_alone`). `manifest_files` maps each declared address to its manifest file
    relative to the project root, which apply records as the coupon's source. `declared_elsewhere` are addresses
    the configured manifests declare outside `paths` (a coupon moved to another folder since it was applied): left
    alone too. None means that could not be told (manifests outside `paths` do not load): then nothing outside
    `desired` is removed. `environment` (the selected one, decision D26) is named by the plan and is part of every
    request number. `assets` maps the sha256 of each uploaded image to its URL (the state's asset map, decision D33).
    `unchanged_rows` (decision D36, `plan/unchanged.py`): the markers of the stored rows; a declared coupon whose row
    carries the marker of its current inputs is counted unchanged without being decoded or compared, and each
    coupon the full rules find converged is reported in `unchanged_rows.found`.
    """
    if now.tzinfo is None:
        raise PlanError("make_plan needs an aware `now` (UTC)")
    by_address = _by_address(desired)
    ctx = PlanContext(
        lineage=lineage, serial=serial, now=now, default_brand_id=default_brand_id, environment=environment
    )
    ctx.assets = dict(assets or {})
    if any(w.moved_from is not None and make_address(w.kind, w.moved_from) in state for w in by_address.values()):
        moves = resolve_moves(by_address, state)  # declared renames: planned as state moves (plan/moves.py)
        state = moves.state
    else:
        moves = Moves({})  # none declared: the state is read as given (a lazy one stays lazy)
    in_scope, left_alone = _in_scope(by_address, state, paths, declared_elsewhere)
    in_scope |= set(moves.blocked)
    if declared_elsewhere is None and left_alone:
        ctx.plan_warnings.append(
            "the manifests outside the given paths do not load, so no coupon missing from these paths is removed"
        )
    addresses = _targeted(ctx, set(by_address) | in_scope, targets)

    skip = unchanged_rows
    keys = Keys(skip, environment, default_brand_id, ctx.assets) if skip is not None else None
    unchanged = 0
    planned: list[tuple[str, str | None]] = []  # (address, the marker it would record when found converged)
    for address in sorted(addresses):
        want = by_address.get(address)
        recorded = skip.recorded.get(address) if skip is not None and want is not None else None
        if recorded is None or keys is None or want is None or address in moves.moved or address in moves.blocked:
            planned.append((address, None))
            continue
        marker = keys.marker(want, recorded.row)
        if skip is not None and skip.enabled and recorded.marker == marker:
            unchanged += 1  # converged when last applied and nothing it depends on changed since (D36)
            continue
        planned.append((address, marker))
    if skip is not None and skip.prefetch is not None:
        skip.prefetch([address for address, _ in planned if address in state])  # decoded only what is compared

    actions: list[Action] = []
    for address, found in planned:
        want = by_address.get(address)
        warned = len(ctx.plan_warnings)
        action = moves.blocked.get(address) or _plan_address(ctx, address, want, state.get(address))
        action = mark_move(moves, address, action, want)
        if action is not None and manifest_files and address in manifest_files:
            action = replace(action, manifest_file=manifest_files[address])
        if action is None:
            unchanged += 1
            if found is not None and skip is not None and len(ctx.plan_warnings) == warned:
                skip.found[address] = found
        else:
            actions.append(action)

    actions = rename_hints(actions, by_address)
    actions.sort(key=lambda a: (a.source.file if a.source else "\uffff", a.address))
    created = now.astimezone(UTC)
    return Plan(
        lineage=lineage,
        serial=serial,
        manifest_digest=manifest_digest,
        created_at=iso_utc(created),
        expires_at=iso_utc(created + plan_ttl),
        actions=tuple(actions),
        tool_version=tool_version,
        targets=tuple(targets),
        drift=tuple(drift),
        warnings=tuple(ctx.plan_warnings),
        refreshed=refreshed,
        git_commit=git_commit,
        unchanged=unchanged,
        paths=tuple(paths),
        left_alone=left_alone,
        skip_blocked=skip_blocked,
        environment=environment,
        format_version=format_version_for(environment, new_operations=uses_new_operations(actions)),
    )


def _by_address(desired: Sequence[DesiredCoupon]) -> dict[str, DesiredCoupon]:
    by_address: dict[str, DesiredCoupon] = {}
    for coupon in desired:
        address = coupon.address
        if address in by_address:
            first = by_address[address]
            raise PlanError(f"{address} is declared twice: {first.source} and {coupon.source}")
        by_address[address] = coupon
    return by_address


def within(source: str, paths: Sequence[str]) -> bool:
    """`source` (a manifest file relative to the project root) is one of `paths` or lies under one of them."""
    for path in paths:
        folder = path.rstrip("/")
        if folder in ("", ".") or source == folder or source.startswith(folder + "/"):
            return True
    return False


def recorded_source(resource: ResourceState) -> str | None:
    """The manifest file that declared the coupon when it was last applied (`extra["source"]`), if recorded."""
    source = resource.extra.get("source")
    return source if isinstance(source, str) and source else None


def _in_scope(
    by_address: Mapping[str, DesiredCoupon],
    state: Mapping[str, ResourceState],
    paths: Sequence[str],
    declared_elsewhere: frozenset[str] | None = frozenset(),
) -> tuple[set[str], int]:
    """The state addresses this plan may compare, and how many are left alone (issue 14).

    Without paths every managed coupon is in scope, as always. With paths, a coupon no longer declared in them is
    compared (and so removed) only when its recorded source lies within the paths; a coupon declared elsewhere,
    or with no recorded source (older state, `import`), is left alone: a narrowed plan must never remove what it
    did not load.
    """
    if not paths:
        return set(state), 0
    kept: set[str] = set()
    for address in state:
        if address in by_address:
            kept.add(address)
        elif declared_elsewhere is None or address in declared_elsewhere:
            continue  # declared outside the paths now (or that cannot be told): never removed by a narrowed plan
        else:
            source = recorded_source(state[address])
            if source is not None and within(source, paths):
                kept.add(address)
    return kept, len(state) - len(kept)


def _targeted(ctx: PlanContext, addresses: set[str], targets: Sequence[str]) -> set[str]:
    """The addresses `--target` selects (all when none is given); a target that matches nothing is a warning."""
    if not targets:
        return addresses
    for target in targets:
        if not any(target_matches(a, target) for a in addresses):
            ctx.plan_warnings.append(f"--target {target} matches no declared or managed coupon")
    return {a for a in addresses if any(target_matches(a, t) for t in targets)}


def _plan_address(
    ctx: PlanContext, address: str, want: DesiredCoupon | None, have: ResourceState | None
) -> Action | None:
    kind = want.kind if want is not None else have.kind if have is not None else None
    rules = plan_shop if kind == "ShopCoupon" else plan_product
    declared, pending = resolve_images(ctx.assets, want) if want is not None else (want, {})  # D33: image files
    action = rules(ctx, address, declared, have)
    if action is not None:
        action = with_uploads(ctx, action, pending)
    if action is None and want is not None and have is not None and want.protect != have.protect:
        action = _protect_only(address, want, have)
    if action is not None and want is not None:
        action = replace(action, desired_digest=want.digest)
    return action


def _protect_only(address: str, want: DesiredCoupon, have: ResourceState) -> Action:
    """Only `protect` changed: it lives in couponctl's state (contract §1.2), so apply writes it without a call.

    Without this action a coupon declared `protect: true` later would keep `protect: false` in state, and its
    removal from the manifests would then not be blocked.
    """
    subject = replace(Subject.of(address, want, have), status_after=have.status, brand_id=have.brand_id)
    return subject.action(
        ActionType.UPDATE,
        changes=(FieldChange("protect", "change", have.protect, want.protect),),
        reason="protect is kept in couponctl's state: no upstream call",
    )
