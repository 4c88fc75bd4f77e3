"""The asset map of the state store (decision D33): sha256 of an uploaded image -> the URL the upload API answered.

A mixin of `SqlStateStore` (its own module so the store stays under the module size cap). Asset writes do not bump
the serial: they change no managed coupon, so a saved plan stays applyable while its own uploads are recorded; a
plan made before an upload simply uploads the same bytes again (harmless, no money involved).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from reconciler.errors import StateError
from reconciler.store import tables as t
from reconciler.store.api import Asset


class AssetRows:
    """`assets()` and `put_asset()` over the store's engine."""

    _engine: Engine
    _display_url: str

    def assets(self) -> dict[str, Asset]:
        """Every uploaded image by sha256, in one query."""
        try:
            with self._engine.connect() as conn:
                rows = conn.execute(sa.select(t.assets).order_by(t.assets.c.sha256)).all()
        except sa.exc.DBAPIError as exc:
            raise StateError(f"cannot read state at {self._display_url}: {exc.orig}") from None
        return {r.sha256: Asset(r.sha256, r.url, int(r.size), r.uploaded_at, r.request_id) for r in rows}

    def put_asset(self, asset: Asset) -> None:
        """Record (or replace) the URL of these bytes, committed at once."""
        try:
            with self._engine.begin() as conn:
                conn.execute(sa.delete(t.assets).where(t.assets.c.sha256 == asset.sha256))
                conn.execute(
                    sa.insert(t.assets).values(
                        sha256=asset.sha256,
                        url=asset.url,
                        size=asset.size,
                        uploaded_at=asset.uploaded_at,
                        request_id=asset.request_id,
                    )
                )
        except sa.exc.DBAPIError as exc:
            raise StateError(f"state write failed at {self._display_url}: {exc.orig}") from None
