"""Plan summary: counts, money exposure, calls and the ETA at the documented rate limits."""

from __future__ import annotations

import pytest

from reconciler.render.summary import eta_seconds, fen_to_yuan, format_duration, summarize, summary_line
from reconciler.upstream_facts import DEFAULT_RATE_LIMITS
from tests.plan.literals import plan_of, product, product_body, product_state, shop, shop_body, shop_state
from tests.plan.test_render import showcase_plan


def test_showcase_counts_calls_and_money() -> None:
    """The showcase plan adds ¥750,000 (¥200,000 of it by raising an active shop coupon's total_num from 10,000 to
    20,000, ¥80,000 by raising a product stock's max_count from 1,000 to 5,000) and removes ¥640,000 of claimable
    face value, in 17 calls."""
    summary = summarize(showcase_plan())
    assert (summary.add, summary.change, summary.replace, summary.deactivate) == (3, 6, 2, 3)
    assert (summary.transition, summary.forget, summary.blocked, summary.deferred, summary.not_applied) == (
        2,
        1,
        1,
        1,
        0,
    )
    assert summary.total_calls == 17 and summary.calls["product.stock.update_budget"] == 1
    assert (summary.exposure.added_fen, summary.exposure.removed_fen) == (75_000_000, 64_000_000)
    assert summary.exposure.added_unpriced == 1  # the 8.5折 shop coupon depends on the order value


def test_shop_exposure_is_total_num_times_discount_fee_when_activated() -> None:
    """Activating 10,000 coupons of ¥20 off adds ¥200,000; a draft adds nothing."""
    active = summarize(plan_of([shop("c1", body=shop_body("c1", total_num=10000, discount_fee=2000))], []))
    assert active.exposure.added_fen == 20_000_000
    draft = summarize(plan_of([shop("c1", "draft")], []))
    assert draft.exposure.added_fen == 0 and draft.exposure.added_coupons == 0


def test_product_replacement_adds_the_new_and_removes_the_old_stock() -> None:
    """Replacing ¥20 × 1000 with ¥30 × 1000 adds ¥30,000 and removes ¥20,000."""
    plan = plan_of([product("coffee", body=product_body(discount_amount=3000))], [product_state("coffee")])
    exposure = summarize(plan).exposure
    assert (exposure.added_fen, exposure.removed_fen) == (3_000_000, 2_000_000)


def test_eta_is_calls_over_rate_with_separate_buckets_side_by_side() -> None:
    """800 shop adds at 800/30 s take 30 s; 200 product creates at 20/s run alongside (10 s)."""
    assert eta_seconds({"shop.add": 800, "product.create": 200}, DEFAULT_RATE_LIMITS) == pytest.approx(30.0)


def test_eta_paces_operations_sharing_a_bucket_serially() -> None:
    """Two operations in one bucket add up."""
    rates = {"wechatpay": 20.0}
    buckets = {"product.create": "wechatpay", "product.deactivate": "wechatpay"}
    assert eta_seconds({"product.create": 100, "product.deactivate": 100}, rates, buckets) == pytest.approx(10.0)


def test_summary_line_says_no_changes() -> None:
    """A plan with nothing to do uses Terraform's no-changes sentence, adapted."""
    plan = plan_of([shop("c1")], [shop_state("c1", 2)])
    assert summary_line(summarize(plan)) == "No changes. Coupons match the manifests."


@pytest.mark.parametrize(
    ("fen", "text"), [(2000, "¥20.00"), (5, "¥0.05"), (123456789, "¥1,234,567.89"), (-150, "-¥1.50")]
)
def test_fen_are_shown_as_yuan(fen: int, text: str) -> None:
    """Money in fen is shown as yuan with two decimals, computed without floats."""
    assert fen_to_yuan(fen) == text


@pytest.mark.parametrize(
    ("seconds", "text"), [(0.2, "under 1 s"), (12.4, "12 s"), (185, "3 min 5 s"), (3720, "1 h 2 min")]
)
def test_durations_are_human(seconds: float, text: str) -> None:
    """ETAs read as a person would say them."""
    assert format_duration(seconds) == text
