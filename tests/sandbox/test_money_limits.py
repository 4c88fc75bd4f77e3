"""The three money limits of the /shop/coupon/add and /shop/coupon/update field tables (reference A.5), as the
sandbox enforces them: a value past the limit is refused in the documented shop error shape (HTTP 200,
`{"errcode", "errmsg": "... rid: xxxxxxxx-xxxxxxxx-xxxxxxxx"}`, A.1) naming the limit; exactly at it is accepted."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
import pytest

from reconciler.sandbox import SandboxConfig, create_app, generate_credentials
from tests.sandbox.helpers import shop_coupon, unique
from tests.sandbox.inprocess_client import InProcess

CREDS = generate_credentials()
RID = re.compile(r" rid: [0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}$")


def _coupon(coupon_type: int, num: int | None = None, fee: int | None = None, price: int | None = None) -> Any:
    coupon = shop_coupon(unique("money"), coupon_type)
    discount = coupon["coupon_info"]["discount_info"]
    if num is not None:
        discount["discount_num"] = num
    if fee is not None:
        discount["discount_fee"] = fee
    if price is not None:
        discount["discount_condition"]["product_price"] = price
    return coupon


CASES = [
    # (coupon, refused?, words the errmsg must contain)
    pytest.param(_coupon(103, num=1900), "discount_num must be at least 2000", id="discount_num-1900"),
    pytest.param(_coupon(101, num=1500), "discount_num must be at least 2000", id="discount_num-1500"),
    pytest.param(_coupon(103, num=2000), None, id="discount_num-2000-boundary"),
    pytest.param(_coupon(104, fee=25000), "discount_fee must be at most 20000", id="discount_fee-25000"),
    pytest.param(_coupon(4, fee=20001), "discount_fee must be at most 20000", id="discount_fee-20001-product"),
    pytest.param(_coupon(104, fee=20000), None, id="discount_fee-20000-boundary"),
    pytest.param(_coupon(102, fee=9000, price=10000), "leaves less than 2折", id="full-reduction-9000-of-10000"),
    pytest.param(_coupon(2, fee=8001, price=10000), "leaves less than 2折", id="product-full-reduction-8001"),
    pytest.param(_coupon(102, fee=8000, price=10000), None, id="full-reduction-8000-boundary"),
    pytest.param(_coupon(102, fee=20000, price=25000), None, id="both-limits-at-once-boundary"),
    pytest.param(_coupon(102, fee=20001, price=200000), "discount_fee must be at most 20000", id="cap-before-rate"),
]


def _call(name: str, body: dict[str, Any], before: dict[str, Any] | None = None) -> dict[str, Any]:
    app = create_app(CREDS, SandboxConfig())
    answers: list[dict[str, Any]] = []

    async def main() -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox") as client:
            sandbox = InProcess(client, CREDS)
            if before is not None:
                assert (await sandbox.shop("add", {"coupon": before}))["errcode"] == 0
            answers.append(await sandbox.shop(name, body))

    asyncio.run(main())
    app.state.sandbox.close()
    return answers[0]


@pytest.mark.parametrize(("coupon", "refusal"), CASES)
def test_add_enforces_the_money_limits_in_the_documented_error_shape(coupon: Any, refusal: str | None) -> None:
    """add: past the limit -> errcode 40097 with the limit in errmsg and a rid; at the limit -> errcode 0."""
    answer = _call("add", {"coupon": coupon})
    if refusal is None:
        assert answer["errcode"] == 0, answer
        return
    assert answer["errcode"] == 40097
    assert refusal in answer["errmsg"]
    assert RID.search(answer["errmsg"])


def test_update_enforces_them_too() -> None:
    """update applies the same rules (the update field table states them as well)."""
    ok = _coupon(102, fee=8000, price=10000)
    deeper = dict(
        ok,
        coupon_info={
            **ok["coupon_info"],
            "discount_info": {"discount_condition": {"product_price": 10000}, "discount_fee": 8001},
        },
    )
    answer = _call("update", {"coupon": deeper}, before=ok)
    assert answer["errcode"] == 40097 and "leaves less than 2折" in answer["errmsg"]
