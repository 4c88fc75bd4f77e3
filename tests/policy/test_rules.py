"""Each rule kind, literally: a coupon set and a policy in, a verdict out (through the real loader and planner)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from reconciler.policy.evaluate import PolicyResult
from reconciler.policy.model import RULE_KINDS
from reconciler.resources import ResourceState
from tests.e2e.coupons import product_doc, shop_doc
from tests.policy.support import judge, rule

APPID = "wx1234567890abcdef"


def product_off(name: str, threshold: int, amount: int, *, count: int = 1000) -> dict[str, Any]:
    doc = product_doc(name, APPID, name)
    doc["spec"]["single_usage_info"] = {"normal_coupon": {"threshold": threshold, "discount_amount": amount}}
    doc["spec"]["stock"]["stock_send_rule"]["max_count"] = count
    return doc


def verdict(result: PolicyResult) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(f.rule_id, f.severity if f.override is None else "allowed", f.addresses) for f in result.findings]


def test_discount_ratio_denies_the_100_minus_90_typo_with_file_and_line(tmp_path: Path) -> None:
    """满100减90 (a typo for 满100减9) passes validate; a 50 %-of-threshold rule denies it, naming file:line."""
    docs = [product_off("typo-100-off-90", 10000, 9000), product_off("ok-100-off-9", 10000, 900)]
    result = judge(tmp_path, docs, rule("max_discount_ratio", "    max_percent: 50\n", "discount-vs-threshold"))
    assert result.denied
    [finding] = result.findings
    assert finding.rule_id == "discount-vs-threshold"
    assert finding.addresses == ("product_coupon.typo-100-off-90",)
    assert finding.places == ("manifests/coupons.yaml:1",)
    assert "¥90.00 off a threshold of ¥100.00 is 90%" in finding.detail


def test_max_face_value(tmp_path: Path) -> None:
    docs = [shop_doc("big", fee=6000), shop_doc("small", fee=2000)]
    result = judge(tmp_path, docs, rule("max_face_value", "    max_fen: 5000\n"))
    assert verdict(result) == [("r1", "deny", ("shop_coupon.big",))]
    assert result.findings[0].figures == {"face_value_fen": 6000, "limit_fen": 5000}


def test_max_quantity_catches_an_extra_zero(tmp_path: Path) -> None:
    docs = [shop_doc("extra-zero", total_num=1000000), shop_doc("fine", total_num=10000)]
    result = judge(tmp_path, docs, rule("max_quantity", "    max: 200000\n"))
    assert verdict(result) == [("r1", "deny", ("shop_coupon.extra-zero",))]


def test_max_discount_percent(tmp_path: Path) -> None:
    docs = [product_doc("deep", APPID, "deep", discount=True)]  # 20 % off
    assert verdict(judge(tmp_path, docs, rule("max_discount_percent", "    max_percent: 15\n"))) == [
        ("r1", "deny", ("product_coupon.deep",))
    ]
    assert not judge(tmp_path, docs, rule("max_discount_percent", "    max_percent: 20\n")).findings


def test_max_claim_days(tmp_path: Path) -> None:
    docs = [shop_doc("one-day")]  # claim window 2028-11-11 .. 2028-11-12
    assert not judge(tmp_path, docs, rule("max_claim_days", "    days: 1\n")).findings
    long = copy.deepcopy(docs[0])
    long["spec"]["coupon_info"]["receive_info"]["end_time"] = "2029-02-11T00:00:00+08:00"
    result = judge(tmp_path, [long], rule("max_claim_days", "    days: 62\n"))
    assert verdict(result) == [("r1", "deny", ("shop_coupon.one-day",))]


def test_require_protect_in_scope_only(tmp_path: Path) -> None:
    docs = [shop_doc("unprotected"), {**shop_doc("protected"), "protect": True}, shop_doc("draft", status="draft")]
    result = judge(tmp_path, docs, rule("require_protect", "", extra="    scope: {files: ['manifests/*.yaml']}\n"))
    assert verdict(result) == [("r1", "deny", ("shop_coupon.unprotected",))]
    other = rule("require_protect", "", extra="    scope: {files: ['manifests/prod/**']}\n")
    assert not judge(tmp_path, docs, other).findings


def test_allowed_brands(tmp_path: Path) -> None:
    docs = [product_doc("ours", APPID, "ours"), {**product_doc("theirs", APPID, "theirs"), "brand_id": "999"}]
    result = judge(tmp_path, docs, rule("allowed_brands", "    brand_ids: ['120344']\n"))
    assert verdict(result) == [("r1", "deny", ("product_coupon.theirs",))]


def test_max_plan_exposure_sums_the_plan(tmp_path: Path) -> None:
    docs = [shop_doc("a", fee=2000, total_num=1000), shop_doc("b", fee=1000, total_num=1000)]  # ¥20,000 + ¥10,000
    assert not judge(tmp_path, docs, rule("max_plan_exposure", "    max_fen: 3000000\n")).findings
    result = judge(tmp_path, docs, rule("max_plan_exposure", "    max_fen: 2999999\n"))
    assert verdict(result) == [("r1", "deny", ("shop_coupon.a", "shop_coupon.b"))]
    assert result.findings[0].figures["exposure_fen"] == 3000000


def test_max_coupon_exposure_uses_the_declared_or_configured_cap(tmp_path: Path) -> None:
    """A percentage coupon is priced against its order cap; without one it is a finding, never ¥0.00."""
    percent = product_doc("pct", APPID, "pct", discount=True)  # 20 % off, 1,000 coupons
    policy = rule("max_coupon_exposure", "    max_fen: 1000000\n", severity="warn")
    [unpriced] = judge(tmp_path, [percent], policy).findings
    assert "depends on the order" in unpriced.detail and unpriced.severity == "warn"
    assert not judge(tmp_path, [percent], policy).denied
    # configured cap ¥50: 1,000 × 20 % × ¥50 = ¥10,000 = 1,000,000 fen: at the limit
    assert not judge(tmp_path, [percent], policy, default_cap=5000).findings
    declared = {**percent, "max_order_fen": 6000}  # ¥60 declared: ¥12,000 > ¥10,000
    [over] = judge(tmp_path, [declared], policy, default_cap=5000).findings
    assert over.figures == {"exposure_fen": 1200000, "limit_fen": 1000000, "basis": "declared cap"}


def test_max_deactivations_counts_the_plan(tmp_path: Path) -> None:
    """Coupons removed from the manifests are deactivated (voided): more than the limit is denied."""
    state = {
        f"shop_coupon.old-{i}": ResourceState(
            address=f"shop_coupon.old-{i}",
            kind="ShopCoupon",
            upstream_id=f"old-{i}",
            upstream={**shop_doc(f"old-{i}")["spec"], "out_coupon_id": f"old-{i}", "status": 2},
            desired_digest="x",
        )
        for i in range(3)
    }
    docs = [shop_doc("kept")]
    assert not judge(tmp_path, docs, rule("max_deactivations", "    max: 3\n"), state=state).findings
    result = judge(tmp_path, docs, rule("max_deactivations", "    max: 2\n"), state=state)
    assert verdict(result) == [("r1", "deny", tuple(f"shop_coupon.old-{i}" for i in range(3)))]


def test_every_rule_kind_has_a_literal_test() -> None:
    tested = {
        "max_discount_ratio", "max_face_value", "max_quantity", "max_discount_percent", "max_claim_days",
        "require_protect", "allowed_brands", "max_plan_exposure", "max_coupon_exposure", "max_deactivations",
    }  # fmt: skip
    assert tested == set(RULE_KINDS)


def test_warn_shows_without_denying(tmp_path: Path) -> None:
    result = judge(
        tmp_path, [shop_doc("big", fee=6000)], rule("max_face_value", "    max_fen: 5000\n", severity="warn")
    )
    assert verdict(result) == [("r1", "warn", ("shop_coupon.big",))] and not result.denied


@pytest.mark.parametrize("expires, passes", [("2028-12-01", True), ("2028-09-30", False)])
def test_manifest_allow_entry_passes_until_it_expires(tmp_path: Path, expires: str, passes: bool) -> None:
    doc = {**shop_doc("vip", fee=6000), "allow": [{"rule": "r1", "reason": "VIP gift", "expires": expires}]}
    result = judge(tmp_path, [doc], rule("max_face_value", "    max_fen: 5000\n"))
    assert result.denied is not passes
    if passes:
        assert result.findings[0].override is not None and result.findings[0].override.reason == "VIP gift"
    else:
        assert result.notes == ("shop_coupon.vip: allow r1 expired on 2028-09-30: ignored",)
