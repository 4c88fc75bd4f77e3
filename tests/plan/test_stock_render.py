"""Plans speak in the campaign's words (issue 16 item 4, decision D29): the budget line with the sent count, the
call by name, the calls per operation with their ETA, and the money a raise or a new stock adds."""

from __future__ import annotations

from reconciler.plan.model import Plan
from reconciler.render.json_doc import plan_json_data
from reconciler.render.summary import calls_line, exposure_line, summarize
from reconciler.render.text import render_text
from tests.plan.literals import plan_of, product
from tests.plan.test_product_stocks import body, state
from tests.plan.test_stocks import stock, upstream_stock


def raise_plan(sent: int | None = 842) -> Plan:
    have = upstream_stock(stock(max_count=1000), "S1", sent=sent or 0)
    if sent is None:
        del have["sent_count_info"]
    return plan_of([product("coffee", body=body({"main": stock(max_count=5000)}))], [state({"main": have})])


def test_budget_line_shows_the_figures_and_the_sent_count() -> None:
    text = render_text(raise_plan())
    assert "~ stocks.main.stock_send_rule.max_count = 1,000 -> 5,000 (842 already sent)" in text
    assert "# calls: product.stock.update_budget 1000000013 stock main" in text


def test_without_a_known_sent_count_the_line_is_plain() -> None:
    text = render_text(raise_plan(sent=None))
    assert "~ stocks.main.stock_send_rule.max_count = 1000 -> 5000" in text
    assert "already sent" not in text


def test_summary_counts_calls_by_operation_with_their_rate_and_prices_the_raise() -> None:
    summary = summarize(raise_plan())
    assert summary.calls == {"product.stock.update_budget": 1}
    assert summary.eta_seconds == 1 / 20  # reference B.12: 20/s
    assert calls_line(summary) == (
        "Calls: 1 upstream call (product.stock.update_budget 1); ETA under 1 s at the documented rate limits."
    )
    # 4,000 more coupons × ¥20 off = ¥80,000.00
    assert summary.exposure.added_fen == 4000 * 2000 and summary.exposure.removed_fen == 0
    assert exposure_line(summary) == (
        "Money: adds at most ¥80,000.00 of claimable coupons (1 coupon priced as quantity × fixed discount)."
    )


def test_a_new_stock_adds_its_whole_budget_and_a_removed_one_releases_its_own() -> None:
    have = state({"main": upstream_stock(stock(), "S1"), "old": upstream_stock(stock(max_count=300), "S2")})
    want = body({"main": stock(), "weekend": stock(max_count=200)})
    summary = summarize(plan_of([product("coffee", body=want)], [have]))
    assert summary.calls == {"product.stock.add": 1, "product.stock.deactivate": 1}
    assert (summary.exposure.added_fen, summary.exposure.removed_fen) == (200 * 2000, 300 * 2000)


def test_lowering_a_budget_releases_the_difference() -> None:
    have = state({"main": upstream_stock(stock(max_count=1000), "S1", sent=10)})
    summary = summarize(plan_of([product("coffee", body=body({"main": stock(max_count=600)}))], [have]))
    assert (summary.exposure.added_fen, summary.exposure.removed_fen) == (0, 400 * 2000)


def test_a_stock_replacement_adds_the_new_stocks_full_budget() -> None:
    want_stock = stock()
    want_stock["coupon_code_mode"] = "UPLOAD"
    have = state({"main": upstream_stock(stock(), "S1", sent=1000)})
    summary = summarize(plan_of([product("coffee", body=body({"main": want_stock}))], [have]))
    assert (summary.exposure.added_fen, summary.exposure.removed_fen) == (1000 * 2000, 1000 * 2000)


def test_a_new_coupon_with_two_stocks_is_priced_whole() -> None:
    want = body({"main": stock(max_count=1000), "weekend": stock(max_count=500)})
    summary = summarize(plan_of([product("coffee", body=want)], []))
    assert summary.calls == {"product.create": 1, "product.stock.add": 1}
    assert summary.exposure.added_fen == 1500 * 2000


def test_json_plan_carries_stock_names_and_is_1_4() -> None:
    data = plan_json_data(raise_plan())
    assert data["format_version"] == "1.4"
    (call,) = data["actions"][0]["calls"]
    assert (call["operation"], call["stock_name"], call["stock_id"]) == ("product.stock.update_budget", "main", "S1")
    assert data["summary"]["calls"] == {"product.stock.update_budget": 1}
