"""Policy results everywhere: text section after the actions, JSON `policy`, Markdown table at the top (budgeted)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from reconciler.commands.guard import _facts
from reconciler.plan.model import POLICY_FORMAT_VERSION, Plan
from reconciler.policy.evaluate import evaluate
from reconciler.policy.loader import load_policy
from reconciler.policy.model import Allow
from reconciler.policy.report import META_KEY, report_data
from reconciler.render.json_doc import render_json
from reconciler.render.markdown import GITHUB_COMMENT_LIMIT, render_markdown
from reconciler.render.text import render_text
from tests.e2e.coupons import shop_doc
from tests.policy.support import NOW, TODAY, load, plan_of

POLICY = """\
rules:
  - id: face-value
    kind: max_face_value
    max_fen: 5000
    message: no coupon takes more than ¥50 off
  - id: quantity
    kind: max_quantity
    max: 5000
    severity: warn
    message: check total_num for an extra zero
freezes:
  - {name: double11-night, start: 2028-11-10T20:00:00+08:00, end: 2028-11-11T02:00:00+08:00, allow: [deactivate]}
"""


def judged(tmp_path: Path, docs: list[dict[str, object]], allows: tuple[Allow, ...] = ()) -> Plan:
    coupons = load(tmp_path, docs)
    (tmp_path / "policies.yaml").write_text(POLICY, encoding="utf-8")
    policy = load_policy(tmp_path / "policies.yaml", "manifests/policies.yaml")
    plan = plan_of(coupons)
    result = evaluate(plan, policy, _facts(coupons), allows=allows, today=TODAY)
    meta = {**plan.meta, META_KEY: report_data(policy, result, allows, NOW)}
    return replace(plan, meta=meta, format_version=POLICY_FORMAT_VERSION)  # as commands.guard.judged does


def test_text_json_and_markdown_show_the_findings(tmp_path: Path) -> None:
    plan = judged(tmp_path, [shop_doc("big", fee=6000), shop_doc("many", total_num=9000), shop_doc("fine")])
    text = render_text(plan)
    section = text[text.index("Policy (manifests/policies.yaml)") :]
    assert text.index("Policy (") > text.index("shop_coupon.big")  # after the actions
    assert section.startswith("Policy (manifests/policies.yaml): DENIED: 1 finding denies this plan (1 warning).")
    assert "  deny    face-value: no coupon takes more than ¥50 off\n          manifests/coupons.yaml:1" in section
    assert "Freeze ahead: 'double11-night' from 2028-11-10 20:00 +08:00 to 2028-11-11 02:00 +08:00" in section

    data = json.loads(render_json(plan))
    assert data["format_version"] == "1.3" and data["policy"]["denied"] is True
    deny = data["policy"]["findings"][0]
    assert (deny["rule"], deny["severity"], deny["addresses"]) == ("face-value", "deny", ["shop_coupon.big"])
    assert deny["figures"] == {"face_value_fen": 6000, "limit_fen": 5000}

    markdown = render_markdown(plan)
    assert markdown.startswith("#### Policy (manifests/policies.yaml): DENIED")
    assert "| deny | `face-value` no coupon takes more than ¥50 off | `shop_coupon.big` (manifests/coupons.yaml:1)" in (
        markdown
    )
    assert markdown.index("Policy (") < markdown.index("### couponctl plan")


def test_an_override_is_shown_with_who_and_why(tmp_path: Path) -> None:
    plan = judged(tmp_path, [shop_doc("big", fee=6000)], (Allow("face-value", "CEO-approved gift", None, "alice"),))
    assert "allowed by alice: CEO-approved gift" in render_text(plan)
    assert "allowed by alice: CEO-approved gift" in render_markdown(plan)
    assert "passed (1 allowed by override)" in render_markdown(plan)


def test_5000_coupons_with_200_findings_fit_one_comment(tmp_path: Path) -> None:
    docs = [shop_doc(f"d11-{i:04d}", fee=6000 if i < 200 else 2000) for i in range(5000)]
    plan = judged(tmp_path, docs)
    assert len(plan.meta[META_KEY]["findings"]) == 200
    markdown = render_markdown(plan)
    assert len(markdown) <= GITHUB_COMMENT_LIMIT
    assert markdown.startswith("#### Policy (manifests/policies.yaml): DENIED: 200 findings deny this plan")
    assert (
        "more findings (all in `couponctl show PLAN_FILE --format json`)" in markdown
        or markdown.count("| deny |") == 200
    )
    assert "d11-{0000..4999}" in markdown  # every changing address is still named
