"""The report in a real headless Chromium, loaded from disk with every non-file request aborted: no console error,
timeline bars at the x of their dates, every action of the plan listed (blocked first, in the text plan's words),
details on hover, and a 10,000-coupon page ready in under 2 s. One browser for the module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from reconciler.plan.model import ActionType, DriftItem, FieldChange, Plan
from reconciler.render.blocks import Paint, render_action
from reconciler.render.report import DriftResult, ReportData, RunRow, render_report
from reconciler.render.report.coupons import coupon_rows
from reconciler.render.text import render_text
from tests.report.browser import Opened, launch, open_report
from tests.report.campaign import DAY, NOW, big_campaign, bj, plan_of, small_campaign

if TYPE_CHECKING:
    from playwright.sync_api import Browser

OPEN, CLOSE = bj("2028-11-10 20:00"), bj("2028-11-12 00:00")
# The windows each coupon of the small campaign declares, worked out by hand from its manifest (not from the page).
WINDOWS: dict[str, tuple[tuple[int, int], tuple[int, int]]] = {
    "shop_coupon.store-100-off-20": ((OPEN, CLOSE), (OPEN, CLOSE + 3 * DAY)),
    "shop_coupon.mug-10-off": ((OPEN, CLOSE), (OPEN, bj("2028-11-20 23:59"))),
    "shop_coupon.beans-5-off": ((bj("2028-11-11 00:00"), CLOSE), (bj("2028-11-11 00:00"), CLOSE + 3 * DAY)),
    "shop_coupon.drip-3-off": ((OPEN, CLOSE), (OPEN, CLOSE + 7 * DAY)),
    "product_coupon.coffee-15-off": ((bj("2028-11-10 00:00"), bj("2028-11-30 23:59")),) * 2,
    "product_coupon.latte-combo": (
        (bj("2028-11-10 00:00"), bj("2028-12-31 23:59")),
        (bj("2028-11-11 00:00"), bj("2028-12-31 23:59")),
    ),
    "shop_coupon.spring-8-off": (
        (bj("2029-03-01 00:00"), bj("2029-03-08 00:00")),
        (bj("2029-03-01 00:00"), bj("2029-03-11 00:00")),
    ),
}
RUNS = (
    RunRow(4, "apply", "ci-bot", "0123456789abcdef0123456789abcdef01234567", "2028-11-08T02:00:00Z", None, "ok", 11),
    RunRow(3, "refresh", "alice", None, "2028-11-07T02:00:00Z", None, "ok", 0, {"drift": []}),
)

TOTAL_NUM = FieldChange("coupon_info.receive_info.total_num", "change", 1000, 1200)
DRIFT = (
    DriftResult(
        "found while refreshing for this plan",
        "2028-11-09T04:00:00Z",
        5,
        (DriftItem("shop_coupon.mug-10-off", "ShopCoupon", "changed", (TOTAL_NUM,)),),
    ),
    DriftResult("couponctl refresh (run 3)", "2028-11-07T02:00:00Z"),
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    yield from launch()


@pytest.fixture(scope="module")
def small(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Opened, Plan]]:
    desired, state, plan = small_campaign()
    path = tmp_path_factory.mktemp("report") / "small.html"
    data = ReportData(plan=plan, now=NOW, desired=tuple(desired), state=state, runs=RUNS, drift=DRIFT)
    path.write_text(render_report(data), encoding="utf-8")
    opened = open_report(browser, path)
    yield opened, plan
    opened.page.close()


def test_the_page_loads_offline_without_a_console_error(small: tuple[Opened, Plan]) -> None:
    """Nothing but the file itself is requested, and the page logs no error or warning."""
    opened, _ = small
    assert opened.errors == [] and opened.blocked == []
    assert opened.page.locator(".tl-row").count() == len(WINDOWS)


def test_timeline_draws_one_bar_per_window_at_the_x_of_its_dates(small: tuple[Opened, Plan]) -> None:
    """For every coupon, one claim bar and one validity bar whose left and right edges are where the page's
    scale puts the dates its manifest declares (within a pixel and a half), and the "now" line at NOW."""
    page = small[0].page
    t0, t1 = (float(page.get_attribute("#timeline", a) or "nan") for a in ("data-t0", "data-t1"))
    for address, windows in WINDOWS.items():
        row = page.locator(f'.tl-row[data-address="{address}"]')
        track = row.locator(".tl-track").bounding_box()
        assert track is not None

        def x(t: int, track: dict[str, float] = track) -> float:  # type: ignore[assignment]
            return track["x"] + (t - t0) / (t1 - t0) * track["width"]

        for css, (start, end) in zip((".bar.claim", ".bar.valid"), windows, strict=True):
            bars = row.locator(css)
            assert bars.count() == 1, (address, css)
            box = bars.bounding_box()
            assert box is not None
            assert abs(box["x"] - x(start)) <= 1.5, (address, css, box["x"], x(start))
            assert abs(box["x"] + box["width"] - x(end)) <= 1.5, (address, css)
    relative = page.locator('.tl-row[data-address="shop_coupon.store-100-off-20"] .bar.valid.rel')
    assert relative.count() == 1  # validity after claim is drawn hatched
    now = page.locator("#tl-now").bounding_box()
    track = page.locator(".tl-row .tl-track").first.bounding_box()
    assert now is not None and track is not None
    assert abs(now["x"] - (track["x"] + (NOW.timestamp() - t0) / (t1 - t0) * track["width"])) <= 1.5


def test_hover_shows_key_fields_and_manifest_location_click_pins(small: tuple[Opened, Plan]) -> None:
    """Hovering a row shows the coupon's fields and where it is declared; a click pins it while others are hovered."""
    page = small[0].page
    page.hover('.tl-row[data-address="shop_coupon.store-100-off-20"]')
    detail = page.inner_text("#tl-detail")
    assert "manifests/double11/shop.yaml:1" in detail
    assert "2028-11-10 20:00:00 +08:00 – 2028-11-12 00:00:00 +08:00" in detail  # the claim window, +08:00
    assert "3 days after claim" in detail and "¥20,000.00" in detail and "! blocked" in detail
    page.click('.tl-row[data-address="product_coupon.latte-combo"]')
    page.hover('.tl-row[data-address="shop_coupon.mug-10-off"]')
    assert "manifests/double11/product.yaml:30" in page.inner_text("#tl-detail")
    page.click('.tl-row[data-address="product_coupon.latte-combo"]')  # unpinned again


