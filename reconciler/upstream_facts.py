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
    }
)

# Calls per second assumed for an operation with no known limit: deliberately slow, so an ETA is never optimistic
# (our default; the docs are silent).
FALLBACK_RATE = 1.0
