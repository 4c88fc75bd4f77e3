"""policies.yaml is validated with positions like manifests; freeze windows; exposure for every coupon."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from reconciler.errors import ManifestError
from reconciler.plan.exposure import OrderCap, coupon_exposure
from reconciler.policy import freeze
from reconciler.policy.loader import load_policy
from tests.e2e.coupons import product_doc, shop_doc
from tests.policy.support import load, plan_of

APPID = "wx1234567890abcdef"


def _errors(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "policies.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ManifestError) as caught:
        load_policy(path, "manifests/policies.yaml")
    assert caught.value.exit_code == 1
    return [str(d) for d in caught.value.diagnostics]


def test_policy_errors_are_located_like_manifest_errors(tmp_path: Path) -> None:
    text = """\
rules:
  - id: face
    kind: max_face_valu
    max_fen: 5000
    message: x
  - id: qty
    kind: max_quantity
    maxx: 3
    message: y
"""
    errors = _errors(tmp_path, text)
    assert errors[0].startswith("manifests/policies.yaml:3:11: rules[0].kind: must be one of")
    assert errors[1] == (
        "manifests/policies.yaml:8:5: rules[1].maxx: unknown field 'maxx' (did you mean max?); known: id, kind, "
        "message, severity, max_fen, max_percent, max, days, brand_ids, scope"
    )


def test_a_rule_needs_its_parameter_and_no_other(tmp_path: Path) -> None:
    errors = _errors(tmp_path, "rules:\n  - {id: q, kind: max_quantity, message: m, max_fen: 3}\n")
    assert errors == ["manifests/policies.yaml:2:5: rules[0]: max_fen does not apply to max_quantity (it takes max)"]
    errors = _errors(tmp_path, "rules:\n  - {id: q, kind: max_quantity, message: m}\n")
    assert errors == ["manifests/policies.yaml:2:5: rules[0]: max_quantity needs max"]


def test_freeze_needs_an_offset_and_an_order(tmp_path: Path) -> None:
    errors = _errors(
        tmp_path, "freezes:\n  - {name: n, start: '2028-11-10T20:00:00', end: '2028-11-11T02:00:00+08:00'}\n"
    )
    assert errors == ["manifests/policies.yaml:2:22: freezes[0].start: needs an offset, e.g. 2028-11-10T20:00:00+08:00"]


def test_freeze_windows_in_beijing_time(tmp_path: Path) -> None:
    path = tmp_path / "policies.yaml"
    path.write_text(
        "freezes:\n  - name: double11-night\n    start: 2028-11-10T20:00:00+08:00\n"
        "    end: 2028-11-11T02:00:00+08:00\n    allow: [deactivate]\n",
        encoding="utf-8",
    )
    policy = load_policy(path, "policies.yaml")
    before = datetime(2028, 11, 10, 11, 59, tzinfo=UTC)  # 19:59 +08:00
    inside = datetime(2028, 11, 10, 12, 0, tzinfo=UTC)
    after = datetime(2028, 11, 10, 18, 0, tzinfo=UTC)  # 02:00 +08:00: the end is exclusive
    assert freeze.active(policy.freezes, before) is None
    assert freeze.upcoming(policy.freezes, before) == policy.freezes[0]
    assert freeze.active(policy.freezes, inside) == policy.freezes[0]
    assert freeze.active(policy.freezes, after) is None
    assert freeze.shown(policy.freezes[0].end) == "2028-11-11 02:00 +08:00"


def test_exposure_is_a_number_for_every_coupon_with_an_order_cap(tmp_path: Path) -> None:
    """Fixed-amount coupons: quantity × face value. Order-dependent ones: bounded by the cap, never 'depends'."""
    fixed = coupon_exposure("ShopCoupon", load(tmp_path, [shop_doc("a", fee=2000, total_num=1000)])[0].body)
    assert (fixed.fen, fixed.basis) == (2000000, "face value")
    body = load(tmp_path, [product_doc("p", APPID, "pct-coupon", discount=True)])[0].body  # 20 % off, 1,000 coupons
    assert coupon_exposure("ProductCoupon", body).fen is None
    declared = coupon_exposure("ProductCoupon", body, OrderCap(10000, declared=True))
    configured = coupon_exposure("ProductCoupon", body, OrderCap(10000, declared=False))
    assert (declared.fen, declared.basis) == (1000 * 2000, "declared cap")
    assert (configured.fen, configured.basis) == (1000 * 2000, "configured cap")


def test_the_plan_says_which_figures_a_cap_bounds(tmp_path: Path) -> None:
    from reconciler.render.summary import exposure_line, summarize

    docs = [
        shop_doc("a", fee=2000, total_num=1000),
        {**product_doc("p", APPID, "pct-coupon", discount=True), "max_order_fen": 10000},
    ]
    summary = summarize(plan_of(load(tmp_path, docs)))
    line = exposure_line(summary)
    assert line == (
        "Money: adds at most ¥40,000.00 of claimable coupons (2 coupons: 1 priced as quantity × fixed discount, "
        "1 bounded by an order cap)."
    )
    assert "depends on the order" not in line
    assert [(c.address, c.basis) for c in summary.exposure.top] == [
        ("product_coupon.p", "declared cap"),
        ("shop_coupon.a", "face value"),
    ]
