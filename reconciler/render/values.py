"""How a single value is shown in a plan: as JSON text, with what it means to a reader (enum meanings, fen as
yuan, Unix seconds as Beijing time), and the scalar leaves of a nested value. Pure."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from reconciler.plan import kinds
from reconciler.plan.store_calls import summary as store_summary
from reconciler.render.summary import fen_to_yuan
from reconciler.resources import SHOP_STATUS_NAME
from reconciler.times import beijing, parse_time


def _last_segment(path: str) -> str:
    last = path.rsplit(".", 1)[-1]
    return last.split("[", 1)[0]


def annotate(kind: str, path: str, value: Any) -> str | None:
    """What a value means to a reader: enum meanings, fen as yuan, Unix seconds as Beijing time (reference A.4, B.2)."""
    last = _last_segment(path)
    if isinstance(value, bool):
        return None
    if kind == "ShopCoupon" and isinstance(value, int):
        tables: dict[str, dict[int, str]] = {
            "type": kinds.SHOP_TYPE_MEANING,
            "status": kinds.SHOP_STATUS_MEANING,
            "promote_type": kinds.SHOP_PROMOTE_TYPE_MEANING,
            "valid_type": kinds.SHOP_VALID_TYPE_MEANING,
        }
        if path == "status" or (last in tables and last != "status"):
            return tables[last].get(value, "unknown value")
        if last == "discount_num":  # reference A.5: 折扣 × 1000, 5.1折 -> 5100
            return f"{value / 1000:g}折 (pay {value / 100:g}%)"
        if last in kinds.UNIX_TIME_FIELDS:
            moment = parse_time(value)
            return beijing(moment) if moment else None
    if kind == "ProductCoupon" and isinstance(value, str) and last in kinds.PRODUCT_ENUM_MEANING:
        return kinds.PRODUCT_ENUM_MEANING[last].get(value)
    if kind == "ProductCoupon" and last == "percent_off" and isinstance(value, int):
        return f"{value}% off ({(100 - value) / 10:g}折)"
    if last in kinds.MONEY_FIELDS and isinstance(value, int):
        return fen_to_yuan(value)
    return None


def status_word(kind: str, status: str) -> str:
    """A coupon's upstream lifecycle as a word for both kinds: shop `1`..`4` read as the manifests' draft, active,
    expired, voided (reference A.4.2); product AUDITING / EFFECTIVE / DEACTIVATED are words already."""
    if kind == "ShopCoupon" and status.isdigit():
        return SHOP_STATUS_NAME.get(int(status), f"unknown ({status})")
    return status


def fmt(value: Any) -> str:
    """A value as it would appear in JSON (strings quoted, Chinese kept)."""
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def leaves(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    """Every scalar under `value` as (dotted path, scalar); empty containers count as one leaf."""
    if isinstance(value, list) and path.endswith(".stores"):  # a stock's store ids: counted, never listed (D34)
        yield path, store_summary([str(v) for v in value])
    elif isinstance(value, Mapping) and value:
        for key, sub in value.items():
            yield from leaves(sub, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list | tuple) and value:
        for i, sub in enumerate(value):
            yield from leaves(sub, f"{path}[{i}]")
    else:
        yield path, value


def count_leaves(value: Any) -> int:
    return sum(1 for _ in leaves(value, ""))
