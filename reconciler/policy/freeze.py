"""Freeze windows: which one is in force, which comes next, and which actions of a plan it refuses. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from reconciler.plan.model import Action, Plan
from reconciler.policy.model import Freeze
from reconciler.times import BEIJING


def active(freezes: Sequence[Freeze], now: datetime) -> Freeze | None:
    """The freeze in force at `now` (start inclusive, end exclusive), the one ending last when several overlap."""
    current = [f for f in freezes if f.start <= now < f.end]
    return max(current, key=lambda f: f.end) if current else None


def upcoming(freezes: Sequence[Freeze], now: datetime) -> Freeze | None:
    """The next freeze to start after `now`, or None."""
    later = [f for f in freezes if f.start > now]
    return min(later, key=lambda f: f.start) if later else None


def refused(plan: Plan, freeze: Freeze) -> tuple[Action, ...]:
    """The actions of `plan` that would make an upstream call the freeze does not allow."""
    return tuple(a for a in plan.actions if a.calls and a.applyable and a.type.value not in freeze.allow)


def shown(moment: datetime) -> str:
    """`2028-11-11 02:00 +08:00`: freezes are declared and shown in Beijing time."""
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M +08:00")


def refusal(freeze: Freeze, actions: Sequence[Action]) -> str:
    """The message of an apply refused by a freeze: the window, its end, what it refuses and what it allows."""
    allowed = ", ".join(freeze.allow) if freeze.allow else "nothing"
    lines = [
        f"freeze {freeze.name!r} is in force until {shown(freeze.end)}: apply refuses mutating calls "
        f"(allowed during the freeze: {allowed}).",
    ]
    lines += [f"  refused: {a.type.value} {a.address}" for a in actions[:20]]
    if len(actions) > 20:
        lines.append(f"  … and {len(actions) - 20} more")
    lines.append("Nothing was sent. Apply again after the freeze, or plan only the allowed changes.")
    return "\n".join(lines)
