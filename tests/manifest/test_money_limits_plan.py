"""The documented money limits (reference A.5) as a user meets them: `couponctl plan` refuses each value past its
limit, names the limit it breaks, accepts the same coupon exactly at the limit, and sends nothing upstream."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.inprocess import couponctl

CASE = Path(__file__).resolve().parent.parent / "bad_manifests" / "shop-money-limits-and-boundaries"


def test_plan_names_the_limit_each_refused_value_breaks(tmp_path: Path) -> None:
    """Five values past a limit are refused with the limit's name; the three boundary coupons raise nothing."""
    (tmp_path / "couponctl.toml").write_text("", encoding="utf-8")
    (tmp_path / "manifests").mkdir()
    shutil.copy(CASE / "coupons.yaml", tmp_path / "manifests" / "coupons.yaml")
    done = couponctl("plan", "manifests/", cwd=tmp_path)
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert lines[-1] == "5 errors in manifests; nothing was sent upstream."
    named = {
        "too-deep-15pct": "limit SHOP_DISCOUNT_NUM_MIN",
        "cash-250-off": "limit SHOP_DISCOUNT_FEE_MAX",
        "over-200-off-threshold": "limit SHOP_DISCOUNT_FEE_MAX",
        "spend-100-save-90": "limit SHOP_FULL_REDUCTION_MIN_LEFT_PERCENT",
        "mug-spend-100-save-81": "limit SHOP_PRODUCT_FULL_REDUCTION_MIN_LEFT_PERCENT",
    }
    for name, limit in named.items():
        assert any(f"shop_coupon.{name}:" in line and limit in line for line in lines), name
    for boundary in ("deepest-20pct", "cash-200-off", "spend-100-save-80"):
        assert f"shop_coupon.{boundary}:" not in done.stderr
