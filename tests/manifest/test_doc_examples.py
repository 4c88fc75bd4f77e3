"""The WeChat documentation's request examples, written as manifests: accepted, or the exact rule they break."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.errors import ManifestError
from reconciler.manifest import load_manifests
from reconciler.stocks import create_body

EXAMPLES = Path(__file__).resolve().parent.parent / "good_manifests" / "doc_examples"


def _messages(path: Path) -> list[str]:
    with pytest.raises(ManifestError) as caught:
        load_manifests([path])
    return [f"{d.line}:{d.col}: {d.field}: {d.message}" for d in caught.value.diagnostics]


def test_shop_add_example_verbatim_names_the_quoted_times() -> None:
    """The /shop/coupon/add sample sends valid_info times as strings; both are refused with a remove-the-quotes hint."""
    assert _messages(EXAMPLES / "shop-coupon-add.yaml") == [
        "49:29: spec.coupon_info.valid_info.start_time: Unix seconds must be an integer, not the string "
        "'1625451250': remove the quotes",
        "50:27: spec.coupon_info.valid_info.end_time: Unix seconds must be an integer, not the string "
        "'1625464250': remove the quotes",
    ]


def test_shop_add_example_unquoted_names_the_type_rules(tmp_path: Path) -> None:
    """With the quotes removed, the sample breaks exactly A.5 (fields type 101 refuses) and A.4.4 (valid_day_num)."""
    text = (EXAMPLES / "shop-coupon-add.yaml").read_text(encoding="utf-8")
    unquoted = tmp_path / "add.yaml"
    unquoted.write_text(
        text.replace('"1625451250"', "1625451250").replace('"1625464250"', "1625464250"), encoding="utf-8"
    )
    refused = "not allowed for type 101 (店铺条件折扣券), which uses product_cnt, discount_num (A.5)"
    condition = "spec.coupon_info.discount_info.discount_condition"
    assert _messages(unquoted) == [
        f"21:19: {condition}.product_price: {refused}",
        f"22:19: {condition}.out_product_ids: {refused}",
        f"26:19: {condition}.tradein_info: {refused}",
        f"30:19: {condition}.buyget_info: {refused}",
        f"38:15: spec.coupon_info.discount_info.discount_fee: {refused}",
        "48:15: spec.coupon_info.valid_info.valid_day_num: not allowed when valid_type is 1, which uses start_time "
        "and end_time (A.4.4)",
    ]


def test_shop_add_example_corrected_is_accepted_as_the_request_body(tmp_path: Path) -> None:
    """Keeping only the fields type 101 uses, the sample loads and its body equals the documented `coupon` object."""
    request = json.loads((EXAMPLES / "shop-coupon-add.request.json").read_text(encoding="utf-8"))["coupon"]
    condition = request["coupon_info"]["discount_info"]["discount_condition"]
    for field in ("product_price", "out_product_ids", "tradein_info", "buyget_info"):
        del condition[field]
    del request["coupon_info"]["discount_info"]["discount_fee"]
    valid = request["coupon_info"]["valid_info"]
    del valid["valid_day_num"]
    valid["start_time"], valid["end_time"] = int(valid["start_time"]), int(valid["end_time"])
    manifest = tmp_path / "add.yaml"
    manifest.write_text(
        "kind: ShopCoupon\nname: coupon-id-1\nspec: " + json.dumps(request, ensure_ascii=False), encoding="utf-8"
    )
    (coupon,) = load_manifests([manifest]).coupons
    assert coupon.address == "shop_coupon.coupon-id-1"
    assert coupon.upstream_key == "coupon_id_1"
    assert dict(coupon.body) == request


def test_product_create_example_is_accepted_as_the_request_body() -> None:
    """The official create sample loads unchanged; its body is the request minus out_request_no and brand_id."""
    request = json.loads((EXAMPLES / "product-coupon-create.request.json").read_text(encoding="utf-8"))
    (coupon,) = load_manifests([EXAMPLES / "product-coupon-create.yaml"]).coupons
    assert coupon.brand_id == request.pop("brand_id")
    request.pop("out_request_no")
    assert create_body(coupon.body) == request  # the create sends the first (only) stock as `stock` (D29)
    assert coupon.body["stocks"] == {"main": request["stock"]}
    assert "stock" not in coupon.body
    assert coupon.status == "active"


def test_product_patch_example_display_info_is_what_the_manifest_declares() -> None:
    """The official PATCH sample's display_info is exactly the display_info of the manifest that leads to it."""
    request = json.loads((EXAMPLES / "product-coupon-patch.request.json").read_text(encoding="utf-8"))
    (coupon,) = load_manifests([EXAMPLES / "product-coupon-patch.yaml"]).coupons
    assert coupon.body["display_info"] == request["display_info"]
    assert coupon.brand_id == request["brand_id"]


def test_progressive_bundle_manifest_is_accepted() -> None:
    """A PROGRESSIVE_BUNDLE coupon with one ladder rule per use loads: its `stock_bundle` is the `main` entry of
    `stock_bundles` (decision D29), and it has no stocks."""
    (coupon,) = load_manifests([EXAMPLES.parent / "progressive-bundle.yaml"]).coupons
    assert coupon.body["usage_mode"] == "PROGRESSIVE_BUNDLE"
    assert not {"stock", "stocks", "stock_bundle"} & set(coupon.body)
    assert list(coupon.body["stock_bundles"]) == ["main"]
    assert len(coupon.body["stock_bundles"]["main"]["progressive_bundle_usage_rule"]["normal_coupon_list"]) == 3
