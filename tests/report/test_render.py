"""The report's pure renderer: timeline rows and their windows, money, the plan in the text plan's words, and a
self-contained page of bounded size (no browser here; tests/report/test_browser.py loads the pages)."""

from __future__ import annotations

import re
from dataclasses import replace

from reconciler.plan.model import ActionType
from reconciler.render.blocks import Paint, render_action
from reconciler.render.report import ReportData, render_report
from reconciler.render.report.coupons import NOT_CREATED, CouponRow, coupon_rows
from reconciler.render.report.money import daily, exposure_by, total
from reconciler.render.report.plan_section import plan_entries
from reconciler.render.text import render_text
from tests.report.campaign import DAY, NOW, big_campaign, bj, plan_of, small_campaign

OPEN, CLOSE = bj("2028-11-10 20:00"), bj("2028-11-12 00:00")


def _rows() -> dict[str, CouponRow]:
    desired, state, plan = small_campaign()
    return {r.address: r for r in coupon_rows(plan, desired, state)}


def test_windows_claim_then_validity_relative_ones_drawn_after_the_claim() -> None:
    """Claim windows come from the body; relative validity (N days / seconds after claim) runs from the first
    possible claim to the last claim plus N; fixed validity is its own window; a product coupon's available_days
    start after the wait and end with the available period."""
    rows = _rows()
    store = rows["shop_coupon.store-100-off-20"]
    assert (store.claim.start, store.claim.end) == (OPEN, CLOSE)
    assert (store.valid.start, store.valid.end, store.valid.relative) == (OPEN, CLOSE + 3 * DAY, True)
    assert store.valid.note == "3 days after claim"
    mug = rows["shop_coupon.mug-10-off"]
    assert (mug.valid.start, mug.valid.end, mug.valid.relative) == (OPEN, bj("2028-11-20 23:59"), False)
    drip = rows["shop_coupon.drip-3-off"]
    assert (drip.valid.end, drip.valid.note) == (CLOSE + 7 * DAY, "604800 seconds after claim")
    latte = rows["product_coupon.latte-combo"]
    assert (latte.claim.start, latte.claim.end) == (bj("2028-11-10 00:00"), bj("2028-12-31 23:59"))
    assert (latte.valid.start, latte.valid.end) == (bj("2028-11-11 00:00"), bj("2028-12-31 23:59"))
    assert latte.valid.note == "7 days after claim, from 1 day after it, within the available period"


def test_rows_are_grouped_like_the_text_plan_with_status_action_and_location() -> None:
    """One row per coupon, by manifest file then kind then address; each knows its status, planned action and
    manifest line."""
    desired, state, plan = small_campaign()
    rows = coupon_rows(plan, desired, state)
    assert [(r.group, r.address) for r in rows] == [
        ("manifests/double11/product.yaml", "product_coupon.coffee-15-off"),
        ("manifests/double11/product.yaml", "product_coupon.latte-combo"),
        ("manifests/double11/shop.yaml", "shop_coupon.beans-5-off"),
        ("manifests/double11/shop.yaml", "shop_coupon.drip-3-off"),
        ("manifests/double11/shop.yaml", "shop_coupon.mug-10-off"),
        ("manifests/double11/shop.yaml", "shop_coupon.store-100-off-20"),
        ("manifests/spring/shop.yaml", "shop_coupon.spring-8-off"),
    ]
    by = {r.address: r for r in rows}
    assert (by["shop_coupon.beans-5-off"].status, by["shop_coupon.beans-5-off"].action) == (
        NOT_CREATED,
        ActionType.CREATE,
    )
    assert (by["shop_coupon.store-100-off-20"].status, by["shop_coupon.store-100-off-20"].action) == (
        "active",
        ActionType.BLOCKED,
    )
    assert by["shop_coupon.mug-10-off"].status == "draft" and by["shop_coupon.mug-10-off"].action is None
    assert by["product_coupon.coffee-15-off"].status == "EFFECTIVE"
    assert by["shop_coupon.drip-3-off"].location == "manifests/double11/shop.yaml:60"


