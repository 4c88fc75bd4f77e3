"""Time rules of the planner: what a claim window that started or ended means for an action (contract §1.2). Pure.

The rule itself (where a body states its window, ended vs started) lives in `reconciler.claim_window`, shared with
`couponctl validate` and the saved-plan expiry check; this module turns it into a blocked action or a warning.
"""

from __future__ import annotations

from collections.abc import Sequence

from reconciler.claim_window import claim_window
from reconciler.plan.actions import PlanContext, Subject
from reconciler.plan.model import Action, FieldChange
from reconciler.times import beijing

CLAIM_ENDED_REMEDY = "move the claim window's end into the future, or remove the coupon from the manifests"


def window_problem(ctx: PlanContext, subject: Subject) -> tuple[str | None, str | None]:
    """(error, warning) about the desired coupon's claim window at plan time: ended is an error, started a warning."""
    window = claim_window(subject.kind, subject.after) if subject.after is not None else None
    if window is None:
        return None, None
    verdict = window.verdict(ctx.now)
    if verdict == "ended" and window.end is not None:
        return f"the claim window already ended at {beijing(window.end)}", None
    if verdict == "started" and window.start is not None:
        return None, f"the claim window already started at {beijing(window.start)}"
    return None, None


def check_window(
    ctx: PlanContext, subject: Subject, changes: Sequence[FieldChange], warnings: list[str]
) -> Action | None:
    """The BLOCKED action when the claim window has ended; else None, after adding a warning if it has started."""
    error, warning = window_problem(ctx, subject)
    if error:
        return subject.blocked(changes, error, CLAIM_ENDED_REMEDY)
    if warning:
        warnings.append(warning)
    return None
