"""Pure: declared shop coupons that exist upstream although the state does not know them (decision D17).

After the state was lost, emptied or pointed elsewhere, planning a create for a shop coupon that already exists
would be refused upstream on every run (1090003) or, worse, look like a new coupon. While refreshing, the commands
layer lists the shop coupons upstream and hands the planner, for each declared coupon that is not in state, the one
upstream holds under its `out_coupon_id`, as a candidate state entry marked `extra.adopt`. The planner then plans
it like a managed coupon and says so:

- upstream matches the manifest: a call-less `update` that adopts it (state is written from upstream);
- it differs in a way couponctl may change (content in status 1, a status move): adopt, then those calls;
- it differs in a way couponctl may not change (active content, terminal): blocked, naming the exact
  `couponctl import` to adopt it as it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from reconciler.plan.actions import Subject, import_command
from reconciler.plan.model import Action, ActionType
from reconciler.resources import DesiredCoupon, ResourceState

ADOPT_MARK = "adopt"  # key of ResourceState.extra on a candidate that is not (yet) in state


def adoption_candidate(want: DesiredCoupon, upstream: Mapping[str, Any], now_iso: str) -> ResourceState:
    """The state entry a declared shop coupon found upstream by its out_coupon_id would have once adopted."""
    return ResourceState(
        address=want.address,
        kind=want.kind,
        upstream_id=str(upstream.get("out_coupon_id", want.body.get("out_coupon_id"))),
        upstream=dict(upstream),
        desired_digest="",
        protect=want.protect,
        created_at=now_iso,
        updated_at=now_iso,
        extra={ADOPT_MARK: True},
    )


def adoption_candidates(
    desired: Iterable[DesiredCoupon],
    state: Mapping[str, ResourceState],
    listed: Mapping[str, Mapping[str, Any]],
    now_iso: str,
) -> dict[str, ResourceState]:
    """Candidates for every declared shop coupon that state does not hold and upstream lists (by out_coupon_id).

    `listed` maps out_coupon_id -> upstream object of the shop coupons no state entry manages."""
    found: dict[str, ResourceState] = {}
    for want in desired:
        if want.kind != "ShopCoupon" or want.address in state:
            continue
        upstream = listed.get(str(want.body.get("out_coupon_id")))
        if upstream is not None:
            found[want.address] = adoption_candidate(want, upstream, now_iso)
    return found


def is_candidate(have: ResourceState | None) -> bool:
    return have is not None and bool(have.extra.get(ADOPT_MARK))


def adopted(action: Action | None, subject: Subject, have: ResourceState) -> Action:
    """The action for a candidate: what planning it as managed gave (`action`), as an adoption."""
    found = (
        f"{have.upstream_id} already exists upstream (status {have.upstream.get('status')}) but is not in state "
        "(state lost, emptied or new?)"
    )
    command = import_command(subject.address, have.upstream_id)
    if action is None:
        return subject.action(
            ActionType.UPDATE,
            reason=f"{found}; it matches the manifest: adopted into state, no upstream call",
        )
    if action.type is ActionType.BLOCKED:
        return replace(
            action,
            reason=f"{found}; {action.reason}",
            remedy=f"adopt it as it is with `{command}`, then: {action.remedy}",
        )
    return replace(action, reason=f"{found}: adopted into state, then {action.reason}")
