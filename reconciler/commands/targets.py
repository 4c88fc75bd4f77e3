"""`--target` must select something: a mistyped address is refused before anything is read or sent upstream.

A target that matches no declared and no managed coupon used to be a warning on a plan that then did nothing and
exited 0, so a CI job with a typo in its `--target` went green without deploying anything.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

from reconciler.errors import PlanError


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
