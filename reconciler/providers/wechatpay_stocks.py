"""Where the stock (批次) and stock bundle (批次组) calls of a product coupon go (reference B.1, B.4; decision D29).

Every call is addressed by `call.target` (the product_coupon_id) and, except the adds, by `call.stock_id` (the
stock_id, or the stock_bundle_id for bundle calls). The body is `call.payload` as the plan built it; the answer is
the stock (or bundle) as upstream holds it after the call, which the applier records under `call.stock_name`.
"""

from __future__ import annotations

from urllib.parse import quote

from reconciler.plan.model import Call
from reconciler.providers.wechatpay_stores import STORE_ROUTES

COUPONS_PATH = "/v3/marketing/partner/product-coupon/product-coupons"  # reference B.1

# operation -> (method, path under the coupon, whether the path names the stock / bundle)
STOCK_ROUTES: dict[str, tuple[str, str, bool]] = {
    "product.stock.add": ("POST", "/stocks", False),
    "product.stock.patch": ("PATCH", "/stocks/{id}", True),
    "product.stock.update_budget": ("POST", "/stocks/{id}/update-budget", True),
    "product.stock.deactivate": ("POST", "/stocks/{id}/deactivate", True),
    "product.bundle.add": ("POST", "/stock-bundles", False),
    "product.bundle.patch": ("PATCH", "/stock-bundles/{id}", True),
    "product.bundle.update_budget": ("POST", "/stock-bundles/{id}/update-budget", True),
    **STORE_ROUTES,  # store association batches (decision D34)
}


def coupon_path(call: Call) -> str:
    """`…/product-coupons/{call.target}`; the target is required (the applier fills it in for a just-created coupon)."""
    if not call.target:
        raise ValueError(f"{call.operation} needs the product_coupon_id as call.target")
    return f"{COUPONS_PATH}/{quote(call.target, safe='')}"


def stock_request(call: Call) -> tuple[str, str]:
    """The method and path of a stock or bundle call (B.1)."""
    method, suffix, names_stock = STOCK_ROUTES[call.operation]
    if names_stock:
        if not call.stock_id:
            raise ValueError(f"{call.operation} of stock {call.stock_name!r} needs its upstream id as call.stock_id")
        suffix = suffix.replace("{id}", quote(call.stock_id, safe=""))
    return method, coupon_path(call) + suffix


def is_stock_operation(operation: str) -> bool:
    return operation in STOCK_ROUTES
