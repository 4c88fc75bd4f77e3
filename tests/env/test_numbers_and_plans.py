"""Plans in an environment (decision D26): they name it (saved file, text and Markdown headers), are refused in
another, and their request numbers are the environment's own; without an environment nothing changes."""

from __future__ import annotations

import hashlib
import json

import pytest

from reconciler.errors import SavedPlanError
from reconciler.plan.model import Plan
from reconciler.plan.planfile import check_plan_environment, load_plan, save_plan
from reconciler.plan.planner import make_plan
from reconciler.plan.request_numbers import create_generation, create_request_no
from reconciler.render.markdown import render_markdown
from reconciler.render.text import render_text
from tests.plan.literals import BRAND, LINEAGE, NOW, plan_of, product, product_body, product_state, shop


def _plan(environment: str | None) -> Plan:
    """Two creates and a PATCH (lineage-numbered) of the same coupons, in `environment`."""
    changed = product_body(display_name="咖啡满100减25")
    return make_plan(
        [shop("a"), product("p"), product("q", body=changed)],
        {"product_coupon.q": product_state("q")},
        lineage=LINEAGE,
        serial=7,
        manifest_digest="9f2b" + "0" * 60,
        now=NOW,
        tool_version="0.1.0",
        default_brand_id=BRAND,
        git_commit="3e5d9a1",
        environment=environment,
    )


def _numbers(plan: Plan) -> list[str]:
    return [c.out_request_no for a in plan.actions for c in a.calls if c.out_request_no]


def test_without_an_environment_create_numbers_are_those_of_d17() -> None:
    """Unchanged for states made before environments: sha256("create" \\0 brand \\0 address \\0 gen)."""
    material = "\0".join(("create", BRAND, "product_coupon.p", "0")).encode()
    assert create_request_no(BRAND, "product_coupon.p", 0) == "cc" + hashlib.sha256(material).hexdigest()[:30]
    assert _numbers(plan_of([product("p")], [])) == [create_request_no(BRAND, "product_coupon.p", 0)]


def test_two_environments_never_share_a_request_number() -> None:
    """Same manifests, same brand, same lineage (a copied state): every number differs between environments."""
    staging, prod, none = _numbers(_plan("staging")), _numbers(_plan("prod")), _numbers(_plan(None))
    assert staging and len(staging) == len(prod) == len(none)
    assert not set(staging) & set(prod) and not set(staging) & set(none) and not set(prod) & set(none)


def test_a_create_number_is_recognised_in_its_own_environment_only() -> None:
    number = create_request_no(BRAND, "product_coupon.p", 3, "staging")
    assert create_generation(number, BRAND, "product_coupon.p", "staging") == 3
    assert create_generation(number, BRAND, "product_coupon.p", "prod") is None
    assert create_generation(number, BRAND, "product_coupon.p") is None


def test_a_plan_names_its_environment_in_the_file_and_in_both_headers() -> None:
    plan = _plan("staging")
    document = json.loads(save_plan(plan))
    assert (document["format_version"], document["plan"]["environment"]) == ("1.2", "staging")
    assert load_plan(save_plan(plan)) == plan
    assert render_text(plan).startswith("Environment: staging\n")
    assert render_markdown(plan).startswith("### couponctl plan for environment `staging`: ")


def test_a_plan_without_an_environment_keeps_its_1_1_shape() -> None:
    document = json.loads(save_plan(_plan(None)))
    assert document["format_version"] == "1.1" and "environment" not in document["plan"]
    assert "Environment" not in render_text(_plan(None))


@pytest.mark.parametrize(
    ("made", "here", "message"),
    [
        ("staging", "prod", "made for environment 'staging', but apply runs in environment 'prod'"),
        ("staging", None, "made for environment 'staging', but apply runs in no environment (--env not given)"),
        (None, "prod", "made for no environment, but apply runs in environment 'prod'"),
    ],
)
def test_a_saved_plan_is_refused_in_another_environment(made: str | None, here: str | None, message: str) -> None:
    with pytest.raises(SavedPlanError, match=message.replace("(", r"\(").replace(")", r"\)")):
        check_plan_environment(_plan(made), here)
    check_plan_environment(_plan(made), made)  # its own: accepted
