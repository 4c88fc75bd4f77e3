"""Batched decoding of resource rows (reconciler/store/rows.py, issue 20)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from reconciler.store import rows


class _Result:
    """A fetched result as SQLAlchemy hands it out: `fetchmany(n)` until empty."""

    def __init__(self, data: Sequence[Sequence[Any]]) -> None:
        self.data = list(data)
        self.sizes: list[int] = []

    def fetchmany(self, size: int) -> Sequence[Sequence[Any]]:
        self.sizes.append(size)
        batch, self.data = self.data[:size], self.data[size:]
        return batch


def test_every_row_decoded_in_order_across_batches() -> None:
    data = [(f"a{i}", f'{{"n":{i},"inner":{{"s":"x{i}"}},"list":[{i},null,true]}}') for i in range(rows.BATCH + 3)]
    result = _Result(data)
    out = list(rows.decoded(result, 1))
    assert [row[0] for row, _ in out] == [f"a{i}" for i in range(rows.BATCH + 3)]
    assert [body for _, body in out] == [
        {"n": i, "inner": {"s": f"x{i}"}, "list": [i, None, True]} for i in range(rows.BATCH + 3)
    ]
    assert result.sizes == [rows.BATCH, rows.BATCH, rows.BATCH]  # two batches, then the empty fetch ends it


def test_rows_of_one_batch_share_their_keys() -> None:
    out = [body for _, body in rows.decoded(_Result([("a", '{"display_info":1}'), ("b", '{"display_info":2}')]), 1)]
    first, second = (next(iter(body)) for body in out)
    assert first == second == "display_info" and first is second  # one key object for the batch, not one per row


def test_no_rows() -> None:
    assert list(rows.decoded(_Result([]), 1)) == []
