"""Renames in the plan: declared ones (`moved: {from: NAME}`) become call-less state moves, and a removal plus a
create that look like a rename say so and show the declaration to write. Pure.

A coupon's name is only couponctl's address for it; upstream knows the shop coupon by its out_coupon_id and the
product coupon by the product_coupon_id WeChat assigned. Renaming the address must therefore never touch upstream:
without a declaration the diff sees one address disappear (deactivate / void) and another appear (create), which
for a shop coupon re-adds a taken out_coupon_id (1090003 on every run) and for a product coupon replaces a live
coupon. The declaration is reviewed like any manifest change (decision D18).

- `resolve_moves` runs before the diff: the state entry at the old address is planned at the new one, so the
  rules of `plan/shop.py` and `plan/product.py` compare the coupon with itself (a rename that also edits content
  plans that edit as well). The old address is gone from the planned state, so nothing removes it.
- `mark_move` tags the action of a moved address (`Action.moved_from`); a coupon that otherwise matches gets a
  call-less UPDATE: the pure move. Apply moves the state entry first (`StateStore.move`, as `state mv`).
- Once the old address is gone from state, the declaration changes nothing (it may stay in the manifests). Both
  addresses in state is ambiguous (which entry is the coupon?): both are BLOCKED with the ways out.
- `rename_hints` runs after the diff: a removal and a create of the same kind with the same out_coupon_id (shop)
  or the same body (product) get a warning on both actions naming the other and the `moved` line to write.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from reconciler.plan import kinds
from reconciler.plan.actions import Subject
from reconciler.plan.diff import compare
from reconciler.plan.model import Action, ActionType
from reconciler.resources import DesiredCoupon, ResourceState, make_address

MOVE_REASON = "moved from {old}: the state entry moves to the new name; no upstream call (the coupon and its id stay)"


@dataclass(frozen=True, slots=True)
class Moves:
    """The state as the diff should see it, the declared moves it contains, and the declarations that conflict."""

    state: dict[str, ResourceState]  # moved entries under their new address
    moved: dict[str, str] = field(default_factory=dict)  # new address -> old address
    blocked: dict[str, Action] = field(default_factory=dict)  # address -> its BLOCKED action (both sides)


def resolve_moves(desired: Mapping[str, DesiredCoupon], state: Mapping[str, ResourceState]) -> Moves:
    """Apply every declared move whose old address is in state to (a copy of) the state the diff will read."""
    planned = dict(state)
    moves = Moves(planned)
    for new, want in sorted(desired.items()):
        if want.moved_from is None:
            continue
        old = make_address(want.kind, want.moved_from)
        have = state.get(old)
        if have is None or old == new:
            continue  # already moved (or never existed): the declaration is a no-op
        problem = _conflict(want, old, have, desired, state)
        if problem is not None:
            reason, remedy = problem
            moves.blocked[new] = Subject.of(new, want, state.get(new)).blocked((), reason, remedy)
            moves.blocked[old] = Subject.of(old, None, have).blocked((), reason, remedy)
            continue
        planned[new] = replace(have, address=new)
        del planned[old]
        moves.moved[new] = old
    return moves


def _conflict(
    want: DesiredCoupon,
    old: str,
    have: ResourceState,
    desired: Mapping[str, DesiredCoupon],
    state: Mapping[str, ResourceState],
) -> tuple[str, str] | None:
    """Why the move declared by `want` cannot be planned (reason, remedy), if it cannot."""
    new = want.address
    where = f"{want.source}: moved.from {want.moved_from!r}"
    if new in state:
        return (
            f"{where}: both {old} and {new} are in state, so it is unclear which one is this coupon",
            f"if {old} is the same coupon, `couponctl state rm {new}` (after checking it) and plan again; if they "
            f"are two coupons, remove `moved` (then {old}, undeclared, is removed like any other)",
        )
    if old in desired:
        return (
            f"{where}: {old} is still declared at {desired[old].source}",
            "declare the coupon under its new name only, or remove `moved` if they are two coupons",
        )
    key = want.upstream_key
    if key is not None and key != have.upstream_id:
        return (
            f"{where}: {old} is out_coupon_id {have.upstream_id!r} upstream, but this document's out_coupon_id is "
            f"{key!r} (it defaults to the name); a rename keeps the upstream coupon",
            f"set spec.out_coupon_id: {have.upstream_id} in this document",
        )
    return None


def mark_move(moves: Moves, address: str, action: Action | None, want: DesiredCoupon | None) -> Action | None:
    """The action of `address` with its declared move: tagged, or the pure move when nothing else changes."""
    old = moves.moved.get(address)
    if old is None:
        return action
    if action is not None:
        return replace(action, moved_from=old)
    have = moves.state[address]
    subject = replace(Subject.of(address, want, have), status_after=have.status, brand_id=have.brand_id)
    pure = subject.action(ActionType.UPDATE, reason=MOVE_REASON.format(old=old))
    return replace(pure, moved_from=old, desired_digest=want.digest if want is not None else None)


def rename_hints(actions: Sequence[Action], desired: Mapping[str, DesiredCoupon]) -> list[Action]:
    """The actions, with a warning on both sides of every removal + create pair that looks like a rename."""
    removals = [a for a in actions if a.address not in desired and a.before is not None and a.moved_from is None]
    creates = [a for a in actions if a.type is ActionType.CREATE and a.address in desired]
    hints: dict[str, list[str]] = {}
    for create in creates:
        want = desired[create.address]
        for removal in removals:
            if removal.kind != create.kind or not _same_coupon(want, removal):
                continue
            _, old_name = removal.address.split(".", 1)
            declaration = f"`moved: {{from: {old_name}}}`"
            why = (
                f"same out_coupon_id {removal.upstream_id!r}: as planned, the add is refused upstream (1090003, the "
                "id is taken)"
                if create.kind == "ShopCoupon"
                else "same body under a new name: as planned, a second coupon is created and the old one deactivated"
            )
            hints.setdefault(create.address, []).append(
                f"this looks like a rename of {removal.address} ({why}); to keep the coupon, add {declaration} to "
                f"this document ({want.source})"
            )
            hints.setdefault(removal.address, []).append(
                f"this looks like a rename to {create.address} ({want.source}); to move it there with no upstream "
                f"call, add {declaration} to that document"
            )
            break
    return [replace(a, warnings=(*a.warnings, *hints[a.address])) if a.address in hints else a for a in actions]


def _same_coupon(want: DesiredCoupon, removal: Action) -> bool:
    """Shop: the same out_coupon_id (its upstream identity). Product: the same body and brand (WeChat assigns ids,
    so an identical body under a new name is the only sign)."""
    assert removal.before is not None
    if want.kind == "ShopCoupon":
        return want.upstream_key == removal.upstream_id
    if want.brand_id is not None and removal.brand_id is not None and want.brand_id != removal.brand_id:
        return False
    return not compare(kinds.PRODUCT_RULES, want, removal.before).changes
