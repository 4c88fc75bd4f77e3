"""Settling what an interrupted apply left behind (contract §2.4, decisions D4 and D5), on in-memory upstreams and a
real SQLite state: each leftover is produced by a real apply that failed or "died" (a `Crash` raised by the fake
after upstream performed the call), then settled by a fresh store and applier, as the next process would."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from reconciler.errors import UpstreamError
from reconciler.plan.model import Action
from reconciler.resources import ResourceState
from tests.apply.world import BRAND, MAX_ATTEMPTS, NOW, World, product_body, shop_create
from tests.support.fake_provider import Crash


def crash(world: World, *actions: Action) -> None:
    """Apply `actions`, expecting the process to die, then come back as a new process."""
    with pytest.raises(Crash):
        asyncio.run(world.applier().apply(world.plan(*actions)))
    world.reopen()


def test_a_product_create_crashed_before_its_record_is_resent_and_recorded_exactly_once(world: World) -> None:
    """The create landed, the process died before recording it. Settle re-sends the same body and out_request_no;
    upstream replays its first answer, so there is one coupon, state records it, the journal is empty."""
    world.product.script("product.create", "crash")
    action = world.product_create("p1")
    crash(world, action)
    crashed_run = world.run_id
    settled = world.settle()
    assert [(s.address, s.operation, s.outcome) for s in settled] == [
        ("product_coupon.p1", "product.create", "re-sent")
    ]
    assert [c.out_request_no for c in world.product.sent] == [action.calls[0].out_request_no] * 2
    assert world.product.performed("product.create") == 1
    [coupon_id] = world.product.coupons
    resource = world.store.get("product_coupon.p1")
    assert resource is not None and resource.upstream_id == coupon_id and resource.brand_id == BRAND
    assert world.store.open_intents() == []
    assert world.history() == []  # the settle run itself made no new journalled call
    [record] = world.history(crashed_run)
    assert (record.outcome, record.out_request_no) == ("settled", action.calls[0].out_request_no)


def test_a_product_call_that_never_landed_is_performed_by_settle(world: World) -> None:
    """Attempts ran out before the create reached upstream: settle's re-send is the one that lands."""
    world.product.script("product.create", "transient", times=MAX_ATTEMPTS)
    assert not world.apply(world.product_create("p1")).ok
    world.reopen()
    assert [s.outcome for s in world.settle()] == ["re-sent"]
    assert world.product.performed("product.create") == 1
    assert world.store.get("product_coupon.p1") is not None and world.store.open_intents() == []


def test_a_refused_resend_is_raised_with_its_address_and_the_intent_stays_open(world: World) -> None:
    """Settle cannot close an intent upstream refuses: it raises naming the address, and keeps the journal entry."""
    world.product.script("product.create", "transient", times=MAX_ATTEMPTS)
    world.product.script("product.create", "refuse")
    world.apply(world.product_create("p1"))
    world.reopen()
    with pytest.raises(UpstreamError, match="PARAM_ERROR") as info:
        world.settle()
    assert info.value.address == "product_coupon.p1"
    assert len(world.store.open_intents()) == 1 and world.store.resources() == {}


def test_a_shop_add_crashed_before_its_record_is_read_back_not_added_again(world: World) -> None:
    """D5: shop calls have no request number, so settle reads the coupon back by out_coupon_id and records what
    upstream holds; nothing is sent again (the next plan proposes the activation that is still missing)."""
    world.shop.script("shop.add", "crash")
    crash(world, shop_create("s1"))
    assert [(s.address, s.outcome) for s in world.settle()] == [("shop_coupon.s1", "landed")]
    assert [c.operation for c in world.shop.sent] == ["shop.add"] and world.shop.reads == ["s1"]
    resource = world.store.get("shop_coupon.s1")
    assert resource is not None and resource.upstream == world.shop.coupons["s1"]
    assert resource.upstream["status"] == 1 and resource.desired_digest == ""
    assert world.store.open_intents() == []


def test_an_open_shop_intent_whose_call_never_landed_is_closed_as_not_landed(world: World) -> None:
    """D5, the other way: the add never reached upstream; settle finds nothing, records that, and closes the intent
    without sending (the next plan adds the coupon)."""
    world.shop.script("shop.add", "transient", times=MAX_ATTEMPTS)
    world.apply(shop_create("s1"))
    world.reopen()
    assert [s.outcome for s in world.settle()] == ["not landed"]
    assert world.shop.coupons == {} and len(world.shop.sent) == MAX_ATTEMPTS
    assert world.store.resources() == {} and world.store.open_intents() == []


