"""Named stocks of a ProductCoupon (decision D29): `stocks: {name: Stock}` / `stock_bundles: {name: StockBundle}`.

A manifest may still write the single `stock:` / `stock_bundle:` of before; it means the same as a map with one
entry named `main`. The normalised body (DesiredCoupon.body) and the state always hold the maps, in manifest order:
the first entry is the stock sent with `product.create` (reference B.5), the others are added after it (B.4).
Pure (no pydantic, no I/O): the manifest loader, the planner, the applier, import and the state migration share it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

DEFAULT_STOCK_NAME = "main"
# A stock's name (our own rule, decision D29), listed with the manifest limits (PRODUCT_STOCK_NAME_MAX_CHARS).
STOCK_NAME_MAX_CHARS = 32
STOCK_NAME_PATTERN = re.compile(rf"[a-z0-9][a-z0-9_-]{{0,{STOCK_NAME_MAX_CHARS - 1}}}")
# The single form a manifest may write -> the map the body holds (and the create request's own field for it).
SINGLE_TO_MAP: dict[str, str] = {"stock": "stocks", "stock_bundle": "stock_bundles"}
MAP_TO_SINGLE: dict[str, str] = {v: k for k, v in SINGLE_TO_MAP.items()}
STOCK_MAPS: tuple[str, ...] = ("stocks", "stock_bundles")


def normalise_stocks(body: Mapping[str, Any]) -> dict[str, Any]:
    """`body` with `stock` / `stock_bundle` replaced, in place of the key, by `stocks` / `stock_bundles` with one
    entry named `main` (a body already in map form is returned as a copy)."""
    out: dict[str, Any] = {}
    for key, value in body.items():
        if key in SINGLE_TO_MAP:
            out[SINGLE_TO_MAP[key]] = {DEFAULT_STOCK_NAME: value}
        else:
            out[key] = value
    return out


def first_stock(body: Mapping[str, Any]) -> tuple[str, str, Any] | None:
    """(map key, stock name, stock) of the stock a create sends: the first entry of `stocks` or `stock_bundles`."""
    for key in STOCK_MAPS:
        stocks = body.get(key)
        if isinstance(stocks, Mapping) and stocks:
            name = next(iter(stocks))
            return key, str(name), stocks[name]
    return None


def create_body(body: Mapping[str, Any]) -> dict[str, Any]:
    """The create request's body from a normalised one: the first stock (or bundle) as `stock` (`stock_bundle`), in
    place of the map (reference B.5: create takes exactly one)."""
    out: dict[str, Any] = {}
    for key, value in body.items():
        if key in MAP_TO_SINGLE:
            if isinstance(value, Mapping) and value:
                first = next(iter(value.values()))  # its `stores` are associated after the create (decision D34)
                out[MAP_TO_SINGLE[key]] = {k: v for k, v in first.items() if k != "stores"}
        else:
            out[key] = value
    return out


def iter_stocks(body: Mapping[str, Any]) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
    """Every (map key, stock name, stock) of a normalised body or state, in order."""
    for key in STOCK_MAPS:
        stocks = body.get(key)
        if isinstance(stocks, Mapping):
            for name, stock in stocks.items():
                if isinstance(stock, Mapping):
                    yield key, str(name), stock


def ignore_path(path: str) -> str:
    """An `ignore_drift` field as the body holds it: `stock.x` -> `stocks.main.x`, `stock_bundle.x` ->
    `stock_bundles.main.x` (the single form is the map's `main` entry); anything else unchanged."""
    head, dot, rest = path.partition(".")
    if head in SINGLE_TO_MAP:
        return f"{SINGLE_TO_MAP[head]}.{DEFAULT_STOCK_NAME}{dot}{rest}"
    return path


def field_pattern(path: str) -> str:
    """`stocks.weekend.remark` -> `stocks.*.remark`: the form `document.field_paths` lists map entries in."""
    parts = path.split(".")
    if len(parts) >= 2 and parts[0] in STOCK_MAPS:
        parts[1] = "*"
    return ".".join(parts)
