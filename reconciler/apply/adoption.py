"""Pure: what the applier does when a create meets a coupon that already exists upstream (decision D17).

A lost or emptied state must never double a coupon. Shop coupons are found by `out_coupon_id` when planning (the
plan adopts them); product coupons have no list API, so their create numbers are derived from the brand, the
address and a generation (`plan/request_numbers.py`), and WeChat's idempotency (reference B.9) tells the rest:

- a replay of a live coupon is that coupon: recorded in state, nothing new is created;
- a replay of a DEACTIVATED coupon is an earlier generation: the create moves on to the next generation;
- a refusal of the number (same number, different body) is a coupon this address already has. When this state
  made it itself (its history holds the number) or the address's current coupon is known (a replacement), it is an
  earlier generation and the create moves on; otherwise it may be live, and the applier stops with the exact
  `couponctl import` to run instead of ever creating a second one under a new number.
"""

from __future__ import annotations

from dataclasses import replace

from reconciler.errors import UpstreamError
from reconciler.plan.actions import import_command
from reconciler.plan.model import Call
from reconciler.plan.request_numbers import MAX_GENERATIONS, create_generation, create_request_no

NUMBER_REUSE_CODES = frozenset({"INVALID_REQUEST", "ALREADY_EXISTS"})  # reference B.9 (268578927 / ALREADY_EXISTS)
SHOP_EXISTS_CODE = "1090003"  # shop add of an out_coupon_id that is taken (reference A.3)


def generation_of(call: Call, address: str, environment: str | None = None) -> int | None:
    """The D17 generation of a `product.create` call, or None (another call, or a number from before D17).
    `environment` is the selected one, whose name is part of create numbers (decision D26)."""
    if call.operation != "product.create":
        return None
    return create_generation(call.out_request_no, str(call.payload.get("brand_id") or ""), address, environment)


def is_number_reuse(exc: UpstreamError) -> bool:
    """WeChat refused a request number it has seen with a different body (reference B.9: "使用了相同单号，但与上次
    请求的数据不一致" / "单号已存在但信息不一致", or ALREADY_EXISTS on create)."""
    code = str(exc.code) if exc.code is not None else ""
    if code == "ALREADY_EXISTS":
        return True
    return code in NUMBER_REUSE_CODES and "单号" in exc.upstream_message


def next_generation_call(call: Call, address: str, generation: int, environment: str | None = None) -> Call | None:
    """The same create at `generation + 1` (in `environment`, decision D26), or None past MAX_GENERATIONS."""
    if generation + 1 >= MAX_GENERATIONS:
        return None
    number = create_request_no(str(call.payload.get("brand_id") or ""), address, generation + 1, environment)
    return replace(call, out_request_no=number, payload={**call.payload, "out_request_no": number})


def existing_product_error(exc: UpstreamError, address: str, call: Call, generation: int) -> UpstreamError:
    """The refusal of a create whose number was used before with another body, as the stop it must be."""
    brand = str(call.payload.get("brand_id") or "") or None
    message = (
        f"a product coupon was already created for {address} (request number {call.out_request_no}, generation "
        f"{generation}) with a different body, and this state does not know it (lost, emptied or new state?). "
        "couponctl does not create a second one. Adopt it: "
        f"`{import_command(address, None, brand)}` (its product_coupon_id is in the WeChat Pay merchant platform "
        "or the old state's `couponctl state list`), then plan again. Upstream said: "
        f"{exc.upstream_message}"
    )
    return UpstreamError(
        call=exc.call,
        message=message,
        address=address,
        http_status=exc.http_status,
        code=exc.code,
        request_id=exc.request_id,
    )


def existing_shop_error(exc: UpstreamError, address: str, out_coupon_id: str) -> UpstreamError:
    """A shop add refused because the out_coupon_id exists: name the two ways to adopt it."""
    message = (
        f"{exc.upstream_message}: the coupon {out_coupon_id} already exists upstream and this state does not know "
        f"it. Adopt it with `{import_command(address, out_coupon_id)}`, or run `couponctl apply` with refresh "
        "(the default), which plans its adoption"
    )
    return UpstreamError(
        call=exc.call,
        message=message,
        address=address,
        http_status=exc.http_status,
        code=exc.code,
        request_id=exc.request_id,
    )
