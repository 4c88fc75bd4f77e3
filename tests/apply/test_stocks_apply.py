"""Stock and bundle calls through the applier and settle (decision D29), on the in-memory upstream and a real SQLite
state: ids a plan cannot know are taken from the resource the previous call left; every call is journalled with its
stock's name and id, so a crash between a call and its record is settled with the same number and no second effect;
a replaced stock stays deposed until its deactivation lands."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import pytest

from reconciler.plan.model import Action, ActionType, Call
from reconciler.plan.request_numbers import create_request_no, stock_add_request_no
from reconciler.resources import ResourceState
from tests.apply.world import BRAND, MAX_ATTEMPTS, NOW, World, product_body
from tests.support.fake_provider import Crash

ADDRESS = "product_coupon.p1"


def stock(max_count: int = 1000, remark: str = "main", per_user: int = 1) -> dict[str, Any]:
    return {
        "remark": remark,
        "coupon_code_mode": "WECHATPAY",
        "stock_send_rule": {"max_count": max_count, "max_count_per_user": per_user},
    }


def stock_body(max_count: int = 1000, remark: str = "main", per_user: int = 1) -> dict[str, Any]:
    """An add-stock body without its request fields (reference B.4: `{out_request_no, brand_id, stock}`)."""
    return {"stock": stock(max_count, remark, per_user)}


def live_coupon(world: World) -> ResourceState:
    """A product coupon with its `main` stock, both upstream (in the fake) and in state, as a create leaves them."""
    created = asyncio.run(
        world.product.execute(world.product_call(ADDRESS, "create", "product.create", product_body("p1")))
    )
    coupon_id = str(created.upstream_id)
    added = asyncio.run(
        world.product.execute(
            world.product_call(ADDRESS, "add-main", "product.stock.add", stock_body(), target=coupon_id)
        )
    )
    stock = dict(added.entity or {})
    upstream = {**(created.entity or {}), "stocks": {"main": stock}}
    resource = ResourceState(ADDRESS, "ProductCoupon", coupon_id, upstream, "d0", brand_id=BRAND, created_at=NOW)
    world.store.put(resource)
    world.product.effects.clear()
    world.product.sent.clear()
    return resource


def update(world: World, previous: ResourceState, *calls: Call) -> Action:
    return Action(
        ADDRESS, "ProductCoupon", ActionType.UPDATE, previous.upstream, {}, calls=calls,
        upstream_id=previous.upstream_id, desired_digest="d1", brand_id=BRAND,
    )  # fmt: skip


def budget_call(world: World, current: int, target: int, *, stock_id: str | None = None) -> Call:
    body = {"update_mode": "MAX_COUNT", "current_max_count": current, "target_max_count": target}
    return world.product_call(
        ADDRESS, f"budget-{target}", "product.stock.update_budget", body, stock_name="main", stock_id=stock_id
    )


def stocks_of(world: World) -> dict[str, Any]:
    resource = world.store.get(ADDRESS)
    assert resource is not None
    return dict(resource.upstream["stocks"])


def test_a_new_coupon_with_two_stocks_adds_the_second_to_the_coupon_the_create_made(world: World) -> None:
    """A CREATE action: product.create, then product.stock.add with target None; the add goes to the new coupon and
    its answer is recorded under the stock's name."""
    create = world.product_call(ADDRESS, "create", "product.create", product_body("p1"))
    add = world.product_call(
        ADDRESS, "add-weekend", "product.stock.add", stock_body(remark="周末"), stock_name="weekend"
    )
    action = Action(ADDRESS, "ProductCoupon", ActionType.CREATE, None, {}, calls=(create, add), brand_id=BRAND)
    assert world.apply(action).ok
    resource = world.store.get(ADDRESS)
    assert resource is not None
    sent_add = [c for c in world.product.sent if c.operation == "product.stock.add"]
    assert [c.target for c in sent_add] == [resource.upstream_id]
    weekend = resource.upstream["stocks"]["weekend"]
    assert weekend["remark"] == "周末" and weekend["state"] == "SENDING"
    assert weekend["stock_id"] in world.product.stocks and "out_request_no" not in weekend


def test_a_budget_raise_resolves_the_stock_id_from_state_and_records_the_new_figure(world: World) -> None:
    """update_budget with stock_id None takes the id of `stocks.main` in state; state then holds max_count 5000 and
    the answer's counters; one call, one effect."""
    previous = live_coupon(world)
    stock_id = previous.upstream["stocks"]["main"]["stock_id"]
    assert world.apply(update(world, previous, budget_call(world, 1000, 5000))).ok
    [sent] = world.product.sent
    assert (sent.target, sent.stock_id) == (previous.upstream_id, stock_id)
    main = stocks_of(world)["main"]
    assert main["stock_send_rule"]["max_count"] == 5000 and main["stock_id"] == stock_id
    assert main["sent_count_info"] == {"total_sent_count": 0, "today_sent_count": 0}
    assert world.product.stocks[stock_id]["stock_send_rule"]["max_count"] == 5000


