"""Images from files in the plan (decision D33): known bytes are their URL, new bytes one upload per sha256 in the
whole plan, before the create or PATCH that needs them; the field shows the upload."""

from __future__ import annotations

import copy
from typing import Any

from reconciler.plan.images import placeholder
from reconciler.plan.model import ActionType, Plan
from reconciler.plan.planner import make_plan
from reconciler.render.text import render_text
from tests.plan.literals import BRAND, LINEAGE, NOW, product, product_body, product_state

OLD_URL = product_body()["display_info"]["image_url"]
SHA = "3f2a9c" + "1" * 58
OTHER = "77" * 32
NEW_URL = "https://wxpaylogo.qpic.cn/wxpaylogo/uploaded/3f2a9c"


def with_file(sha: str = SHA, size: int = 186_000) -> dict[str, Any]:
    body = product_body()
    body["display_info"]["image_url"] = {"$file": {"path": "images/d11.png", "sha256": sha, "size": size}}
    return body


def plan(desired: list[Any], state: list[Any], assets: dict[str, str] | None = None) -> Plan:
    return make_plan(
        desired,
        {s.address: s for s in state},
        lineage=LINEAGE,
        serial=7,
        manifest_digest="0" * 64,
        now=NOW,
        tool_version="0.1.0",
        default_brand_id=BRAND,
        refreshed=True,
        assets=assets,
    )


def test_a_known_image_is_its_uploaded_url_and_a_second_plan_is_a_no_op() -> None:
    state_body = copy.deepcopy(product_body())
    state_body["display_info"]["image_url"] = NEW_URL
    result = plan([product("coffee", body=with_file())], [product_state("coffee", body=state_body)], {SHA: NEW_URL})
    assert result.actions == () and result.unchanged == 1


def test_a_new_image_is_one_upload_then_the_patch_with_a_placeholder() -> None:
    result = plan([product("coffee", body=with_file())], [product_state("coffee")])
    (action,) = result.actions
    assert action.type is ActionType.UPDATE
    upload, patch = action.calls
    assert upload.operation == "product.media.upload" and upload.out_request_no is None
    assert upload.payload == {"file": "images/d11.png", "filename": "d11.png", "sha256": SHA, "size": 186_000}
    assert patch.operation == "product.patch"
    assert patch.payload["display_info"]["image_url"] == placeholder(SHA)
    (change,) = action.changes
    assert change.path == "display_info.image_url" and change.before == OLD_URL
    assert change.after == "upload of images/d11.png (182 KiB, sha256 3f2a9c…)"
    text = render_text(result, color=False)
    assert "upload of images/d11.png (182 KiB, sha256 3f2a9c…)" in text
    assert "product.media.upload, then product.patch" in text
    assert result.format_version == "1.4"  # a couponctl before uploads refuses it


def test_the_same_image_in_two_coupons_is_uploaded_once_in_the_first_action() -> None:
    result = plan([product("a", body=with_file()), product("b", body=with_file())], [])
    first, second = result.actions
    assert [c.operation for c in first.calls] == ["product.media.upload", "product.create"]
    assert [c.operation for c in second.calls] == ["product.create"]
    assert second.calls[0].payload["display_info"]["image_url"] == placeholder(SHA)
    assert "upload of images/d11.png" in str(second.after)


def test_two_new_images_are_two_uploads_before_the_create() -> None:
    body = with_file()
    body["display_info"]["background_url"] = {"$file": {"path": "images/bg.png", "sha256": OTHER, "size": 900}}
    (action,) = plan([product("a", body=body)], []).actions
    assert [c.operation for c in action.calls] == ["product.media.upload"] * 2 + ["product.create"]
    assert action.after is not None and action.after["display_info"]["background_url"] == (
        "upload of images/bg.png (900 B, sha256 777777…)"
    )


def test_a_deferred_coupon_plans_no_upload() -> None:
    (action,) = plan([product("coffee", body=with_file())], [product_state("coffee", "AUDITING")]).actions
    assert action.type is ActionType.DEFERRED and action.calls == ()
