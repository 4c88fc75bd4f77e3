"""The applier and settle with image uploads (decision D33): the URL is recorded at once, later calls get it in place
of the placeholder, the journal keeps the placeholder, another action's upload is waited for, and a crash after the
upload leaves an intent that settle closes without re-sending."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import replace
from typing import Any

from reconciler.errors import UpstreamError
from reconciler.plan.images import placeholder, upload_call
from reconciler.plan.model import Action, Call
from reconciler.providers.base import CallResult
from tests.apply.world import World
from tests.support.fake_provider import Crash

SHA = "ab" * 32
REF = {"path": "images/d11.png", "sha256": SHA, "size": 1234}


class Uploading:
    """Wraps the product fake: answers uploads with a URL by content (or as scripted), the rest as before."""

    def __init__(self, world: World, outcome: str = "ok") -> None:
        self.inner = world.product
        self.outcome = outcome
        self.uploads: list[Call] = []
        self.seen: list[Call] = []
        world.providers["product"] = self  # type: ignore[assignment]

    async def execute(self, call: Call) -> CallResult:
        self.seen.append(call)
        if call.operation != "product.media.upload":
            return await self.inner.execute(call)
        await asyncio.sleep(0)  # let other actions run meanwhile
        self.uploads.append(call)
        if self.outcome == "refuse":
            raise UpstreamError(call=call.operation, message="invalid image", http_status=400, code="PARAM_ERROR")
        if self.outcome == "crash":
            raise Crash(call.operation)
        return CallResult(call.operation, None, {"image_url": f"https://img.test/{SHA}.png"}, request_id="RID-UP")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def with_image(world: World, name: str, *, upload: bool = True) -> Action:
    action = world.product_create(name)
    create = action.calls[0]
    payload = dict(create.payload)
    payload["display_info"] = {**payload["display_info"], "image_url": placeholder(SHA)}
    calls = ((upload_call(REF),) if upload else ()) + (replace(create, payload=payload),)
    return replace(action, calls=calls)


def test_an_upload_is_recorded_and_the_create_sends_its_url(world: World) -> None:
    fake = Uploading(world)
    report = world.apply(with_image(world, "p1"))
    assert report.ok and report.calls == 2
    asset = world.store.assets()[SHA]
    assert (asset.url, asset.size, asset.request_id) == (f"https://img.test/{SHA}.png", 1234, "RID-UP")
    create = next(c for c in fake.seen if c.operation == "product.create")
    assert create.payload["display_info"]["image_url"] == asset.url
    resource = world.store.get("product_coupon.p1")
    assert resource is not None and resource.upstream["display_info"]["image_url"] == asset.url
    assert [r.operation for r in world.history()] == ["product.media.upload", "product.create"]


def test_a_second_coupon_waits_for_the_upload_another_action_makes(world: World) -> None:
    fake = Uploading(world)
    report = world.apply(with_image(world, "p1"), with_image(world, "p2", upload=False), parallelism=4)
    assert report.ok and len(fake.uploads) == 1
    for address in ("product_coupon.p1", "product_coupon.p2"):
        resource = world.store.get(address)
        assert resource is not None and resource.upstream["display_info"]["image_url"].startswith("https://img.test")


def test_when_the_upload_fails_the_coupon_needing_it_is_not_sent(world: World) -> None:
    fake = Uploading(world, "refuse")
    report = world.apply(with_image(world, "p1"), with_image(world, "p2", upload=False), parallelism=4)
    assert [r.status for r in report.results] == ["failed", "not_started"]
    assert [c.operation for c in fake.seen] == ["product.media.upload"]
    assert world.store.assets() == {} and world.store.resources() == {}


def test_an_unknown_image_is_never_sent_as_a_placeholder(world: World) -> None:
    fake = Uploading(world)
    report = world.apply(with_image(world, "p1", upload=False))
    (result,) = report.results
    assert result.status == "failed" and result.error is not None and "was not uploaded" in result.error
    assert fake.seen == [] and world.store.open_intents() == []


def test_a_crash_after_the_upload_leaves_an_intent_settle_closes_without_resending(world: World) -> None:
    Uploading(world, "crash")
    with contextlib.suppress(Crash):
        world.apply(with_image(world, "p1"))
    (intent,) = world.store.open_intents()
    assert intent.operation == "product.media.upload" and intent.payload == upload_call(REF).payload  # no bytes
    world.reopen()
    fake = Uploading(world)
    (settled,) = world.settle()
    assert (settled.operation, settled.outcome) == ("product.media.upload", "not landed")
    assert fake.seen == [] and world.store.open_intents() == [] and world.store.assets() == {}


def test_the_journal_keeps_the_placeholder_and_settle_fills_it(world: World) -> None:
    Uploading(world)
    world.product.script("product.create", "crash")
    with contextlib.suppress(Crash):
        world.apply(with_image(world, "p1"))
    (intent,) = world.store.open_intents()
    assert intent.payload["display_info"]["image_url"] == placeholder(SHA)
    world.reopen()
    fake = Uploading(world)
    world.settle()
    resent = [c for c in fake.seen if c.operation == "product.create"]
    assert resent and resent[0].payload["display_info"]["image_url"] == f"https://img.test/{SHA}.png"
    assert world.store.open_intents() == []
