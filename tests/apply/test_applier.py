"""The applier, call by call, against in-memory upstreams and a real SQLite state (contract §2.4): every outcome a
call can have (landed, refused, transient then landed, answer lost, transient until attempts run out, process dead
between call and record) and what each leaves in upstream, state, journal and history."""

from __future__ import annotations

import asyncio

import pytest

from tests.apply.world import MAX_ATTEMPTS, World, shop_create
from tests.support.fake_provider import Crash


def test_a_landed_product_create_is_recorded_with_the_id_upstream_gave(world: World) -> None:
    """One create, one coupon upstream; state holds its product_coupon_id, the journal is empty, history has the
    call with its request number and Request-ID."""
    action = world.product_create("p1")
    report = world.apply(action)
    assert report.ok and report.calls == 1
    assert [r.status for r in report.results] == ["applied"]
    [coupon_id] = world.product.coupons
    resource = world.store.get("product_coupon.p1")
    assert resource is not None
    assert (resource.upstream_id, resource.upstream["state"]) == (coupon_id, "EFFECTIVE")
    assert resource.desired_digest == "d-p1"
    assert world.store.open_intents() == []
    [record] = world.history()
    number = action.calls[0].out_request_no
    assert (record.operation, record.outcome, record.out_request_no, record.request_id) == (
        "product.create", "ok", number, f"req-{coupon_id}",
    )  # fmt: skip


def test_a_landed_shop_create_adds_then_activates(world: World) -> None:
    """add then update_status(2): upstream and state both hold the coupon active, two history records."""
    report = world.apply(shop_create("s1"))
    assert report.ok and report.calls == 2
    assert world.shop.coupons["s1"]["status"] == 2
    resource = world.store.get("shop_coupon.s1")
    assert resource is not None and resource.upstream["status"] == 2
    assert [(r.operation, r.outcome) for r in world.history()] == [("shop.add", "ok"), ("shop.update_status", "ok")]
    assert world.store.open_intents() == []


def test_a_refused_call_is_recorded_as_an_error_and_stops_the_run(world: World) -> None:
    """A business error (HTTP 400 PARAM_ERROR) is not retried: the action fails naming its address, the intent is
    closed with an error record, nothing reaches state, and no further action starts."""
    world.product.script("product.create", "refuse")
    report = world.apply(world.product_create("p1"), world.product_create("p2"))
    failed, not_started = report.results
    assert (failed.address, failed.status, not_started.status) == ("product_coupon.p1", "failed", "not_started")
    assert failed.error is not None and "product_coupon.p1" in failed.error and "PARAM_ERROR" in failed.error
    assert report.stopped_by == failed.error
    assert len(world.product.sent) == 1 and world.product.effects == []
    assert world.sleeps == []
    assert world.store.resources() == {} and world.store.open_intents() == []
    [record] = world.history()
    assert (record.outcome, record.http_status, record.code) == ("error", 400, "PARAM_ERROR")


def test_a_transient_error_then_success_lands_once_after_a_backoff(world: World) -> None:
    """A 500 before anything happened upstream is retried after the backoff; the create lands once."""
    world.product.script("product.create", "transient")
    report = world.apply(world.product_create("p1"))
    assert report.ok
    assert (len(world.product.sent), world.product.performed("product.create")) == (2, 1)
    assert world.pacer.retries == 1 and world.sleeps == [0.5]
    assert world.store.get("product_coupon.p1") is not None and world.store.open_intents() == []


def test_a_lost_answer_is_resent_with_the_same_request_number_and_lands_once(world: World) -> None:
    """The create landed but its answer was lost: the retry carries the same out_request_no, upstream replays the
    first answer (B.9), and there is still exactly one coupon, the one state records."""
    world.product.script("product.create", "lost_answer")
    report = world.apply(world.product_create("p1"))
    assert report.ok
    first, second = world.product.sent
    assert first.out_request_no == second.out_request_no
    assert world.product.performed("product.create") == 1
    [coupon_id] = world.product.coupons
    resource = world.store.get("product_coupon.p1")
    assert resource is not None and resource.upstream_id == coupon_id


def test_a_shop_call_whose_answer_was_lost_is_read_back_not_sent_twice(world: World) -> None:
    """Shop calls have no request number (D5): after a transient failure the applier reads the coupon back and,
    finding the add landed, does not add it again; the activation follows."""
    world.shop.script("shop.add", "lost_answer")
    report = world.apply(shop_create("s1"))
    assert report.ok
    assert [c.operation for c in world.shop.sent] == ["shop.add", "shop.update_status"]
    assert world.shop.reads == ["s1"]
    assert world.shop.coupons["s1"]["status"] == 2
    resource = world.store.get("shop_coupon.s1")
    assert resource is not None and resource.upstream["status"] == 2


def test_transient_errors_until_attempts_run_out_leave_the_intent_open(world: World) -> None:
    """Outcome unknown after the last attempt: the action fails, nothing is recorded as done, and the intent stays
    open (with its request number) for the next apply to settle."""
    world.product.script("product.create", "transient", times=MAX_ATTEMPTS)
    action = world.product_create("p1")
    report = world.apply(action)
    [result] = report.results
    assert result.status == "failed" and result.error is not None and "system busy" in result.error
    assert len(world.product.sent) == MAX_ATTEMPTS and world.sleeps == [0.5, 1.0]
    assert world.store.resources() == {} and world.history() == []
    [intent] = world.store.open_intents()
    assert (intent.address, intent.operation, intent.out_request_no) == (
        "product_coupon.p1", "product.create", action.calls[0].out_request_no,
    )  # fmt: skip


def test_a_second_call_running_out_of_attempts_leaves_the_action_partly_applied(world: World) -> None:
    """The add landed and is recorded; the activation's outcome is unknown: "partial", state holds the draft, and
    the activation's intent is open."""
    world.shop.script("shop.update_status", "transient", times=MAX_ATTEMPTS)
    report = world.apply(shop_create("s1"))
    [result] = report.results
    assert (result.status, result.calls_made, result.calls_planned) == ("partial", 1, 2)
    resource = world.store.get("shop_coupon.s1")
    assert resource is not None and resource.upstream["status"] == 1
    assert [i.operation for i in world.store.open_intents()] == ["shop.update_status"]


def test_a_crash_between_call_and_record_leaves_upstream_changed_and_the_intent_open(world: World) -> None:
    """The process dies after upstream performed the create and before its result was committed: upstream has the
    coupon, state does not, and the intent is the only trace (test_settle.py shows the next apply resolving it)."""
    world.product.script("product.create", "crash")
    with pytest.raises(Crash):
        asyncio.run(world.applier().apply(world.plan(world.product_create("p1"))))
    assert world.product.performed("product.create") == 1
    assert world.store.resources() == {} and world.history() == []
    assert [i.operation for i in world.store.open_intents()] == ["product.create"]
