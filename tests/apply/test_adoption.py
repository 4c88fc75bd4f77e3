"""Decision D17: how request numbers and the plan keep a lost state from doubling a coupon (pure parts).

The end-to-end habits (emptied / removed state, then apply against the sandbox) are in
tests/e2e/test_state_loss_e2e.py; these pin the derivation and the planner's adoption of shop coupons.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from reconciler.apply.adoption import existing_product_error, generation_of, is_number_reuse, next_generation_call
from reconciler.apply.outcome import state_after_call
from reconciler.errors import UpstreamError
from reconciler.plan.actions import numbered_create
from reconciler.plan.adopt import adoption_candidates
from reconciler.plan.model import Action, ActionType, Call
from reconciler.plan.planner import make_plan
from reconciler.plan.request_numbers import MAX_GENERATIONS, create_generation, create_request_no
from reconciler.providers.base import CallResult
from reconciler.resources import DesiredCoupon, ResourceState
from tests.apply.world import World
from tests.apply.world import product_body as world_product_body
from tests.plan.literals import BRAND, NOW, product, product_body, product_state, shop, shop_body, shop_upstream
from tests.support.fake_provider import FakeProvider

ADDRESS = "product_coupon.coffee"


def _plan(desired: list[DesiredCoupon], state: dict[str, ResourceState], lineage: str) -> Any:
    return make_plan(
        desired, state, lineage=lineage, serial=len(state), manifest_digest="0" * 64, now=NOW,
        tool_version="0", default_brand_id=BRAND,
    )  # fmt: skip


def test_same_create_in_two_lineages_has_the_same_number() -> None:
    """A new state (new lineage, new serial) plans the very request that created the coupon."""
    first = _plan([product("coffee")], {}, "lineage-of-the-lost-state").actions[0].calls[0]
    second = _plan([product("coffee")], {}, "lineage-of-the-new-state").actions[0].calls[0]
    assert first.out_request_no == second.out_request_no == create_request_no(BRAND, ADDRESS, 0)


def test_generation_brand_and_address_change_the_number() -> None:
    numbers = {
        create_request_no(BRAND, ADDRESS, 0),
        create_request_no(BRAND, ADDRESS, 1),
        create_request_no("120345", ADDRESS, 0),
        create_request_no(BRAND, "product_coupon.tea", 0),
    }
    assert len(numbers) == 4
    assert all(6 <= len(n) <= 40 for n in numbers)
    assert create_generation(create_request_no(BRAND, ADDRESS, 5), BRAND, ADDRESS) == 5
    assert create_generation("cc" + "0" * 30, BRAND, ADDRESS) is None  # a number from before D17


def test_a_replacement_creates_the_next_generation_and_state_records_it() -> None:
    """Create-before-destroy: generation in state + 1; the landed create writes its generation to state."""
    have = replace(product_state("coffee"), extra={"generation": 2})
    other_type = {**product_body(), "out_product_no": "sku-2"}  # fixed at creation: forces replacement
    action = _plan([product("coffee", body=other_type)], {ADDRESS: have}, "l").actions[0]
    create = action.calls[0]
    assert action.type is ActionType.REPLACE
    assert create.out_request_no == create_request_no(BRAND, ADDRESS, 3)
    assert generation_of(create, ADDRESS) == 3
    result = CallResult(
        operation="product.create", upstream_id="1000000099", entity={"product_coupon_id": "1000000099"}
    )
    change = state_after_call(action, create, result, have, "2026-11-29T00:00:00Z")
    assert change.put is not None and change.put.extra["generation"] == 3
    legacy = product_state("coffee")  # a state from before D17 has no generation: replacements start at 1
    assert _plan([product("coffee", body=other_type)], {ADDRESS: legacy}, "l").actions[0].calls[
        0
    ].out_request_no == create_request_no(BRAND, ADDRESS, 1)


def test_patch_and_deactivate_numbers_are_unchanged_by_d15() -> None:
    """PATCH numbers still derive from the lineage: a state from before D17 keeps its numbers."""
    new = product_body(display_name="咖啡满100减25")
    one = _plan([product("coffee", body=new)], {ADDRESS: product_state("coffee")}, "a").actions[0].calls[0]
    two = _plan([product("coffee", body=new)], {ADDRESS: product_state("coffee")}, "b").actions[0].calls[0]
    assert one.operation == "product.patch" and one.out_request_no != two.out_request_no


def test_number_reuse_and_the_next_generation() -> None:
    mismatch = UpstreamError(
        call="product.create",
        message="使用了相同单号，但与上次请求的数据不一致",
        http_status=400,
        code="INVALID_REQUEST",
    )
    other = UpstreamError(call="product.create", message="display_info.name too long", code="INVALID_REQUEST")
    assert is_number_reuse(mismatch) and not is_number_reuse(other)
    assert is_number_reuse(UpstreamError(call="product.create", message="exists", code="ALREADY_EXISTS"))
    call = _plan([product("coffee")], {}, "l").actions[0].calls[0]
    following = next_generation_call(call, ADDRESS, 0)
    assert following is not None and following.out_request_no == create_request_no(BRAND, ADDRESS, 1)
    assert following.payload["out_request_no"] == following.out_request_no
    assert {k: v for k, v in following.payload.items() if k != "out_request_no"} == {
        k: v for k, v in call.payload.items() if k != "out_request_no"
    }
    assert next_generation_call(call, ADDRESS, MAX_GENERATIONS - 1) is None
    error = existing_product_error(mismatch, ADDRESS, call, 0)
    assert f"couponctl import {ADDRESS} <product_coupon_id> --brand-id {BRAND}" in str(error)


def _candidate(body: dict[str, Any], status: int) -> dict[str, ResourceState]:
    want = shop("d11", body=shop_body("d11"))
    return adoption_candidates([want], {}, {"d11": shop_upstream(body, status)}, "2026-11-29T00:00:00Z")


def test_a_shop_coupon_found_upstream_is_adopted_without_a_call() -> None:
    """Declared, not in state, listed upstream with the same body and status: a call-less adoption."""
    state = _candidate(shop_body("d11"), 2)
    (action,) = _plan([shop("d11", body=shop_body("d11"))], state, "l").actions
    assert action.type is ActionType.UPDATE and action.calls == ()
    assert action.before is not None and action.upstream_id == "d11"
    assert "already exists upstream" in (action.reason or "") and "adopted into state" in (action.reason or "")


def test_a_shop_coupon_found_active_with_other_content_is_blocked_with_the_import_command() -> None:
    state = _candidate(shop_body("d11", discount_fee=1500), 2)
    (action,) = _plan([shop("d11", body=shop_body("d11"))], state, "l").actions
    assert action.type is ActionType.BLOCKED
    assert "couponctl import shop_coupon.d11 d11" in (action.remedy or "")


def test_a_shop_draft_found_upstream_is_adopted_then_moved() -> None:
    """Found in status 1 while declared active: adopt, then activate (the calls of a managed coupon)."""
    state = _candidate(shop_body("d11"), 1)
    (action,) = _plan([shop("d11", body=shop_body("d11"))], state, "l").actions
    assert [c.operation for c in action.calls] == ["shop.update_status"]
    assert "adopted into state, then" in (action.reason or "")


# --- the applier against an upstream that keeps WeChat's idempotency rules (reference B.9) --------------------


class B9Product(FakeProvider):
    """The product family, refusing a known request number sent with another body (reference B.9)."""

    def __init__(self) -> None:
        super().__init__("product")
        self.bodies: dict[str, dict[str, Any]] = {}

    async def execute(self, call: Call) -> CallResult:
        number = str(call.out_request_no)
        body = {k: v for k, v in call.payload.items() if k != "out_request_no"}
        if self.bodies.setdefault(number, body) != body:
            self.sent.append(call)
            raise UpstreamError(
                call=call.operation,
                message="使用了相同单号，但与上次请求的数据不一致",
                http_status=400,
                code="INVALID_REQUEST",
            )
        return await super().execute(call)


def _worlds(tmp_path: Path) -> tuple[World, World]:
    """Two states (the lost one and the new one) over one upstream."""
    (tmp_path / "lost").mkdir()
    (tmp_path / "new").mkdir()
    lost, new = World(tmp_path / "lost"), World(tmp_path / "new")
    upstream = B9Product()
    for world in (lost, new):
        world.product = upstream
        world.providers["product"] = upstream
    return lost, new


def _create(name: str, label: str, generation: int = 0) -> Action:
    address = f"product_coupon.{name}"
    body = world_product_body(label)
    payload = numbered_create(address, BRAND, generation, {"brand_id": BRAND, **body})
    call = Call("product.create", payload, out_request_no=payload["out_request_no"])
    return Action(address, "ProductCoupon", ActionType.CREATE, None, body, calls=(call,), brand_id=BRAND)


def test_a_create_replayed_for_a_new_state_records_the_existing_coupon(tmp_path: Path) -> None:
    lost, new = _worlds(tmp_path)
    try:
        assert lost.apply(_create("p1", "a")).ok
        (first,) = lost.store.resources().values()
        report = new.apply(_create("p1", "a"))
        assert report.ok and new.product.performed("product.create") == 1  # replayed: nothing new
        (adopted,) = new.store.resources().values()
        assert adopted.upstream_id == first.upstream_id and adopted.extra["generation"] == 0
    finally:
        lost.close()
        new.close()


def test_a_create_refused_for_a_new_state_stops_with_the_import_command(tmp_path: Path) -> None:
    """Another body under the number that made a coupon this state does not know: stop, never a new number."""
    lost, new = _worlds(tmp_path)
    try:
        assert lost.apply(_create("p1", "a")).ok
        report = new.apply(_create("p1", "b"))
        (result,) = report.results
        assert result.status == "failed" and result.calls_failed == 1 and result.calls_made == 0
        assert "couponctl import product_coupon.p1 <product_coupon_id> --brand-id 120344" in (result.error or "")
        assert new.product.performed("product.create") == 1 and new.store.resources() == {}
        assert [r.outcome for r in new.history()] == ["error"]
    finally:
        lost.close()
        new.close()


def test_a_number_this_state_used_before_moves_on_to_the_next_generation(tmp_path: Path) -> None:
    """Removed (deactivated, dropped from state) and declared again with another body: the state's history shows
    the number was its own, so the create moves on to generation 1."""
    world, other = _worlds(tmp_path)
    try:
        assert world.apply(_create("p1", "a")).ok
        (first,) = world.store.resources().values()
        world.product.coupons[first.upstream_id]["state"] = "DEACTIVATED"
        world.store.remove(first.address)
        assert world.apply(_create("p1", "b")).ok
        (second,) = world.store.resources().values()
        assert second.upstream_id != first.upstream_id and second.extra["generation"] == 1
        assert world.product.performed("product.create") == 2
    finally:
        world.close()
        other.close()


def test_a_replay_of_a_deactivated_coupon_moves_on_to_the_next_generation(tmp_path: Path) -> None:
    lost, new = _worlds(tmp_path)
    try:
        assert lost.apply(_create("p1", "a")).ok
        (first,) = lost.store.resources().values()
        new.product.coupons[first.upstream_id]["state"] = "DEACTIVATED"
        assert new.apply(_create("p1", "a")).ok
        (current,) = new.store.resources().values()
        assert current.upstream_id != first.upstream_id and current.extra["generation"] == 1
        assert [r.outcome for r in new.history()] == ["ok", "replayed DEACTIVATED: next generation", "ok"]
        assert new.product.performed("product.create") == 2
    finally:
        lost.close()
        new.close()
