"""`couponctl report` on the repository's example campaign, after the README demo (validate, plan --out, apply
the saved plan, a no-op plan, drift), opened in headless Chromium. Also makes the README's screenshot
(docs/report.png) from a pinned clock, with one changed and one blocked coupon."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import yaml

from reconciler.commands.apply import apply
from reconciler.commands.drift import drift
from reconciler.commands.plan import plan
from reconciler.commands.report import report
from reconciler.commands.validate import validate
from reconciler.config import Settings, load_settings
from reconciler.plan.model import ActionType
from reconciler.render.blocks import Paint, render_action
from reconciler.render.text import render_text
from tests.commands.test_plan_apply import Hooks
from tests.inprocess import couponctl
from tests.report.browser import describe_png, launch, off_the_loop, open_report

if TYPE_CHECKING:
    from playwright.sync_api import Browser

REPO = Path(__file__).resolve().parents[2]
SCREENSHOT = REPO / "docs" / "report.png"
BEFORE = datetime(2028, 10, 1, tzinfo=UTC)  # the demo is applied before the campaign opens
NOW = datetime(2028, 11, 9, 4, 0, tzinfo=UTC)  # the report's "now": 2028-11-09 12:00 +08:00, a day before it opens
HEIGHT = 1500  # the screenshot: header, timeline with a coupon's details, money
ENV = {"COUPONCTL_ACTOR": "alice", "GITHUB_SHA": None, "CI_COMMIT_SHA": None}


def clock_at(moment: datetime):  # type: ignore[no-untyped-def]
    return lambda: moment


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    yield from launch()


@dataclass(frozen=True)
class Demo:
    root: Path
    coupons: int  # declared in the example campaign
    calls: int  # made by the demo's apply


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """A copy of the repository's project after the README demo (scripts/demo.sh), with the clock pinned."""
    work = tmp_path_factory.mktemp("demo") / "repo"
    work.mkdir()
    shutil.copytree(REPO / "manifests", work / "manifests")
    shutil.copy(REPO / "couponctl.toml", work / "couponctl.toml")
    (work / "state").mkdir()
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(work)
        for name, value in ENV.items():
            mp.delenv(name, raising=False) if value is None else mp.setenv(name, value)
        settings = load_settings(cwd=work)
        coupons = validate(settings).coupons
        plan(settings, out=Path("state/demo.plan"), clock=clock_at(BEFORE))
        outcome = apply(settings, Hooks(), plan_file=Path("state/demo.plan"), clock=clock_at(BEFORE))
        assert outcome.report is not None and outcome.report.ok
        calls = outcome.report.calls
        assert not plan(settings, clock=clock_at(BEFORE)).plan.differs
        assert not drift(settings, clock=clock_at(BEFORE)).drifted
    yield Demo(work, coupons, calls)


def test_report_works_on_the_example_campaign_after_the_readme_demo(demo: Demo, browser: Browser) -> None:
    """`couponctl report --out state/report.html` after the demo: exit 0, one file that loads offline with no
    console error, every coupon on the timeline, "No changes" in the plan, the demo's apply under Health."""
    result = off_the_loop(couponctl, "report", "--out", "state/report.html", cwd=demo.root, env=ENV)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Wrote the report to state/report.html (")
    assert f"{demo.coupons} coupons, 0 planned actions. Open it in a browser; it needs no network." in result.stdout
    opened = open_report(browser, demo.root / "state" / "report.html")
    page = opened.page
    assert opened.errors == [] and opened.blocked == []
    assert page.inner_text("#tl-count") == f"{demo.coupons} coupons in 2 manifest files"
    assert page.locator(".tl-row .bar.claim").count() == demo.coupons
    assert "No changes. Coupons match the manifests." in page.inner_text("#plan pre.closing")
    health = page.inner_text("#health")
    assert "found while refreshing for this plan" in health and f"{demo.coupons} coupons checked" in health
    assert "Last apply: run 1 by alice" in health and f", {demo.calls} calls, ok." in health
    page.close()


def test_report_of_a_saved_plan_with_a_drift_result(demo: Demo, browser: Browser) -> None:
    """`report --plan FILE --drift drift.json` shows the saved plan (upstream not read) and the drift result of
    `couponctl drift --format json`; a file that is not a drift result is refused with one message."""
    found = off_the_loop(couponctl, "drift", "--format", "json", cwd=demo.root, env=ENV)
    assert found.returncode == 0, found.stderr
    (demo.root / "drift.json").write_text(found.stdout, encoding="utf-8")
    args = ("report", "--plan", "state/demo.plan", "--drift", "drift.json", "--out", "out/r.html")
    result = off_the_loop(couponctl, *args, cwd=demo.root, env=ENV)
    assert result.returncode == 0, result.stderr
    page = open_report(browser, demo.root / "out" / "r.html").page
    assert page.locator("#plan-list article").count() == demo.coupons  # the saved plan creates every coupon
    assert f"drift.json, {demo.coupons} coupons checked" in page.inner_text("#health")
    page.close()
    (demo.root / "bad.json").write_text('{"drift": []}', encoding="utf-8")
    refused = off_the_loop(couponctl, "report", "--drift", "bad.json", "--out", "out/x.html", cwd=demo.root, env=ENV)
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        "Error: bad.json is not a drift result of `couponctl drift --format json` (format_version 1.x expected)"
    )
    assert not (demo.root / "out" / "x.html").exists()


