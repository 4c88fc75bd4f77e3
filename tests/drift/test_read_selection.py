"""Decision D31, pure: which managed coupons drift, refresh and a refreshing plan read, and what they say they
skipped."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.plan.read_selection import (
    STOCK_LIST,
    STOCK_PAGE_SIZE,
    STORE_PAGE_SIZE,
    STORE_READ,
    ended_reason,
    select_reads,
    skipped_sentence,
    stock_reads,
)
from reconciler.resources import ResourceState


def shop(name: str, status: int) -> ResourceState:
    return ResourceState(f"shop_coupon.{name}", "ShopCoupon", name, {"out_coupon_id": name, "status": status}, "d")


def product(name: str, state: str) -> ResourceState:
    body: dict[str, Any] = {"product_coupon_id": f"id-{name}", "state": state}
    return ResourceState(f"product_coupon.{name}", "ProductCoupon", f"id-{name}", body, "d")


def by_address(*resources: ResourceState) -> dict[str, ResourceState]:
    return {r.address: r for r in resources}


@pytest.mark.parametrize(
    ("resource", "reason"),
    [
        (product("p", "DEACTIVATED"), "deactivated"),  # reference B.10: final
        (product("p", "EFFECTIVE"), None),  # may still be PATCHed, deactivated, given a stock (B.7, B.1)
        (product("p", "AUDITING"), None),
        (shop("s", 1), None),
        (shop("s", 2), None),  # may still be voided (A.4.2), whatever its windows say
        (shop("s", 3), "expired"),  # A.4.2: 3 and 4 are never left
        (shop("s", 4), "voided"),
    ],
)
def test_only_terminal_states_can_no_longer_change(resource: ResourceState, reason: str | None) -> None:
    assert ended_reason(resource) == reason


def test_a_wholly_ended_campaign_costs_no_read() -> None:
    """Every managed coupon terminal: no product GET and no shop listing; the sentence names each reason and
    that unmanaged shop coupons were not looked for."""
    state = by_address(product("a", "DEACTIVATED"), product("b", "DEACTIVATED"), shop("c", 4), shop("d", 3))
    selection = select_reads(state)
    assert selection.products == ()
    assert not selection.list_shop
    assert selection.expected_calls(2) == {}
    assert selection.skipped_counts == {"deactivated": 2, "expired": 1, "voided": 1}
    assert selection.summary() == (
        "skipped 4 coupons that can no longer change: 2 deactivated, 1 expired, 1 voided; "
        "unmanaged shop coupons were not looked for (--all reads them)"
    )


def test_live_coupons_are_read_and_terminal_products_skipped() -> None:
    """Deactivated product coupons are skipped; the shop listing happens as soon as anything can change, and then
    reads terminal shop coupons for free (they are compared, not counted as skipped)."""
    state = by_address(product("live", "EFFECTIVE"), product("dead", "DEACTIVATED"), shop("void", 4))
    selection = select_reads(state)
    assert [r.address for r in selection.products] == ["product_coupon.live"]
    assert selection.list_shop
    assert selection.skipped == {"product_coupon.dead": "deactivated"}
    assert selection.expected_calls(401) == {"product.get": 1, "shop.get_list": 3}
    assert selection.summary() == "skipped 1 coupon that can no longer change: 1 deactivated (--all reads them)"


def test_all_reads_everything() -> None:
    state = by_address(product("dead", "DEACTIVATED"), shop("void", 4))
    selection = select_reads(state, everything=True)
    assert [r.address for r in selection.products] == ["product_coupon.dead"]
    assert selection.list_shop
    assert selection.skipped == {}
    assert selection.summary() is None


def test_an_empty_state_still_lists_shop_coupons() -> None:
    """Nothing managed says the campaign has ended: the listing is the only way to see unmanaged coupons."""
    selection = select_reads({})
    assert selection.list_shop
    assert selection.expected_calls(0) == {"shop.get_list": 1}


def test_a_plan_that_adopts_lists_even_when_everything_ended() -> None:
    """Decision D17: a declared shop coupon missing from state is adopted from the listing."""
    selection = select_reads(by_address(shop("void", 4)), must_list_shop=True)
    assert selection.list_shop
    assert selection.skipped == {}


def test_without_a_shop_provider_nothing_is_listed_or_called_skipped() -> None:
    selection = select_reads(by_address(shop("live", 2), shop("void", 4)), shop_configured=False)
    assert not selection.list_shop
    assert selection.skipped == {}
    assert not selection.shop_listing_skipped


def test_the_sentence_uses_thousands_separators() -> None:
    assert skipped_sentence({"deactivated": 4900, "voided": 80}) == (
        "skipped 4,980 coupons that can no longer change: 4,900 deactivated, 80 voided (--all reads them)"
    )
    assert skipped_sentence({}) is None


def stocked(name: str, stocks: dict[str, Any] | None = None, bundles: dict[str, Any] | None = None) -> ResourceState:
    body: dict[str, Any] = {"product_coupon_id": f"id-{name}", "state": "EFFECTIVE"}
    if stocks is not None:
        body["stocks"] = stocks
    if bundles is not None:
        body["stock_bundles"] = bundles
    return ResourceState(f"product_coupon.{name}", "ProductCoupon", f"id-{name}", body, "d")


def specific(stock_id: str, stores: int, state: str = "SENDING") -> dict[str, Any]:
    ids = [str(100000000 + i) for i in range(stores)]
    return {"stock_id": stock_id, "state": state, "store_scope": "SPECIFIC", "stores": ids}


def test_stock_lists_and_store_pages_are_counted_before_the_first_call() -> None:
    """Per product coupon read: its GET, one list-stocks page per 50 stocks state names (reference B.4), and one
    associated-stores page per 200 ids of each live SPECIFIC stock that records stores (at least one, decision
    D34); an ended stock's stores and a coupon without stocks cost nothing more."""
    many = {f"s{i}": {"stock_id": f"S{i}", "state": "SENDING", "store_scope": "NONE"} for i in range(51)}
    state = by_address(
        stocked("a", {"main": specific("A1", 450), "none": specific("A2", 0), "old": specific("A3", 10, "STOPPED")}),
        stocked("b", many),
        stocked(
            "c", bundles={"main": {"stock_bundle_id": "B", "stock_list": [{"stock_id": "B1"}, {"stock_id": "B2"}]}}
        ),
        product("d", "EFFECTIVE"),
    )
    assert stock_reads(state["product_coupon.a"]) == {STOCK_LIST: 1, STORE_READ: 3 + 1}
    assert stock_reads(state["product_coupon.b"]) == {STOCK_LIST: 2}
    assert stock_reads(state["product_coupon.c"]) == {STOCK_LIST: 1}
    assert stock_reads(state["product_coupon.d"]) == {}
    assert select_reads(state).expected_calls(0) == {
        "product.get": 4,
        STOCK_LIST: 4,
        STORE_READ: 4,
        "shop.get_list": 1,
    }


def test_the_page_sizes_are_the_ones_the_provider_asks_for() -> None:
    """The pure core cannot import the provider (architecture rule 3): the counts and the reads must agree."""
    from reconciler.providers import wechatpay, wechatpay_stores

    assert wechatpay.STOCK_PAGE_SIZE == STOCK_PAGE_SIZE
    assert wechatpay_stores.STORE_PAGE_SIZE == STORE_PAGE_SIZE
