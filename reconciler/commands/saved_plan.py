"""Verifying a saved plan against what is checked out, before `apply PLAN_FILE` makes any call (issue 14, item 10).

A plan file's `integrity` field is an unkeyed sha256 of its own content: it catches accidents (a truncated copy,
a stray edit) but anyone who edits the file can recompute it. So apply trusts nothing the file says about *what*
to do. It plans again from the same inputs: the manifests checked out now, the same state (lineage and serial
were already checked), upstream read again when the plan was refreshed, the plan's own creation time as the
clock and its own options (`--target`, paths). The saved plan is applied only when that yields the same actions
with the same calls; otherwise it is refused naming the first addresses that differ. What is and is not
guaranteed is in docs/plan-format.md ("Saved plan files"); why: decision D19.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime

from reconciler.commands.upstream import Upstream
from reconciler.config import Settings
from reconciler.errors import SavedPlanError
from reconciler.plan.model import Plan
from reconciler.providers.pacing import Pacer
from reconciler.resources import ResourceState
from reconciler.store.api import StateStore

SHOWN_DIFFERENCES = 5


async def verify_saved_plan(
    settings: Settings,
    store: StateStore,
    upstream: Upstream,
    pacer: Pacer,
    saved: Plan,
    resources: Mapping[str, ResourceState],
) -> None:
    """Refuse (SavedPlanError) a saved plan that is not what the checked-out manifests plan now, whatever its
    digest says. Call it after `check_saved_plan` (same lineage and serial, not expired)."""
    from reconciler.commands.drift import refreshed_plan
    from reconciler.commands.plan import build_plan
    from reconciler.plan.planfile import action_differences

    now = _created(saved)
    paths = tuple(os.path.relpath(settings.resolve(p)) for p in saved.paths)
    if saved.refreshed:
        inputs = await refreshed_plan(
            settings, store, resources, paths=paths, targets=saved.targets, now=now, upstream=upstream, pacer=pacer
        )
    else:
        inputs = build_plan(
            settings,
            store,
            paths=paths,
            targets=saved.targets,
            now=now,
            state=resources,
            default_brand_id=upstream.default_brand_id,
        )
    fresh = inputs.plan
    if fresh.manifest_digest != saved.manifest_digest:
        made_at = f" (commit {saved.git_commit})" if saved.git_commit else ""
        raise SavedPlanError(
            "saved plan refused: the manifests checked out are not the ones it was made from"
            f"{made_at}: manifest digest {fresh.manifest_digest[:12]}… now, {saved.manifest_digest[:12]}… in the "
            "plan. Check out the same manifests and run apply from the same directory, or plan again"
        )
    differences = action_differences(saved, fresh)
    if differences:
        shown = "\n".join(f"  {line}" for line in differences[:SHOWN_DIFFERENCES])
        more = len(differences) - SHOWN_DIFFERENCES
        raise SavedPlanError(
            f"saved plan refused: its actions are not what these manifests plan against this state "
            f"({len(differences)} address{'es' if len(differences) != 1 else ''} differ; the file was edited, or "
            f"upstream changed since it was made):\n{shown}"
            + (f"\n  … and {more} more" if more > 0 else "")
            + "\nNothing was applied; plan again (couponctl plan --out FILE) and review the new plan"
        )


def _created(plan: Plan) -> datetime:
    try:
        moment = datetime.fromisoformat(plan.created_at)
    except ValueError:
        raise SavedPlanError(f"saved plan has an invalid created_at {plan.created_at!r}; plan again") from None
    if moment.tzinfo is None:
        raise SavedPlanError(f"saved plan's created_at {plan.created_at!r} has no time zone; plan again")
    return moment