def test_plan_section_lists_every_action_blocked_first_in_the_text_plans_words(small: tuple[Opened, Plan]) -> None:
    """Every action appears once, the blocked one first, each block identical to the text plan's; the lines
    around them (legend, summary, money, calls, the blocked notice) are the text plan's lines too."""
    page, plan = small[0].page, small[1]
    entries = page.locator("#plan-list article")
    listed = [entries.nth(i).get_attribute("data-address") for i in range(entries.count())]
    assert sorted(listed) == sorted(a.address for a in plan.actions)  # type: ignore[type-var]
    assert entries.first.get_attribute("data-type") == ActionType.BLOCKED.value
    text = render_text(plan)
    by_address = {a.address: a for a in plan.actions}
    for i, address in enumerate(listed):
        shown = entries.nth(i).locator("pre").inner_text()
        assert shown == "\n".join(render_action(by_address[str(address)], Paint(False)))
        assert shown in text
    section_lines = {
        line.strip() for css in ("pre.legend", "pre.closing") for line in page.inner_text(f"#plan {css}").splitlines()
    }
    text_lines = {line.strip() for line in text.splitlines()}
    assert section_lines <= text_lines
    assert "This plan cannot be applied: 1 blocked change (marked ! above, each with its remedy)." in section_lines
    assert "shop_coupon.store-100-off-20" in page.inner_text("#plan pre.blocked-message")


def test_health_shows_the_last_apply_with_actor_commit_and_calls(small: tuple[Opened, Plan]) -> None:
    """The drift results known, in the words of the text plan's drift section, and the last apply with who ran
    it, its commit and its calls; times in +08:00."""
    health = small[0].page.inner_text("#health")
    assert "Last apply: run 4 by ci-bot, 2028-11-08 10:00:00 +08:00, commit 0123456789ab, 11 calls, ok." in health
    assert "found while refreshing for this plan, 2028-11-09 12:00:00 +08:00, 5 coupons checked" in health
    assert "# shop_coupon.mug-10-off changed outside couponctl" in health  # the text plan's drift words
    assert "~ coupon_info.receive_info.total_num = 1000 -> 1200" in health
    assert "couponctl refresh (run 3), 2028-11-07 10:00:00 +08:00" in health and "No drift." in health


def test_a_10000_coupon_page_is_ready_in_under_2_seconds(browser: Browser, tmp_path: Path) -> None:
    """10,000 coupons across 20 campaigns, planned cold (10,000 creates, each with its whole block) and warm (2,100
    actions): each page is drawn (its ready marker set) in under 2 s from the start of loading, rows are
    virtualised (a few dozen in the DOM) and the last coupon is reachable by scrolling; the plan is paged and
    lists every action."""
    desired, state = big_campaign(10_000)
    for label, held in (("cold", {}), ("warm", state)):
        plan = plan_of(desired, held)
        path = tmp_path / f"{label}.html"
        path.write_text(render_report(ReportData(plan=plan, now=NOW, desired=tuple(desired), state=held)), "utf-8")
        opened = open_report(browser, path)
        page = opened.page
        print(f"10,000 coupons, {label} plan: {path.stat().st_size / 1e6:.2f} MB, ready in {opened.seconds:.2f} s")
        assert opened.seconds < 2.0
        assert opened.errors == [] and opened.blocked == []
        assert page.inner_text("#tl-count").startswith("10000 coupons in 40 manifest files")
        assert page.locator(".tl-row").count() < 100
        page.eval_on_selector("#tl-viewport", "v => { v.scrollTop = v.scrollHeight; }")
        page.wait_for_selector(f'.tl-row[data-address="{coupon_rows(plan, desired, held)[-1].address}"]')
        assert page.inner_text("#plan-range") == f"1–100 of {len(plan.actions)}"
        if label == "warm":
            seen, number = 0, 1
            while True:
                page.wait_for_selector(f'#plan-list[data-page="{number}"]')
                seen += page.locator("#plan-list article").count()
                if page.is_disabled("#plan-next"):
                    break
                page.click("#plan-next")
                number += 1
            assert seen == len(plan.actions)
        page.close()


def test_the_timeline_filter_narrows_rows(small: tuple[Opened, Plan]) -> None:
    """Typing in the filter keeps only matching coupons (by address, name or file)."""
    from playwright.sync_api import expect

    page = small[0].page
    page.fill("#tl-filter", "spring")
    expect(page.locator(".tl-row")).to_have_count(1)
    assert page.inner_text("#tl-count").startswith("1 of 7 coupons")
    page.fill("#tl-filter", "")
    expect(page.locator(".tl-row")).to_have_count(len(WINDOWS))