def test_money_by_campaign_kind_and_day_counts_claimable_coupons_once() -> None:
    """Exposure is quantity × fixed discount of every coupon claimable after the plan (the draft is not); per day
    it is the value of the coupons whose claim window is open that +08:00 day (an end at midnight ends the day
    before)."""
    desired, state, plan = small_campaign()
    rows = coupon_rows(plan, desired, state)
    assert total(rows).value_fen == 1000 * 2000 + 1000 * 500 + 1000 * 300 + 2 * 500 * 1500 + 1000 * 2000
    assert [(e.label, e.value_fen) for e in exposure_by(rows, "campaign")] == [
        ("manifests/double11", 1000 * 2000 + 1000 * 500 + 1000 * 300 + 2 * 500 * 1500),
        ("manifests/spring", 1000 * 2000),
    ]
    assert {e.label: e.priced for e in exposure_by(rows, "kind")} == {"ProductCoupon": 2, "ShopCoupon": 4}
    days = daily(rows)
    assert days is not None and days.bucket_days == 1 and days.first == bj("2028-11-10 00:00")
    per_day = dict(enumerate(days.values))
    assert per_day[1] == 2_000_000 + 500_000 + 300_000 + 750_000 + 750_000  # 2028-11-11
    assert per_day[2] == 750_000 + 750_000  # 2028-11-12: the shop windows closed at midnight
    assert len(days.values) == (bj("2029-03-08 00:00") - bj("2028-11-10 00:00")) // DAY


def test_plan_entries_blocked_first_in_the_words_of_the_text_plan() -> None:
    """Every action is listed once, blocked first, each block exactly as the text plan prints it."""
    _, _, plan = small_campaign()
    entries = plan_entries(plan)
    assert entries[0].type is ActionType.BLOCKED
    assert sorted(e.address for e in entries) == sorted(a.address for a in plan.actions)
    text = render_text(plan)
    for entry, action in ((e, next(a for a in plan.actions if a.address == e.address)) for e in entries):
        assert entry.text == "\n".join(render_action(action, Paint(False)))
        assert entry.text in text


def test_page_is_self_contained() -> None:
    """The page references nothing outside itself (no src, no link, no remote URL in markup or CSS) and forbids
    every request with its Content-Security-Policy."""
    desired, state, plan = small_campaign()
    html = render_report(ReportData(plan=plan, now=NOW, desired=tuple(desired), state=state))
    assert "default-src 'none'" in html
    markup = re.sub(r"<script[^>]*>.*?</script>", "", html, flags=re.S)
    assert not re.search(r"\s(src|href)=\"(?!#)", markup)
    assert "@import" not in html and "url(" not in html.split("<style>", 1)[1].split("</style>", 1)[0]


def test_a_10000_coupon_page_stays_small() -> None:
    """10,000 coupons, cold (every coupon to create, each with its whole block) or mostly unchanged, make a file
    well under a few MB."""
    desired, state = big_campaign(10_000)
    for plan, held in ((plan_of(desired, {}), {}), (plan_of(desired, state), state)):
        html = render_report(ReportData(plan=plan, now=NOW, desired=tuple(desired), state=held))
        assert len(html.encode()) < 3_000_000, len(html)


def test_coupons_of_a_set_are_grouped_under_their_file_and_set() -> None:
    """A coupon expanded from a coupon set is shown in its own group, `FILE · set NAME`, after the file's other
    coupons; money still counts it under the file's folder."""
    desired, state, _ = small_campaign()
    source = replace(desired[0].source, set_name="ladder")
    desired = [replace(desired[0], source=source), *desired[1:]]
    rows = coupon_rows(plan_of(desired, state), desired, state)
    shop_rows = [r for r in rows if r.group == "manifests/double11/shop.yaml"]
    assert shop_rows[-1].address == "shop_coupon.store-100-off-20"
    assert shop_rows[-1].group_label == "manifests/double11/shop.yaml · set ladder"
    assert {r.group_label for r in shop_rows[:-1]} == {"manifests/double11/shop.yaml"}
    assert exposure_by(rows, "campaign")[0].label == "manifests/double11"