def created(world: World, name: str, label: str) -> ResourceState:
    assert world.apply(world.product_create(name, label)).ok
    resource = world.store.get(f"product_coupon.{name}")
    assert resource is not None
    return resource


def deposed_leftover(world: World) -> tuple[str, str]:
    """State as a replacement leaves it when the process dies after the new coupon's create was recorded and
    before the old coupon's deactivation was journalled: the address points at the new coupon, the old one is
    `extra.deposed`, both live upstream. Returns (old id, new id)."""
    old = created(world, "p1", "old label")
    new = created(world, "p1-next", "new label")
    world.store.remove(new.address)
    deposed = {"product_coupon_id": old.upstream_id, "brand_id": BRAND}
    world.store.put(replace(new, address=old.address, extra={"deposed": deposed}, updated_at=NOW))
    world.reopen()
    return old.upstream_id, new.upstream_id


def test_a_deposed_coupon_is_deactivated_by_settle(world: World) -> None:
    """D4: settle deactivates the deposed coupon (role "old": the address keeps the new one) and drops the marker."""
    old_id, new_id = deposed_leftover(world)
    settled = world.settle()
    assert [(s.address, s.operation, s.outcome) for s in settled] == [
        ("product_coupon.p1", "product.deactivate", f"deactivated deposed {old_id}")
    ]
    assert world.product.coupons[old_id]["state"] == "DEACTIVATED"
    assert world.product.coupons[new_id]["state"] == "EFFECTIVE"
    resource = world.store.get("product_coupon.p1")
    assert resource is not None and resource.upstream_id == new_id and "deposed" not in resource.extra
    assert world.store.open_intents() == []
    [record] = world.history()
    assert (record.operation, record.outcome) == ("product.deactivate", "ok")


def test_settle_dying_after_the_deposed_deactivation_landed_does_not_deactivate_twice(world: World) -> None:
    """D4 with a crash inside settle: the deactivation landed, settle died before recording it. The next settle
    re-sends it with the same request number (derived from the lineage, kept in the journal), upstream replays the
    first answer, and the deposed marker goes: one deactivation, nothing left open."""
    old_id, new_id = deposed_leftover(world)
    world.product.script("product.deactivate", "crash")
    with pytest.raises(Crash):
        world.settle()
    world.reopen()
    assert [(s.operation, s.outcome) for s in world.settle()] == [("product.deactivate", "re-sent")]
    first, second = [c for c in world.product.sent if c.operation == "product.deactivate"]
    assert first.out_request_no == second.out_request_no and first.target == old_id
    assert world.product.performed("product.deactivate") == 1
    resource = world.store.get("product_coupon.p1")
    assert resource is not None and resource.upstream_id == new_id and "deposed" not in resource.extra
    assert world.store.open_intents() == [] and world.settle() == []


def test_an_interrupted_replacement_is_finished_by_settle_with_one_deactivation(world: World) -> None:
    """The whole D4 path through the applier: create-before-destroy whose deactivation's outcome is unknown leaves
    the new coupon in state, the old one deposed and the deactivation's intent open; settle deactivates the old
    coupon once and drops the marker, and upstream holds one live coupon."""
    old = created(world, "p1", "old label")
    world.product.script("product.deactivate", "transient", times=MAX_ATTEMPTS)
    report = world.apply(world.product_replace(old, "new label"))
    assert [r.status for r in report.results] == ["partial"]
    current = world.store.get("product_coupon.p1")
    assert current is not None and current.extra["deposed"]["product_coupon_id"] == old.upstream_id
    world.reopen()
    assert [(s.operation, s.outcome) for s in world.settle()] == [("product.deactivate", "re-sent")]
    assert world.product.performed("product.deactivate") == 1
    live = [c for c in world.product.coupons.values() if c["state"] != "DEACTIVATED"]
    assert [c["product_coupon_id"] for c in live] == [current.upstream_id]
    assert live[0]["display_info"] == product_body("new label")["display_info"]
    resource = world.store.get("product_coupon.p1")
    assert resource is not None and "deposed" not in resource.extra and world.store.open_intents() == []
