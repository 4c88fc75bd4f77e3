"""A budget raise is judged by the money rules like a create (issue 18 waited for stocks; decision D29)."""

from __future__ import annotations

import textwrap
from datetime import date
from pathlib import Path

from reconciler.policy.evaluate import PolicyResult, evaluate
from reconciler.policy.loader import load_policy
from tests.plan.literals import plan_of, product
from tests.plan.test_product_stocks import body, state
from tests.plan.test_stocks import stock, upstream_stock

TODAY = date(2026, 11, 1)


def judged(tmp_path: Path, rule_kind: str, max_fen: int, *, target: int = 5000, sent: int = 1000) -> PolicyResult:
    policy_file = tmp_path / "policies.yaml"
    policy_file.write_text(
        textwrap.dedent(
            f"""\
            rules:
              - id: money
                kind: {rule_kind}
                message: too much money
                severity: deny
                max_fen: {max_fen}
            """
        ),
        encoding="utf-8",
    )
    policy = load_policy(policy_file, "policies.yaml")
    have = state({"main": upstream_stock(stock(max_count=1000), "S1", sent=sent)})
    plan = plan_of([product("coffee", body=body({"main": stock(max_count=target)}))], [have])
    return evaluate(plan, policy, {}, today=TODAY)


def test_plan_exposure_counts_what_the_raise_adds(tmp_path: Path) -> None:
    """1,000 -> 5,000 at ¥20 off adds ¥80,000: a plan cap of ¥80,000 passes, one fen less denies."""
    assert not judged(tmp_path, "max_plan_exposure", 8_000_000).findings
    result = judged(tmp_path, "max_plan_exposure", 7_999_999)
    assert result.denied
    [finding] = result.findings
    assert finding.figures["exposure_fen"] == 8_000_000
    assert finding.addresses == ("product_coupon.coffee",)


def test_coupon_exposure_judges_the_raised_coupon_whole(tmp_path: Path) -> None:
    """After the raise the coupon can cost 5,000 × ¥20 = ¥100,000: above a ¥90,000 cap it is denied like a create."""
    assert judged(tmp_path, "max_coupon_exposure", 9_000_000).denied
    assert not judged(tmp_path, "max_coupon_exposure", 10_000_000).findings


def test_lowering_a_budget_adds_nothing(tmp_path: Path) -> None:
    assert not judged(tmp_path, "max_plan_exposure", 1, target=800, sent=0).findings
