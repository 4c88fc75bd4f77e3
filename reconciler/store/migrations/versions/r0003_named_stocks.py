"""Revision 3: a product coupon's stocks are named maps (decision D29).

Every ProductCoupon resource's last-known upstream object is rewritten: `stock` becomes `stocks: {"main": ...}` and
`stock_bundle` becomes `stock_bundles: {"main": ...}`; the stock itself is kept byte for byte (its response-only
fields included). Nothing else in state holds a coupon body in that shape: history records calls without bodies, and
an open intent's payload is the exact request that was sent (a create's `stock`), which must be re-sent unchanged.
The state's serial is not bumped: the coupons are the same, only their shape in state changed.

Downgrade reverses it for coupons whose map has exactly one entry named `main`, and refuses (naming them) when a
coupon has another stock: the earlier schema cannot hold it.

The rewrite is written out here rather than imported, so this revision keeps doing what it did when it shipped.

Revision ID: r0003
Revises: r0002
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "r0003"
down_revision: str | None = "r0002"
branch_labels = None
depends_on = None

_PAIRS = (("stock", "stocks"), ("stock_bundle", "stock_bundles"))
_MAIN = "main"


def _canonical(value: Any) -> str:
    # the same canonical JSON the store writes (reconciler.resources.canonical_json at revision 3)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _products(connection: sa.Connection) -> list[tuple[str, dict[str, Any]]]:
    rows = connection.execute(
        sa.text("SELECT address, upstream FROM resources WHERE kind = 'ProductCoupon' ORDER BY address")
    )
    return [(str(address), json.loads(upstream)) for address, upstream in rows]


def _write(connection: sa.Connection, changed: list[dict[str, str]]) -> None:
    if changed:
        connection.execute(sa.text("UPDATE resources SET upstream = :upstream WHERE address = :address"), changed)


def to_named(upstream: dict[str, Any]) -> dict[str, Any] | None:
    """The revision-3 form of a revision-2 upstream object, or None when there is nothing to rewrite."""
    if not any(single in upstream for single, _ in _PAIRS):
        return None
    out = dict(upstream)
    for single, named in _PAIRS:
        if single in out:
            stock = out.pop(single)
            if named not in out:  # a row that somehow has both keeps the map (the newer shape)
                out[named] = {_MAIN: stock}
    return out


def to_single(upstream: dict[str, Any]) -> tuple[dict[str, Any] | None, bool]:
    """The revision-2 form of a revision-3 upstream object (None: nothing to rewrite), and whether it fits."""
    if not any(named in upstream for _, named in _PAIRS):
        return None, True
    out = dict(upstream)
    for single, named in _PAIRS:
        if named in out:
            stocks = out.pop(named)
            if not isinstance(stocks, dict) or (stocks and list(stocks) != [_MAIN]):
                return None, False
            if stocks:
                out[single] = stocks[_MAIN]
    return out, True


def upgrade() -> None:
    connection = op.get_bind()
    changed = []
    for address, upstream in _products(connection):
        named = to_named(upstream)
        if named is not None:
            changed.append({"address": address, "upstream": _canonical(named)})
    _write(connection, changed)


def downgrade() -> None:
    connection = op.get_bind()
    changed, refused = [], []
    for address, upstream in _products(connection):
        single, fits = to_single(upstream)
        if not fits:
            refused.append(address)
        elif single is not None:
            changed.append({"address": address, "upstream": _canonical(single)})
    if refused:
        raise RuntimeError(
            "cannot downgrade below schema revision r0003: these product coupons have stocks other than one named "
            f"'main', which the earlier schema cannot hold: {', '.join(refused)}"
        )
    _write(connection, changed)