def _edit(path: Path, name: str, change: dict[str, object]) -> None:
    docs = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
    for doc in docs:
        if doc["name"] == name:
            for dotted, value in change.items():
                *parents, last = dotted.split(".")
                node = doc["spec"]
                for key in parents:
                    node = node[key]
                node[last] = value
    path.write_text(yaml.safe_dump_all(docs, allow_unicode=True, sort_keys=False), encoding="utf-8")


@pytest.fixture
def changed(demo: Demo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """A copy of the demo whose manifests change a product coupon's display name (an update) and an active shop
    coupon's name (blocked)."""
    work = tmp_path / "repo"
    shutil.copytree(demo.root, work)
    monkeypatch.chdir(work)
    for name, value in ENV.items():
        monkeypatch.delenv(name, raising=False) if value is None else monkeypatch.setenv(name, value)
    folder = work / "manifests" / "double11-2028"
    _edit(folder / "product-coupons.yaml", "d11-coffee-store-100-off-15", {"display_info.name": "双11全场满100减18"})
    _edit(folder / "shop-coupons.yaml", "d11-store-95pct", {"coupon_info.name": "全店9折"})
    return load_settings(cwd=work)


def test_blocked_and_changed_coupons_come_first_as_in_the_text_plan_and_the_screenshot(
    changed: Settings, browser: Browser
) -> None:
    """The report of a plan with a blocked and a changed coupon lists exactly those two, blocked first, each block
    identical to the text plan's; the page's screenshot (header, timeline with details, money) is not blank, has
    its regions where expected, and is written to docs/report.png for the README."""
    out = Path("state/report.html")
    result = off_the_loop(report, changed, out=out, clock=clock_at(NOW))
    plan_ = result.plan
    assert sorted((a.type, a.address) for a in plan_.actions) == [
        (ActionType.BLOCKED, "shop_coupon.d11-store-95pct"),
        (ActionType.UPDATE, "product_coupon.d11-coffee-store-100-off-15"),
    ]
    opened = open_report(browser, out, viewport={"width": 1280, "height": HEIGHT})
    page = opened.page
    assert opened.errors == [] and opened.blocked == []
    entries = page.locator("#plan-list article")
    assert [entries.nth(i).get_attribute("data-address") for i in range(entries.count())] == [
        "shop_coupon.d11-store-95pct",
        "product_coupon.d11-coffee-store-100-off-15",
    ]
    text = render_text(plan_)
    for i, action in enumerate(sorted(plan_.actions, key=lambda a: a.type is not ActionType.BLOCKED)):
        block = entries.nth(i).locator("pre").inner_text()
        assert block == "\n".join(render_action(action, Paint(False))) and block in text

    page.hover('.tl-row[data-address="shop_coupon.d11-store-95pct"]')
    page.evaluate("window.scrollTo(0, 0)")
    png = page.screenshot()
    boxes = {
        name: page.locator(selector).bounding_box()
        for name, selector in (("header", "header"), ("timeline", "#tl-viewport"), ("money", "#money .charts"))
    }
    regions = [[round(b["x"]), round(b["y"]), round(b["width"]), round(b["height"])] for b in boxes.values() if b]
    assert len(regions) == 3 and all(r[1] + r[3] <= HEIGHT for r in regions)
    green, red = (26, 127, 55), (207, 34, 46)  # live coupons and bars; the "now" line
    seen = describe_png(browser, png, [[0, 0, 1280, HEIGHT], *regions], [green, red])
    whole, header, timeline, money = seen["regions"]  # type: ignore[index, misc]
    assert (seen["width"], seen["height"]) == (1280, HEIGHT)
    assert whole["colours"] > 50 and 0.03 < whole["inked"] < 0.9  # neither blank nor a solid block
    assert 0.01 < header["inked"] < 0.5 and header["colours"] > 10  # its text on a light panel
    assert timeline["near"][0] > 100 and timeline["near"][1] > 20  # bars of live coupons, the now line
    assert money["near"][0] > 200  # the exposure bars
    page.close()
    if not SCREENSHOT.exists() or SCREENSHOT.read_bytes() != png:
        SCREENSHOT.write_bytes(png)
