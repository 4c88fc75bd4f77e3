"""Reading state for the planner: every row's marker and digest first, bodies only where compared (decision D36).

`planning_state` scans the resources once, without decoding any JSON: each row's `converged` marker and the digest
of all its other columns as read (`rows.row_digest`). It returns a lazy mapping of the rows: a row is decoded only
when the planner asks for it, in batches (`StoredRows.load`, told once which coupons are compared in full; any other
read loads the row asked for and the next ones, so a scan stays batched). `mark_converged` records the markers apply
found (`commands/converged.py`); it writes nothing else and does not move the serial (like the asset map, no
managed coupon changes). Markers are bound to the row's digest, so no write elsewhere has to remember to clear one:
any change to a row, through the store or not (refresh, import, `state mv`, a migration, a hand edit), makes its
marker miss.
"""

from __future__ import annotations

import bisect
from collections.abc import Collection, Iterator, Mapping
from typing import TYPE_CHECKING

import sqlalchemy as sa

from reconciler.plan.unchanged import Recorded
from reconciler.resources import ResourceState
from reconciler.store import rows
from reconciler.store import tables as t

if TYPE_CHECKING:
    from reconciler.store.store import SqlStateStore

_C = t.resources.c
COLUMNS = (_C.address, _C.kind, _C.upstream_id, _C.upstream, _C.desired_digest, _C.protect, _C.brand_id,
           _C.created_at, _C.updated_at, _C.extra)  # fmt: skip  # the order `SqlStateStore._resource` reads
_SCAN = sa.select(*COLUMNS, _C.converged).order_by(_C.address)
_BY_ADDRESS = sa.select(*COLUMNS).where(_C.address.in_(sa.bindparam("addresses", expanding=True)))
_MARK = sa.update(t.resources).where(_C.address == sa.bindparam("a")).values(converged=sa.bindparam("m"))
CHUNK = 500  # addresses per query (well under SQLite's and PostgreSQL's parameter limits)


class StoredRows(Mapping[str, ResourceState]):
    """The state's rows by address, decoded on demand; `recorded` holds every row's marker and digest."""

    def __init__(self, store: SqlStateStore, recorded: dict[str, Recorded]) -> None:
        self._store = store
        self.recorded = recorded
        self._order = list(recorded)  # sorted: the scan reads in address order
        self._rows: dict[str, ResourceState] = {}

    def __getitem__(self, address: str) -> ResourceState:
        found = self._rows.get(address)
        if found is not None:
            return found
        if address not in self.recorded:
            raise KeyError(address)
        start = bisect.bisect_left(self._order, address)
        self.load([a for a in self._order[start : start + rows.BATCH] if a not in self._rows])
        return self._rows[address]

    def __iter__(self) -> Iterator[str]:
        return iter(self._order)

    def __len__(self) -> int:
        return len(self._order)

    def __contains__(self, address: object) -> bool:
        return address in self.recorded

    @property
    def decoded(self) -> int:
        """How many rows were decoded so far."""
        return len(self._rows)

    def load(self, addresses: Collection[str]) -> None:
        """Decode these rows (those not decoded yet), `CHUNK` addresses per query."""
        todo = [a for a in addresses if a not in self._rows and a in self.recorded]
        make = self._store._resource
        with self._store._read() as conn:
            for i in range(0, len(todo), CHUNK):
                result = conn.execute(_BY_ADDRESS, {"addresses": todo[i : i + CHUNK]})
                self._rows.update((row[0], make(row, body)) for row, body in rows.decoded(result, 3))
        missing = [a for a in todo if a not in self._rows]
        if missing:  # removed since the scan (a concurrent apply): the plan would mix two states
            from reconciler.errors import StateError

            raise StateError(f"the state changed while it was read ({missing[0]} is gone); plan again")


def planning_state(store: SqlStateStore) -> StoredRows:
    """Every row's marker and digest, in one scan that decodes no JSON; the rows themselves on demand."""
    recorded: dict[str, Recorded] = {}
    digest = rows.row_digest
    with store._read() as conn:
        result = conn.execute(_SCAN)
        while batch := result.fetchmany(rows.BATCH):
            for row in batch:
                recorded[row[0]] = Recorded(row[10], digest(row[:10]))
    return StoredRows(store, recorded)


def mark_converged(store: SqlStateStore, markers: Mapping[str, str]) -> int:
    """Record each address's marker (decision D36) in one transaction; the serial does not move. Returns how many."""
    if not markers:
        return 0
    with store._write() as conn:
        conn.execute(_MARK, [{"a": address, "m": marker} for address, marker in markers.items()])
    return len(markers)
