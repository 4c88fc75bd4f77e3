"""The bench's operation names: couponctl's (`reconciler/plan/model.py`, `[apply] rate_limits`) and the sandbox's
(its call log, rate limits and faults), and which calls are mutating.

`MUTATING` is derived from couponctl's one list of mutating operations (`MUTATING_OPERATIONS`, every `Operation` a
plan may call), so a new call is counted by the bench's calls per second and CPU per call as soon as it exists:
an operation without a sandbox name here stops the bench at import instead of going uncounted.
"""

from __future__ import annotations

from reconciler.plan.model import MUTATING_OPERATIONS
from reconciler.sandbox import OPERATIONS as SANDBOX_OPERATIONS

# couponctl's operation -> the sandbox's name of the same call (the two sides share no code, architecture rule 1).
SANDBOX_NAME: dict[str, str] = {
    "shop.add": "shop.add",
    "shop.update": "shop.update",
    "shop.update_status": "shop.update_status",
    "shop.update_stock": "shop.update_coupon_stock",
    "product.create": "product.create",
    "product.patch": "product.patch",
    "product.deactivate": "product.deactivate",
    "product.stock.add": "product.stocks.create",
    "product.stock.patch": "product.stocks.patch",
    "product.stock.update_budget": "product.stocks.update_budget",
    "product.stock.deactivate": "product.stocks.deactivate",
    "product.bundle.add": "product.stock_bundles.create",
    "product.bundle.patch": "product.stock_bundles.patch",
    "product.bundle.update_budget": "product.stock_bundles.update_budget",
    "product.media.upload": "product.media.upload_image",
    "product.stock.associate_stores": "product.stocks.associate_stores",
    "product.stock.disassociate_stores": "product.stocks.disassociate_stores",
    "product.stock.upload_codes": "product.stocks.upload_codes",
    # reads
    "shop.get": "shop.get",
    "shop.get_list": "shop.get_list",
    "product.get": "product.get",
    "product.stock.list": "product.stocks.list",
    "product.stock.associated_stores": "product.stocks.associated_stores",
}

_unnamed = sorted(MUTATING_OPERATIONS - SANDBOX_NAME.keys())
_unknown = sorted(set(SANDBOX_NAME.values()) - set(SANDBOX_OPERATIONS))
if _unnamed or _unknown:
    raise RuntimeError(f"bench/operations.py: no sandbox name for {_unnamed}; not sandbox operations: {_unknown}")

# Every mutating call, by couponctl's names (client rate limits) and by the sandbox's (call log, server limits).
CLIENT_MUTATING: tuple[str, ...] = tuple(sorted(MUTATING_OPERATIONS))
MUTATING: frozenset[str] = frozenset(SANDBOX_NAME[op] for op in MUTATING_OPERATIONS)
