"""Facts about the upstream APIs that are not ours to choose: documented rate limits per operation.

Read by the plan's ETA (as defaults: the configured `[apply] rate_limits` are passed in by the caller) and by
`reconciler.config` (the defaults of `[apply] rate_limits`). No I/O, no configuration.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

# Documented per-endpoint limits, calls per second (reference B.12 and A.10). Shop: the v1 doc's "800 calls / 30 s"
# is the only figure published, not restated for /shop [??]: our default, named here.
DEFAULT_RATE_LIMITS: Mapping[str, float] = MappingProxyType(
    {
        "shop.add": 800 / 30,
        "shop.update": 800 / 30,
        "shop.update_status": 800 / 30,
        "shop.get": 800 / 30,
        "shop.get_list": 800 / 30,
        "product.create": 20.0,
        "product.get": 20.0,
        "product.patch": 20.0,
        "product.deactivate": 20.0,
        # reference B.12: stock and stock-bundle calls 20/s (update-budget and the asset calls: no figure, the
        # same 20/s is our default)
        "shop.update_stock": 800 / 30,
        "product.stock.add": 20.0,
        "product.stock.patch": 20.0,
        "product.stock.update_budget": 20.0,
        "product.stock.deactivate": 20.0,
        "product.stock.list": 20.0,
        "product.bundle.add": 20.0,
        "product.bundle.patch": 20.0,
        "product.bundle.update_budget": 20.0,
        "product.media.upload": 20.0,
        "product.stock.associate_stores": 20.0,
        "product.stock.disassociate_stores": 20.0,
        "product.stock.associated_stores": 20.0,
        "product.stock.upload_codes": 20.0,
    }
)

# Calls per second assumed for an operation with no known limit: deliberately slow, so an ETA is never optimistic
# (our default; the docs are silent).
FALLBACK_RATE = 1.0
