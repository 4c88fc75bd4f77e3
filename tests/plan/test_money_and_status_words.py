"""Issue 14 small ones in the pure renderers: no "¥0.00" for coupons that cannot be priced; shop status as a word."""

from __future__ import annotations

from reconciler.render.summary import Exposure, PlanSummary, exposure_line
from reconciler.render.values import status_word


def summary(exposure: Exposure) -> PlanSummary:
    return PlanSummary(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, exposure=exposure)


def test_unpriced_coupons_are_counted_never_priced_at_zero() -> None:
    """Adding only percentage / trade-in coupons says how many and that they are not priced, not `¥0.00`."""
    line = exposure_line(summary(Exposure(added_unpriced=2, removed_unpriced=1)))
    assert line == (
        "Money: adds 2 claimable coupons whose value depends on the order (not priced); "
        "removes 1 claimable coupon whose value depends on the order (not priced)."
    )
    assert "¥0.00" not in (line or "")


def test_priced_and_unpriced_together_keep_the_amount() -> None:
    line = exposure_line(summary(Exposure(added_fen=2_000_000, added_coupons=1, added_unpriced=1)))
    assert line is not None and line.startswith("Money: adds at most ¥20,000.00 of claimable coupons (1 coupon")
    assert "1 more whose value depends on the order" in line


def test_shop_status_reads_as_the_manifest_word() -> None:
    """Shop 1..4 read as draft / active / expired / voided; product states are words already."""
    assert [status_word("ShopCoupon", s) for s in ("1", "2", "3", "4")] == ["draft", "active", "expired", "voided"]
    assert status_word("ShopCoupon", "9") == "unknown (9)"
    assert status_word("ProductCoupon", "EFFECTIVE") == "EFFECTIVE"
