"""`couponctl state ...` and `couponctl history`: read the state store, and edit it where that is safe.

Reading commands (list, show, history) take no lock. Writing ones (rm, mv) take the state lock, refuse what they
cannot do safely (the store says why), and record a run in history. Nothing here ever calls WeChat.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from reconciler.commands.common import open_state
from reconciler.commands.runs import locked_run
from reconciler.config import Settings
from reconciler.errors import StateError
from reconciler.resources import ResourceState, split_address
from reconciler.store import NoStateError, SqlStateStore, upgrade_state
from reconciler.store.api import CallRecord, RunRecord

# The store's records, re-exported: the CLI renders them and may not import the store itself.
__all__ = [
    "CallRecord",
    "History",
    "Removed",
    "RunRecord",
    "StateList",
    "Upgrade",
    "history",
    "state_list",
    "state_mv",
    "state_rm",
    "state_show",
    "state_unlock",
    "state_upgrade",
]


@dataclass(frozen=True, slots=True)
class StateList:
    """The managed coupons, or why there are none: `no_state` says there is no state yet (and where it looked)."""

    resources: tuple[ResourceState, ...]
    no_state: str | None = None


@dataclass(frozen=True, slots=True)
class Removed:
    resource: ResourceState
    serial: int


@dataclass(frozen=True, slots=True)
class Upgrade:
    before: str | None
    after: str


@dataclass(frozen=True, slots=True)
class History:
    """Runs (newest first) with their call counts; `calls` only for one run; `no_state` when there is no state."""

    runs: tuple[RunRecord, ...]
    call_counts: Mapping[int, int]
    calls: tuple[CallRecord, ...] | None = None
    no_state: str | None = None


def _check_address(address: str) -> None:
    try:
        split_address(address)
    except ValueError as exc:
        raise StateError(str(exc)) from None


def _existing(settings: Settings) -> SqlStateStore:
    return open_state(settings, create=False)


def state_list(settings: Settings, prefixes: Sequence[str] = ()) -> StateList:
    """The managed coupons whose address starts with one of `prefixes` (all without)."""
    try:
        store = _existing(settings)
    except NoStateError as exc:
        return StateList((), no_state=str(exc))
    try:
        wanted = tuple(prefixes)
        return StateList(tuple(r for a, r in store.resources().items() if not wanted or a.startswith(wanted)))
    finally:
        store.close()


def state_show(settings: Settings, address: str) -> ResourceState:
    """Everything state holds about `address`."""
    _check_address(address)
    store = _existing(settings)
    try:
        resource = store.get(address)
    finally:
        store.close()
    if resource is None:
        raise StateError(f"no resource {address} in state; `couponctl state list` shows what state holds")
    return resource


def state_rm(settings: Settings, address: str, *, lock_timeout_s: float | None = None) -> Removed:
    """Forget `address` in state (the coupon stays upstream). Refused for an unknown address, an open intent on it,
    and a deposed coupon still awaiting deactivation."""
    _check_address(address)
    lock_name = f"state rm {address}"
    with locked_run(settings, "state rm", lock_timeout_s=lock_timeout_s, lock_name=lock_name, create=False) as locked:
        resource = locked.store.get(address)
        deposed = resource.extra.get("deposed") if resource is not None else None
        if isinstance(deposed, Mapping):
            # The old half of a replacement whose deactivation has not landed (reconciler.apply.outcome):
            # forgetting the address would leave that coupon active upstream with nobody to deactivate it.
            raise StateError(
                f"refusing to remove {address}: the product coupon it replaced "
                f"({deposed.get('product_coupon_id', '?')}) is still waiting to be deactivated; run "
                "`couponctl apply` to settle it first"
            )
        serial = locked.store.remove(address)
        assert resource is not None  # remove() refused an unknown address
        with locked.recorded() as run:
            run.summary = {"removed": address, "upstream_id": resource.upstream_id, "serial": serial}
    return Removed(resource, serial)


def state_mv(settings: Settings, old: str, new: str, *, lock_timeout_s: float | None = None) -> int:
    """Rename a managed coupon's address; returns the new serial. Refused for a kind change, an unknown OLD, an
    existing NEW and an open intent on OLD."""
    _check_address(old)
    _check_address(new)
    lock_name = f"state mv {old} {new}"
    with locked_run(settings, "state mv", lock_timeout_s=lock_timeout_s, lock_name=lock_name, create=False) as locked:
        serial = locked.store.move(old, new)
        with locked.recorded() as run:
            run.summary = {"moved": old, "to": new, "serial": serial}
    return serial


def state_unlock(settings: Settings, lock_id: str) -> None:
    """Release the lock `lock_id` left by a run that is gone (refused while its holder provably runs)."""
    store = _existing(settings)
    try:
        store.force_unlock(lock_id)
    finally:
        store.close()


def state_upgrade(settings: Settings) -> Upgrade:
    """Migrate the state's schema to the newest revision this couponctl knows."""
    before, after = upgrade_state(settings.state_url)
    return Upgrade(before, after)


def history(settings: Settings, *, run_id: int | None = None, limit: int = 20) -> History:
    """The latest `limit` runs, or one run with its calls."""
    try:
        store = _existing(settings)
    except NoStateError as exc:
        return History((), {}, no_state=str(exc))
    try:
        if run_id is not None:
            run = store.run(run_id)
            if run is None:
                raise StateError(f"no run {run_id} in history; `couponctl history` lists the latest runs")
            calls = store.calls(run_id)
            return History((run,), {run_id: len(calls)}, tuple(calls))
        runs = store.runs(limit)
        return History(tuple(runs), store.call_counts([r.run_id for r in runs]))
    finally:
        store.close()
