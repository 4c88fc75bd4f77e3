"""state list / mv / rm and history as functions, on state written by a real apply."""

from __future__ import annotations

import pytest

from reconciler.commands.apply import apply
from reconciler.commands.state import history, state_list, state_mv, state_rm, state_show
from reconciler.config import Settings
from reconciler.errors import StateError
from tests.commands.conftest import fixed_clock
from tests.commands.test_plan_apply import ADDRESSES, Hooks


def test_state_list_without_state_says_so(settings: Settings) -> None:
    """Before anything was applied there is no state: an empty listing that says why, and no state is created."""
    listed = state_list(settings)
    assert listed.resources == () and listed.no_state is not None
    assert history(settings).no_state is not None


def test_state_mv_renames_and_is_recorded(settings: Settings) -> None:
    """mv moves the address (same upstream id), list shows the new one, history records the move."""
    apply(settings, Hooks(), clock=fixed_clock)
    assert [r.address for r in state_list(settings).resources] == ADDRESSES
    assert [r.address for r in state_list(settings, ["shop_coupon.cmd-"]).resources] == ADDRESSES[:1]
    before = state_show(settings, ADDRESSES[0])
    serial = state_mv(settings, ADDRESSES[0], "shop_coupon.renamed")
    after = state_show(settings, "shop_coupon.renamed")
    assert after.upstream_id == before.upstream_id
    assert [r.address for r in state_list(settings).resources] == [ADDRESSES[1], "shop_coupon.renamed"]
    latest = history(settings).runs[0]
    assert (latest.command, latest.outcome) == ("state mv", "ok")
    assert latest.summary == {"moved": ADDRESSES[0], "to": "shop_coupon.renamed", "serial": serial}
    with pytest.raises(StateError):
        state_mv(settings, ADDRESSES[0], "shop_coupon.again")  # OLD is gone


def test_state_rm_forgets_and_returns_what_it_removed(settings: Settings) -> None:
    """rm returns the forgotten resource (for the warning the CLI prints) and records the removal."""
    apply(settings, Hooks(), clock=fixed_clock)
    removed = state_rm(settings, ADDRESSES[1])
    assert removed.resource.address == ADDRESSES[1]
    assert [r.address for r in state_list(settings).resources] == ADDRESSES[:1]
    one = history(settings, run_id=history(settings).runs[0].run_id)
    assert one.calls == () and one.runs[0].command == "state rm"
