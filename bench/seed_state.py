"""Seed a project's state as a previous `couponctl apply` of its manifests would have left it, without upstream.

At 100,000 coupons an apply is 140,000 calls (~10 minutes with every limit lifted, ~2 hours at WeChat's 20/s), so
the 100k no-op plan stage (issue 20) starts from a state written here instead: every declared coupon loaded with the
real manifest loader and stored through the state store's own write path (one transaction), in the form apply
records it — shop coupons as the add request's `coupon` plus `status`; product coupons as the create request plus
`product_coupon_id`, `brand_id`, `state: EFFECTIVE` and, in each stock, the read-only fields a create answers
(`stock_id`, `state`, `sent_count_info`). The desired digest and recorded source are what apply stores. Then, as
apply does at its end, `record_converged` plans every coupon in full against its row and records the marker of each
one found converged (decision D36); seeding fails unless every coupon is. The bench checks the seeded state honestly:
the no-op plan against it must say "No changes.", as it does after a real apply.

    .venv/bin/python bench/seed_state.py PROJECT_DIR        (PROJECT_DIR holds couponctl.toml)
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reconciler.commands.common import manifest_paths
from reconciler.commands.converged import record_converged
from reconciler.commands.plan import root_relative
from reconciler.commands.upstream import default_brand_id
from reconciler.config import load_settings
from reconciler.manifest import load_manifests
from reconciler.resources import SHOP_STATUS_BY_NAME, DesiredCoupon, ResourceState
from reconciler.store import open_store

STOCK_MAPS = ("stocks", "stock_bundles")
SINGLE_STOCKS = ("stock", "stock_bundle")


def _stock(stock: Mapping[str, Any], stock_id: str, brand_id: str, product_coupon_id: str) -> dict[str, Any]:
    return {
        **stock,
        "brand_id": brand_id,
        "product_coupon_id": product_coupon_id,
        "stock_id": stock_id,
        "state": "SENDING",
        "sent_count_info": {"today_count": 0, "total_count": 0},
    }


def recorded(coupon: DesiredCoupon, index: int, brand: str | None, source: str) -> ResourceState:
    """The state a successful create of `coupon` records (see the module docstring)."""
    if coupon.kind == "ShopCoupon":
        upstream: dict[str, Any] = {**coupon.body, "status": SHOP_STATUS_BY_NAME[coupon.status]}
        return ResourceState(
            coupon.address, "ShopCoupon", str(coupon.body["out_coupon_id"]), upstream, coupon.digest,
            protect=coupon.protect, extra={"source": source},
        )  # fmt: skip
    brand_id = coupon.brand_id or brand or ""
    pid = str(1_000_000_000 + index)
    body: dict[str, Any] = {}
    for key, value in coupon.body.items():
        if key in SINGLE_STOCKS and isinstance(value, Mapping):
            body[key] = _stock(value, f"{pid}001", brand_id, pid)
        elif key in STOCK_MAPS and isinstance(value, Mapping):
            body[key] = {
                name: _stock(stock, f"{pid}{n:03d}", brand_id, pid) for n, (name, stock) in enumerate(value.items(), 1)
            }
        else:
            body[key] = value
    upstream = {**body, "brand_id": brand_id, "product_coupon_id": pid, "state": "EFFECTIVE"}
    return ResourceState(
        coupon.address, "ProductCoupon", pid, upstream, coupon.digest, protect=coupon.protect,
        brand_id=brand_id, extra={"generation": 0, "source": source},
    )  # fmt: skip


def seed_state(project: Path) -> int:
    """Write the state of `project` (its couponctl.toml) from its manifests; returns the number of coupons."""
    os.chdir(project)
    settings = load_settings(project / "couponctl.toml")
    loaded = load_manifests(manifest_paths(settings, ()))
    brand = default_brand_id(settings)
    database = settings.state_url.removeprefix("sqlite:///")
    if settings.state_url.startswith("sqlite:///"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    store = open_store(settings.state_url, create=True)
    try:
        resources = [
            recorded(c, i, brand, root_relative(settings, c.source.file)) for i, c in enumerate(loaded.coupons)
        ]
        with store._write() as conn:  # one transaction through the store's own upsert
            for resource in resources:
                store._put(conn, resource)
            store._bump(conn)
        # and, as apply does at its end, the marker of every coupon the planner finds converged (decision D36)
        marked = record_converged(settings, store, coupons=None, default_brand_id=brand, now=datetime.now(UTC))
        if marked != len(resources):
            raise SystemExit(f"only {marked} of {len(resources)} seeded coupons plan as converged")
    finally:
        store.close()
    return len(resources)


if __name__ == "__main__":
    print(f"seeded {seed_state(Path(sys.argv[1]).resolve())} coupons")
