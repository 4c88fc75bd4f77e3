"""Test helper process: write N resources (each through the intent journal) into the state at URL (creating it
if needed), then print the lineage.

    python tests/store/write_many.py URL PREFIX N
"""

from __future__ import annotations

import sys

from reconciler.resources import ResourceState
from reconciler.store import open_store
from reconciler.store.api import CallRecord


def main(url: str, prefix: str, n: int) -> None:
    store = open_store(url)
    run = store.begin_run("apply", actor=prefix)
    for i in range(n):
        address = f"shop_coupon.{prefix}-{i}"
        intent = store.open_intent(
            run,
            address=address,
            operation="shop.add",
            target=None,
            out_request_no=None,
            payload={"i": i},
            payload_digest="p",
        )
        resource = ResourceState(
            address=address, kind="ShopCoupon", upstream_id=f"{prefix}-{i}", upstream={"status": 1}, desired_digest=""
        )
        store.close_intent(intent, call=CallRecord(address, "shop.add", "ok"), put=resource)
    store.end_run(run, "ok", {"written": n})
    print(store.lineage, flush=True)
    store.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
