"""Unchanged since it was last found converged: the planner's skip of coupons it already knows need nothing (D36).

The planner's answer for one address is a pure function of the desired coupon, the state row and a few plan-wide
inputs. A *marker* memoises one answer "nothing to do, no warning" for one exact combination of them:

    marker = sha256(PLANNING code fingerprint, environment, default brand, asset map (product coupons),
                    desired coupon digest, digest of the state row as read: every column, address included)

It is written only after `make_plan` ran the full rules for that address against that row and found no action and
no warning (`Skip.found`, recorded by apply: `commands/converged.py`). A later plan skips decoding and comparing a
coupon only when the marker the row carries equals the marker recomputed from what it has now, so any change to
the manifest, the row (refresh, drift accepted, import, `state mv`, a partial apply, a migration, a hand edit), the
environment, the default brand, the uploaded images or couponctl's code makes it miss, and the coupon is planned
in full. `now` is not part of it: every path of the rules that ends in "nothing to do" reads no clock (claim
windows are checked only for actions), which the property tests check by planning at other times. Pure.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field

from reconciler.resources import DesiredCoupon, digest

RULES = "d36/1"  # bump to forget every marker (a change of the memoised rule itself)


@dataclass(frozen=True, slots=True)
class Recorded:
    """What the store read of one row without decoding its bodies: its marker ("" when none) and its digest."""

    marker: str
    row: str


@dataclass(slots=True)
class Skip:
    """The skip's inputs and output for one `make_plan` (decision D36).

    `recorded` must describe the rows of the `state` given to `make_plan` exactly as stored (the caller leaves out
    any address whose state entry it replaced, e.g. by a refresh). `prefetch` is told, once, the addresses that are
    planned in full, so a lazy state can decode just those in batches. `found` receives address -> marker of every
    coupon the full rules found converged. `enabled=False` plans everything in full (tests compare both)."""

    recorded: Mapping[str, Recorded]
    code: str  # fingerprint of couponctl's code: a new couponctl forgets every marker
    prefetch: Callable[[Collection[str]], None] | None = None
    enabled: bool = True
    found: dict[str, str] = field(default_factory=dict)


class Keys:
    """The plan-wide half of every marker, computed once per plan."""

    def __init__(self, skip: Skip, environment: str | None, default_brand_id: str | None, assets: Mapping[str, str]):
        common = f"{RULES}\0{skip.code}\0{environment or ''}\0{default_brand_id or ''}\0"
        self._shop = common
        self._product = common + digest(sorted(assets.items())) + "\0"  # images resolve through the asset map (D33)

    def marker(self, want: DesiredCoupon, row: str) -> str:
        head = self._shop if want.kind == "ShopCoupon" else self._product
        return hashlib.sha256(f"{head}{want.digest}\0{row}".encode()).hexdigest()
