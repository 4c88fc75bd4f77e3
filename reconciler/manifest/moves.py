"""Cross-document checks of `moved: {from: NAME}` declarations (a reviewed rename, decision D18).

Offline rules only (validate needs no state): a coupon cannot be moved from itself, from a name that is still
declared, or from a name another document already moved from. What the state says (the old address is gone: a
no-op; both addresses in state: blocked) is the planner's part (`reconciler.plan.moves`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, TypeVar

from reconciler.resources import DesiredCoupon, make_address

if TYPE_CHECKING:
    from reconciler.manifest.base import Issue

T = TypeVar("T")
FROM_LOC = ("moved", "from")


def moved_issues(coupons: Sequence[tuple[T, DesiredCoupon]]) -> list[tuple[T, DesiredCoupon, Issue]]:
    """The problems of every `moved` declaration among `coupons` (each with the caller's key for its document)."""
    declared = {coupon.address: coupon for _, coupon in coupons}
    moved_to: dict[str, DesiredCoupon] = {}
    found: list[tuple[T, DesiredCoupon, Issue]] = []
    for key, coupon in coupons:
        if coupon.moved_from is None:
            continue
        old = make_address(coupon.kind, coupon.moved_from)
        message = None
        if coupon.moved_from == coupon.name:
            message = f"{coupon.moved_from!r} is this coupon's own name: `from` is its earlier name; remove `moved`"
        elif old in declared:
            message = (
                f"{old} is still declared at {declared[old].source}: after a rename only the new name is "
                f"declared; remove that document (the plan then moves its state here, with no upstream call) "
                "or remove `moved` if they are two coupons"
            )
        elif old in moved_to:
            message = (
                f"{old} is already moved to {moved_to[old].address} at {moved_to[old].source}: one coupon "
                "has one new name"
            )
        else:
            moved_to[old] = coupon
        if message is not None:
            from reconciler.manifest.base import Issue

            found.append((key, coupon, Issue(FROM_LOC, message)))
    return found
