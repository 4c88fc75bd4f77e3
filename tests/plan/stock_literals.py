"""Product coupon states whose stocks are live upstream (decision D29): what apply or refresh records for them."""

from __future__ import annotations

from copy import deepcopy
from typing import Any


def live(
    body: dict[str, Any], *, sent: int = 0, state: str = "SENDING", coupon_id: str = "1000000013"
) -> dict[str, Any]:
    """`body` with each stock as state knows it after create or refresh: its stock_id, state and sent count (the
    sandbox's `sent_count_info` spelling, reference B.4)."""
    out = deepcopy(body)
    for index, stock in enumerate(out.get("stocks", {}).values(), start=1):
        stock.update(
            stock_id=f"{coupon_id}{index:03d}",
            state=state,
            sent_count_info={"total_count": sent, "today_count": 0},
        )
    return out
