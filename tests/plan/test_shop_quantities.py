"""Shop coupon quantities (issue 16 item 3, decision D30): a new `total_num` on an active coupon is one
`shop.update_coupon_stock` call with absolute values (reference A.6.6), refused offline below what users already
claimed, never silently dropped when other content differs too; the plan shows the handed-out count and prices the
raise; drift never reports the handed-out count."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from reconciler.apply.outcome import state_after_call
from reconciler.plan.drift import compare, refreshed
from reconciler.plan.model import Action, ActionType, Call, Plan
from reconciler.plan.shop import SHOP_TOTAL_PATH, UNKNOWN_COUNT_WARNING, handed_out, handed_out_changed
from reconciler.policy.evaluate import evaluate
from reconciler.policy.loader import load_policy
from reconciler.providers.base import CallResult
from reconciler.render.blocks import Paint, render_action
from reconciler.render.summary import exposure_line, summarize
from reconciler.resources import IgnoreRule, ResourceState
from tests.plan.literals import NOW, plan_of, shop, shop_body, shop_state


def active(total: int = 1000, received: int | None = 842, **body: Any) -> ResourceState:
    """An active coupon in state, with the stock refresh recorded (`None`: no stock known)."""
    state = shop_state("c1", 2, body=shop_body("c1", total_num=total, **body))
    if received is None:
        return state
    stock = {"out_coupon_id": "c1", "stock_info": {"issued_num": total - received, "receive_num": received}}
    return replace(state, upstream={**state.upstream, "coupon_stock": stock})


def wanting(total: int, status: str = "active", **body: Any) -> Plan:
    return plan_of([shop("c1", status, body=shop_body("c1", total_num=total, **body))], [STATE])


STATE = active()


def only(plan: Plan) -> Action:
    assert len(plan.actions) == 1, plan.actions
    return plan.actions[0]


def text(action: Action) -> str:
    return "\n".join(render_action(action, Paint(False)))


def test_raising_the_total_of_an_active_coupon_is_one_update_coupon_stock_call() -> None:
    plan = wanting(5000)
    action = only(plan)
    assert action.type is ActionType.UPDATE and plan.applyable
    [call] = action.calls
    assert call.operation == "shop.update_stock" and call.target == "c1"
    assert call.payload == {"coupon_stock": {"out_coupon_id": "c1", "stock_info": {"issued_num": 4158,
                                                                                   "receive_num": 842}}}  # fmt: skip
    # /shop/coupon has no request number: the journal's number stays out of the body.
    assert call.out_request_no is not None and call.out_request_no.startswith("cc")
    assert [(c.path, c.before, c.after, c.effect) for c in action.changes] == [(SHOP_TOTAL_PATH, 1000, 5000, "update")]
    assert action.reason == (
        "the quantity of an active coupon changes with update_coupon_stock: 4,158 left to hand out + 842 handed "
        "out = 5,000 (reference A.6.6)"
    )
    assert action.warnings == ()


def test_the_plan_shows_the_handed_out_count_and_the_call() -> None:
    shown = text(only(wanting(5000)))
    assert "~ coupon_info.receive_info.total_num = 1,000 -> 5,000 (842 already handed out)" in shown
    assert "# calls: shop.update_stock" in shown
    assert "will be updated in place" in shown


def test_the_request_number_is_deterministic_and_names_this_change() -> None:
    first = only(wanting(5000)).calls[0].out_request_no
    assert first == only(wanting(5000)).calls[0].out_request_no
    assert first != only(wanting(6000)).calls[0].out_request_no
    later = replace(STATE, updated_at="2026-10-21T08:00:00Z")  # a later state of the coupon: a new change
    other = plan_of([shop("c1", body=shop_body("c1", total_num=5000))], [later])
    assert only(other).calls[0].out_request_no != first


def test_lowering_below_what_was_handed_out_is_refused_offline_with_the_figures() -> None:
    plan = wanting(500)
    action = only(plan)
    assert action.type is ActionType.BLOCKED and not plan.applyable
    assert action.calls == ()
    assert action.reason is not None and action.reason.startswith("total_num 500 < 842 already handed out")
    assert action.remedy is not None and "at least 842" in action.remedy
    assert action.changes[0].effect == "blocked"
    assert "1,000 -> 500 (842 already handed out)" in text(action)


def test_lowering_to_exactly_what_was_handed_out_stops_handing_out() -> None:
    action = only(wanting(842))
    assert action.type is ActionType.UPDATE
    assert action.calls[0].payload["coupon_stock"]["stock_info"] == {"issued_num": 0, "receive_num": 842}


def test_an_unknown_handed_out_count_is_sent_as_zero_with_a_warning() -> None:
    plan = plan_of([shop("c1", body=shop_body("c1", total_num=5000))], [active(received=None)])
    action = only(plan)
    assert action.type is ActionType.UPDATE
    assert action.calls[0].payload["coupon_stock"]["stock_info"] == {"issued_num": 5000, "receive_num": 0}
    assert action.warnings == (UNKNOWN_COUNT_WARNING,)
    assert "couponctl refresh" in UNKNOWN_COUNT_WARNING
    shown = text(action)
    assert "total_num = 1000 -> 5000" in shown and "already handed out" not in shown


def test_the_total_with_other_content_is_blocked_naming_both() -> None:
    """Nothing is applied, and the quantity change is not dropped silently: reason, remedy and rows name it."""
    plan = wanting(5000, name="双11满100减30")
    action = only(plan)
    assert action.type is ActionType.BLOCKED and action.calls == ()
    assert action.reason is not None
    assert "content differs (coupon_info.name)" in action.reason
    assert "the total_num change (1000 -> 5000) alone would be applied with update_coupon_stock" in action.reason
    assert action.remedy is not None and action.remedy.startswith("resolve the other differences")
    assert {c.path: c.effect for c in action.changes} == {"coupon_info.name": "blocked", SHOP_TOTAL_PATH: "blocked"}
    by_path = {c.path: c.reason for c in action.changes}
    assert "update_coupon_stock applies it once nothing else differs" in str(by_path[SHOP_TOTAL_PATH])
    assert "1,000 -> 5,000 (842 already handed out)" in text(action)


def test_other_content_alone_stays_blocked_as_before() -> None:
    action = only(wanting(1000, discount_fee=3000))
    assert action.type is ActionType.BLOCKED
    assert "total_num" not in (action.reason or "")


def test_a_total_change_while_voiding_is_blocked() -> None:
    action = only(wanting(5000, "voided"))
    assert action.type is ActionType.BLOCKED and action.calls == ()
    assert "status moves from 2 to 4" in (action.reason or "")


def test_a_draft_keeps_using_update() -> None:
    draft = shop_state("c1", 1, body=shop_body("c1", total_num=1000))
    action = only(plan_of([shop("c1", "draft", body=shop_body("c1", total_num=5000))], [draft]))
    assert [c.operation for c in action.calls] == ["shop.update"]


def test_an_ignored_total_is_not_changed() -> None:
    rule = IgnoreRule(SHOP_TOTAL_PATH, "ops top up stock in the console")
    plan = plan_of([shop("c1", body=shop_body("c1", total_num=5000), ignore=(rule,))], [STATE])
    assert plan.actions == ()


def test_after_the_claim_window_the_raise_is_blocked() -> None:
    plan = plan_of([shop("c1", body=shop_body("c1", total_num=5000))], [STATE], now=NOW + timedelta(days=30))
    action = only(plan)
    assert action.type is ActionType.BLOCKED and "claim window already ended" in (action.reason or "")


def test_the_money_line_counts_what_the_raise_adds_and_a_cut_removes() -> None:
    raised = summarize(wanting(5000)).exposure
    assert (raised.added_fen, raised.added_coupons, raised.removed_fen) == (4000 * 2000, 1, 0)
    assert exposure_line(summarize(wanting(5000))) == (
        "Money: adds at most ¥80,000.00 of claimable coupons (1 coupon priced as quantity × fixed discount)."
    )
    cut = summarize(wanting(900)).exposure
    assert (cut.added_fen, cut.removed_fen, cut.removed_coupons) == (0, 100 * 2000, 1)
    blocked = summarize(wanting(500)).exposure
    assert (blocked.added_fen, blocked.removed_fen) == (0, 0)


def test_the_plan_exposure_rule_sees_the_raise(tmp_path: Path) -> None:
    policy_file = tmp_path / "policies.yaml"
    policy_file.write_text(
        "rules:\n  - id: budget\n    kind: max_plan_exposure\n    message: too much\n    max_fen: 7000000\n"
    )
    result = evaluate(wanting(5000), load_policy(policy_file, "policies.yaml"), {}, today=date(2026, 11, 1))
    [finding] = result.findings
    assert finding.figures["exposure_fen"] == 8_000_000 and finding.addresses == ("shop_coupon.c1",)
    assert not evaluate(wanting(4000), load_policy(policy_file, "policies.yaml"), {}, today=date(2026, 11, 1)).findings


def test_state_after_the_call_has_the_new_total_and_stock() -> None:
    action = only(wanting(5000))
    result = CallResult(operation="shop.update_stock", upstream_id="c1", entity=None, request_id=None, raw={})
    put = state_after_call(action, action.calls[0], result, STATE, "2026-11-01T00:00:00Z").put
    assert put is not None
    assert put.upstream["coupon_info"]["receive_info"]["total_num"] == 5000
    assert put.upstream["coupon_stock"]["stock_info"] == {"issued_num": 4158, "receive_num": 842}
    assert put.upstream["status"] == 2 and handed_out(put.upstream) == 842
    # The next plan against that state is a no-op.
    assert plan_of([shop("c1", body=shop_body("c1", total_num=5000))], [put]).actions == ()


def test_state_after_the_call_without_a_known_stock_records_one() -> None:
    call = Call("shop.update_stock", {"coupon_stock": {"out_coupon_id": "c1", "stock_info": {"issued_num": 10,
                                                                                             "receive_num": 0}}},
                target="c1")  # fmt: skip
    action = only(wanting(5000))
    result = CallResult(operation="shop.update_stock", upstream_id="c1", entity=None, request_id=None, raw={})
    put = state_after_call(action, call, result, active(received=None), "2026-11-01T00:00:00Z").put
    assert put is not None
    assert put.upstream["coupon_stock"] == {"out_coupon_id": "c1", "stock_info": {"issued_num": 10, "receive_num": 0}}
    assert put.upstream["coupon_info"]["receive_info"]["total_num"] == 10


def test_drift_ignores_claims_but_reports_a_total_changed_in_the_console() -> None:
    claimed = dict(STATE.upstream)
    claimed["coupon_stock"] = {"out_coupon_id": "c1", "stock_info": {"issued_num": 0, "receive_num": 1000}}
    assert compare(STATE, claimed) is None
    assert handed_out(refreshed(STATE, claimed, "2026-11-01T00:00:00Z").upstream) == 1000  # refresh records it
    edited = active(total=3000, received=842).upstream
    item = compare(STATE, edited)
    assert item is not None and item.category == "changed"
    assert [(c.path, c.before, c.after) for c in item.changes] == [(SHOP_TOTAL_PATH, 1000, 3000)]


def test_handed_out_reads_only_a_whole_count() -> None:
    assert handed_out(None) is None
    assert handed_out({"coupon_stock": {"stock_info": {"receive_num": True}}}) is None
    assert handed_out({"coupon_stock": {"stock_info": {"receive_num": -1}}}) is None
    assert handed_out({"coupon_stock": {"stock_info": {"receive_num": 0}}}) == 0


def test_refresh_records_a_new_handed_out_count_although_it_is_not_drift() -> None:
    claimed = replace(STATE, upstream={**STATE.upstream, "coupon_stock": {"stock_info": {"receive_num": 900}}})
    assert handed_out_changed(STATE, claimed) and handed_out_changed(active(received=None), STATE)
    assert not handed_out_changed(STATE, replace(STATE, updated_at="2026-11-02T00:00:00Z"))