def test_a_budget_call_killed_before_its_record_is_settled_without_a_second_change(world: World) -> None:
    """The budget change landed and the process died: settle re-sends the same number (the journal keeps the
    stock's id and name in the intent), upstream replays the first answer, state records 5000; one effect only."""
    previous = live_coupon(world)
    world.product.script("product.stock.update_budget", "crash")
    call = budget_call(world, 1000, 5000)
    with pytest.raises(Crash):
        asyncio.run(world.applier().apply(world.plan(update(world, previous, call))))
    world.reopen()
    [intent] = world.store.open_intents()
    assert intent.target is not None and intent.target.endswith("#main")
    assert [(s.operation, s.outcome) for s in world.settle()] == [("product.stock.update_budget", "re-sent")]
    assert world.product.performed("product.stock.update_budget") == 1
    first, second = world.product.sent
    assert first.out_request_no == second.out_request_no == call.out_request_no
    assert second.stock_id == first.stock_id and second.stock_name == "main"
    assert stocks_of(world)["main"]["stock_send_rule"]["max_count"] == 5000
    assert world.store.open_intents() == []


def test_a_stock_add_killed_before_its_record_is_replayed_into_one_stock(world: World) -> None:
    """Replay of a product.stock.add: the second send answers the first stock; one stock upstream, recorded."""
    previous = live_coupon(world)
    world.product.script("product.stock.add", "crash")
    add = world.product_call(
        ADDRESS, "add-weekend", "product.stock.add", stock_body(remark="周末"),
        target=previous.upstream_id, stock_name="weekend",
    )  # fmt: skip
    with pytest.raises(Crash):
        asyncio.run(world.applier().apply(world.plan(update(world, previous, add))))
    world.reopen()
    assert [s.outcome for s in world.settle()] == ["re-sent"]
    assert world.product.performed("product.stock.add") == 1
    added = [s for s in world.product.stocks.values() if s.get("remark") == "周末"]
    assert len(added) == 1
    assert stocks_of(world)["weekend"]["stock_id"] == added[0]["stock_id"]


def test_a_removed_stock_leaves_state_when_its_deactivation_lands(world: World) -> None:
    previous = live_coupon(world)
    add = world.product_call(
        ADDRESS, "add-weekend", "product.stock.add", stock_body(remark="周末"),
        target=previous.upstream_id, stock_name="weekend",
    )  # fmt: skip
    assert world.apply(update(world, previous, add)).ok
    with_weekend = world.store.get(ADDRESS)
    assert with_weekend is not None and set(stocks_of(world)) == {"main", "weekend"}
    weekend_id = stocks_of(world)["weekend"]["stock_id"]
    gone = world.product_call(
        ADDRESS, "deactivate-weekend", "product.stock.deactivate", {"deactivate_reason": "removed"},
        target=previous.upstream_id, stock_name="weekend", stock_id=weekend_id,
    )  # fmt: skip
    assert world.apply(update(world, with_weekend, gone)).ok
    assert set(stocks_of(world)) == {"main"}
    assert world.product.stocks[weekend_id]["state"] == "DEACTIVATED"


def replacement(world: World, previous: ResourceState) -> Action:
    """A stock replaced create-before-destroy: a new `main` (max_count_per_user changed), then the old one off."""
    old_id = previous.upstream["stocks"]["main"]["stock_id"]
    add = world.product_call(ADDRESS, "add-main-2", "product.stock.add", stock_body(per_user=2), stock_name="main")
    off = world.product_call(
        ADDRESS, f"deactivate-{old_id}", "product.stock.deactivate", {"deactivate_reason": "replaced"},
        stock_name="main", stock_id=old_id, role="old",
    )  # fmt: skip
    return update(world, previous, add, off)


