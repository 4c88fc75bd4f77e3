"""An environment's overlay (decision D26): explicit overrides of values the coupons declare, checked against them;
its out_coupon_id prefix scopes every shop coupon."""

from __future__ import annotations

import pytest

from reconciler.errors import ConfigError
from reconciler.plan.overlay import apply_overlay, parse_overlay
from tests.plan.literals import product, shop

WHERE = "env.staging.overlay"


def test_a_kind_overlay_changes_every_coupon_of_that_kind_and_nothing_else() -> None:
    rules = parse_overlay({"shop_coupon.*": {"coupon_info": {"receive_info": {"total_num": 10}}}}, WHERE)
    coupons = [shop("a"), shop("b"), product("p")]
    out = apply_overlay(coupons, rules)
    assert [c.body["coupon_info"]["receive_info"]["total_num"] for c in out[:2]] == [10, 10]
    assert out[2] is coupons[2]
    assert coupons[0].body["coupon_info"]["receive_info"]["total_num"] == 10000  # the declared coupon is untouched


def test_an_address_overlay_wins_over_nothing_but_its_own_coupon_and_dotted_keys_work() -> None:
    rules = parse_overlay({"shop_coupon.b": {"coupon_info.discount_info.discount_fee": 500}}, WHERE)
    out = apply_overlay([shop("a"), shop("b")], rules)
    assert [c.body["coupon_info"]["discount_info"]["discount_fee"] for c in out] == [2000, 500]


def test_a_path_the_coupon_does_not_have_is_an_error_naming_the_key_and_the_coupon() -> None:
    rules = parse_overlay({"shop_coupon.*": {"coupon_info": {"receive_info": {"total_nm": 10}}}}, WHERE)
    with pytest.raises(ConfigError) as caught:
        apply_overlay([shop("a", file="manifests/d11.yaml", line=12)], rules)
    message = str(caught.value)
    assert message.startswith('[env.staging.overlay."shop_coupon.*"] coupon_info.receive_info.total_nm: ')
    assert "shop_coupon.a (manifests/d11.yaml:12:1) has no field coupon_info.receive_info.total_nm" in message
    assert "total_num" in message  # the fields it does have


def test_a_value_of_another_type_is_refused() -> None:
    rules = parse_overlay({"shop_coupon.*": {"coupon_info.receive_info.total_num": "10"}}, WHERE)
    with pytest.raises(ConfigError, match=r"declares coupon_info.receive_info.total_num as a number .* is a string"):
        apply_overlay([shop("a")], rules)


def test_an_address_no_coupon_has_is_an_error_unless_only_some_manifests_were_loaded() -> None:
    rules = parse_overlay({"shop_coupon.gone": {"type": 101}}, WHERE)
    with pytest.raises(ConfigError, match=r"no declared coupon has the address shop_coupon\.gone"):
        apply_overlay([shop("a")], rules)
    assert apply_overlay([shop("a")], rules, complete=False)[0].body == shop("a").body  # plan PATH


def test_the_prefix_scopes_every_shop_coupon_and_no_product_coupon() -> None:
    out = apply_overlay([shop("a"), product("p")], (), out_coupon_id_prefix="stg-")
    assert out[0].body["out_coupon_id"] == "stg-a" and out[0].upstream_key == "stg-a"
    assert "out_coupon_id" not in out[1].body