def test_a_stock_replacement_keeps_the_old_stock_deposed_until_settle_deactivates_it(world: World) -> None:
    """The add landed, the old stock's deactivation did not: state points `main` at the new stock and keeps the
    old id in `deposed_stocks`; settle deactivates it once and drops the marker."""
    previous = live_coupon(world)
    old_id = previous.upstream["stocks"]["main"]["stock_id"]
    world.product.script("product.stock.deactivate", "refuse")
    report = world.apply(replacement(world, previous))
    assert [r.status for r in report.results] == ["partial"]
    resource = world.store.get(ADDRESS)
    assert resource is not None
    new_id = resource.upstream["stocks"]["main"]["stock_id"]
    assert new_id != old_id
    assert resource.extra["deposed_stocks"] == [{"name": "main", "id": old_id, "family": "stock"}]
    world.reopen()
    settled = world.settle()
    assert [(s.operation, s.outcome) for s in settled] == [
        ("product.stock.deactivate", f"deactivated deposed stock {old_id}")
    ]
    assert world.product.stocks[old_id]["state"] == "DEACTIVATED"
    assert world.product.stocks[new_id]["state"] == "SENDING"
    resource = world.store.get(ADDRESS)
    assert resource is not None and "deposed_stocks" not in resource.extra
    assert resource.upstream["stocks"]["main"]["stock_id"] == new_id
    assert world.settle() == []


def test_a_whole_stock_replacement_leaves_one_live_stock_and_no_marker(world: World) -> None:
    previous = live_coupon(world)
    assert world.apply(replacement(world, previous)).ok
    resource = world.store.get(ADDRESS)
    assert resource is not None and "deposed_stocks" not in resource.extra
    live = [s for s in world.product.stocks.values() if s["state"] == "SENDING"]
    assert [s["stock_id"] for s in live] == [resource.upstream["stocks"]["main"]["stock_id"]]
    assert resource.upstream["stocks"]["main"]["stock_send_rule"]["max_count_per_user"] == 2


def test_transient_budget_failures_are_retried_with_the_same_number(world: World) -> None:
    previous = live_coupon(world)
    world.product.script("product.stock.update_budget", "transient", times=MAX_ATTEMPTS - 1)
    assert world.apply(update(world, previous, budget_call(world, 1000, 5000))).ok
    numbers = {c.out_request_no for c in world.product.sent}
    assert len(world.product.sent) == MAX_ATTEMPTS and len(numbers) == 1
    assert world.product.performed("product.stock.update_budget") == 1


def test_a_stock_call_without_a_known_stock_id_fails_naming_the_stock_and_refresh(world: World) -> None:
    previous = live_coupon(world)
    call = world.product_call(ADDRESS, "patch-x", "product.stock.patch", {"remark": "x"}, stock_name="nowhere")
    report = world.apply(update(world, previous, call))
    [result] = report.results
    assert result.status == "failed" and result.error is not None
    assert "nowhere" in result.error and "couponctl refresh" in result.error and ADDRESS in result.error
    assert world.product.sent == []


def test_an_add_records_the_generation_its_number_was_derived_for(world: World) -> None:
    """The planner numbers a name's next add from `extra.stock_generations` (decision D29): apply records the
    generation the add's number encodes (here 3, on a coupon of generation 2)."""
    previous = live_coupon(world)
    world.store.put(replace(previous, extra={"generation": 2}))
    number = stock_add_request_no(BRAND, ADDRESS, "weekend", 2, 3)
    add = Call(
        "product.stock.add", {"out_request_no": number, "brand_id": BRAND, **stock_body(remark="周末")},
        previous.upstream_id, number, stock_name="weekend",
    )  # fmt: skip
    assert world.apply(update(world, previous, add)).ok
    resource = world.store.get(ADDRESS)
    assert resource is not None and resource.extra["stock_generations"] == {"weekend": 3}
    assert resource.upstream["stocks"]["weekend"]["remark"] == "周末"


def got(world: World) -> ResourceState:
    resource = world.store.get(ADDRESS)
    assert resource is not None
    return resource


def bundle_coupon(world: World) -> ResourceState:
    """A PROGRESSIVE_BUNDLE coupon with its `main` bundle (two step stocks) in state, as apply records it."""
    previous = live_coupon(world)
    body = {"stock_bundle": {"remark": "阶梯", "stock_send_rule": {"max_count": 100, "max_count_per_user": 1}}}
    add = world.product_call(ADDRESS, "add-bundle", "product.bundle.add", body, stock_name="main")
    upstream = {k: v for k, v in previous.upstream.items() if k != "stocks"}
    bundle_state = replace(previous, upstream=upstream)
    world.store.put(bundle_state)
    assert world.apply(update(world, bundle_state, add)).ok
    resource = world.store.get(ADDRESS)
    assert resource is not None
    world.product.sent.clear()
    return resource


def test_a_bundle_budget_raise_and_a_bundle_replacement_deposing_its_steps(world: World) -> None:
    """Bundle calls take the bundle id from state; a bundle replaced under the same name keeps the old one's step
    stocks deposed until each is deactivated (no API deactivates a bundle); settle finishes the job."""
    resource = bundle_coupon(world)
    main = resource.upstream["stock_bundles"]["main"]
    old_id, steps = main["stock_bundle_id"], [s["stock_id"] for s in main["stock_list"]]
    raise_call = world.product_call(
        ADDRESS, "bundle-budget", "product.bundle.update_budget",
        {"update_mode": "MAX_COUNT", "current_max_count": 100, "target_max_count": 300}, stock_name="main",
    )  # fmt: skip
    assert world.apply(update(world, resource, raise_call)).ok
    assert [c.stock_id for c in world.product.sent] == [old_id]
    resource = got(world)
    assert resource.upstream["stock_bundles"]["main"]["stock_send_rule"]["max_count"] == 300
    body = {"stock_bundle": {"remark": "新阶梯", "stock_send_rule": {"max_count": 300, "max_count_per_user": 2}}}
    add = world.product_call(ADDRESS, "add-bundle-2", "product.bundle.add", body, stock_name="main")
    first_off = world.product_call(
        ADDRESS, f"off-{steps[0]}", "product.stock.deactivate", {"deactivate_reason": "replaced"},
        stock_name="main", stock_id=steps[0], role="old",
    )  # fmt: skip
    world.product.script("product.stock.deactivate", "ok", "refuse")
    second_off = replace(
        first_off,
        stock_id=steps[1],
        out_request_no="n-second",
        payload={**first_off.payload, "out_request_no": "n-second"},
    )
    report = world.apply(update(world, resource, add, first_off, second_off))
    assert [r.status for r in report.results] == ["partial"]
    resource = got(world)
    assert resource.extra["deposed_stocks"] == [{"name": "main", "id": old_id, "family": "bundle", "steps": [steps[1]]}]
    assert resource.upstream["stock_bundles"]["main"]["remark"] == "新阶梯"
    world.reopen()
    assert [s.outcome for s in world.settle()] == [f"deactivated deposed stock {steps[1]}"]
    assert [world.product.stocks[s]["state"] for s in steps] == ["DEACTIVATED", "DEACTIVATED"]
    assert "deposed_stocks" not in got(world).extra


def test_a_create_replayed_as_a_deactivated_coupon_adds_its_stocks_to_the_next_generation(world: World) -> None:
    """Decision D17 with stocks (D29): a lost state re-plans a coupon whose earlier generation was deactivated; the
    create replays that coupon, so it is checked at once (stocks are added next) and the create moves on to the next
    generation; the stock goes to the new coupon."""
    number = create_request_no(BRAND, ADDRESS, 0)
    body = {"out_request_no": number, "brand_id": BRAND, **product_body("p1")}
    create = Call("product.create", body, out_request_no=number)
    old = asyncio.run(world.product.execute(create))
    world.product.coupons[str(old.upstream_id)]["state"] = "DEACTIVATED"
    add = world.product_call(
        ADDRESS, "add-weekend", "product.stock.add", stock_body(remark="周末"), stock_name="weekend"
    )
    action = Action(ADDRESS, "ProductCoupon", ActionType.CREATE, None, {}, calls=(create, add), brand_id=BRAND)
    assert world.apply(action).ok
    resource = got(world)
    assert resource.upstream_id != old.upstream_id and resource.extra["generation"] == 1
    [sent_add] = [c for c in world.product.sent if c.operation == "product.stock.add"]
    assert sent_add.target == resource.upstream_id
    assert resource.upstream["stocks"]["weekend"]["product_coupon_id"] == resource.upstream_id


def test_a_create_killed_before_its_record_is_settled_under_its_first_stocks_own_name(world: World) -> None:
    """The create's intent remembers the name of the stock it sends (the desired body's first entry, `daily` here),
    so settle records the replayed answer under `daily`, not under `main` (which the next plan would deactivate
    while adding `daily` again)."""
    body = {**product_body("p1"), "stocks": {"daily": stock(remark="daily")}}
    create = world.product_call(
        ADDRESS, "create", "product.create", {**product_body("p1"), "stock": stock(remark="daily")}
    )
    action = Action(ADDRESS, "ProductCoupon", ActionType.CREATE, None, body, calls=(create,), brand_id=BRAND)
    world.product.script("product.create", "crash")
    with pytest.raises(Crash):
        asyncio.run(world.applier().apply(world.plan(action)))
    world.reopen()
    [intent] = world.store.open_intents()
    assert intent.target == "#daily"
    assert [s.outcome for s in world.settle()] == ["re-sent"]
    assert set(stocks_of(world)) == {"daily"} and stocks_of(world)["daily"]["remark"] == "daily"
    assert world.product.performed("product.create") == 1
