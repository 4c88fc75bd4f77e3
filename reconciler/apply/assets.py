"""Uploads during apply (decision D33): record each uploaded image's URL, and fill the placeholders of later calls.

The plan gives the first action that needs a not-yet-uploaded image one `product.media.upload` call before its create
or PATCH; those calls (and the calls of other actions using the same image) hold the placeholder
`$asset:sha256:<hex>` where the URL goes (`reconciler.plan.images`). Here:

- after an upload lands, sha256 -> URL is written to the state's asset map at once (its own transaction, before the
  upload's intent is closed), so a second plan finds the URL and plans nothing;
- before a call is sent, its placeholders are replaced by the URLs of the asset map; the intent journal keeps the
  planned payload (with the placeholder, never image bytes); settle fills it the same way before re-sending;
- an action whose image is uploaded by another action of the same run waits for that upload (outside the applier's
  concurrency slots, so a waiting action never holds the slot the upload needs); the uploader is always earlier in
  plan order, so no two actions wait on each other. When that upload did not land, the waiting action fails naming it.

A crash between the upload's answer and the asset row leaves nothing recorded: the next plan uploads again. The upload
API has no idempotency key, so that is a second upload of the same bytes: harmless (no money, no coupon changes).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from reconciler.errors import UpstreamError
from reconciler.plan.images import PLACEHOLDER, UPLOAD, placeholders_in
from reconciler.plan.model import Action, Call
from reconciler.providers.base import CallResult
from reconciler.store.api import Asset, StateStore


def is_upload(operation: str) -> bool:
    return operation == UPLOAD


def filled(value: Any, urls: Mapping[str, str]) -> Any:
    """`value` with every placeholder whose sha256 `urls` knows replaced by its URL (containers copied)."""
    if isinstance(value, str):
        match = PLACEHOLDER.fullmatch(value)
        return urls.get(match.group(1), value) if match is not None else value
    if isinstance(value, Mapping):
        return {k: filled(v, urls) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [filled(v, urls) for v in value]
    return value


def fill_call(call: Call, urls: Mapping[str, str], address: str) -> Call:
    """`call` ready to send: its placeholders replaced; UpstreamError when an image it needs was never uploaded."""
    found = list(placeholders_in(call.payload))  # one walk of the payload per call (apply CPU, issue 20)
    if not found:
        return call
    missing = [sha for sha in found if sha not in urls]
    if missing:
        raise UpstreamError(
            call=call.operation,
            address=address,
            message=f"the image with sha256 {missing[0][:12]}… was not uploaded (its upload did not land); "
            "run apply again, it plans the upload",
        )
    return replace(call, payload=filled(call.payload, urls))


class Uploads:
    """The images of one apply run: the asset map as state holds it, and the uploads this run's plan makes."""

    def __init__(self, store: StateStore, actions: Iterable[Action] = ()) -> None:
        self.store = store
        self._urls: dict[str, str] | None = None
        self._ended: dict[str, asyncio.Event] = {}
        self._own: dict[str, set[str]] = {}  # address -> sha256s its own calls upload
        for action in actions:
            for call in action.calls:
                if is_upload(call.operation):
                    sha = str(call.payload["sha256"])
                    self._ended.setdefault(sha, asyncio.Event())
                    self._own.setdefault(action.address, set()).add(sha)

    @property
    def urls(self) -> dict[str, str]:
        if self._urls is None:
            self._urls = {sha: asset.url for sha, asset in self.store.assets().items()}
        return self._urls

    async def ready(self, action: Action) -> None:
        """Wait until every image `action` needs from another action of this run has been uploaded (or failed)."""
        if not self._ended:  # this run uploads nothing: nothing to wait for (and no payload to walk)
            return
        own = self._own.get(action.address, set())
        for call in action.calls:
            for sha in placeholders_in(call.payload):
                event = self._ended.get(sha)
                if sha not in own and sha not in self.urls and event is not None:
                    await event.wait()

    def finished(self, action: Action) -> None:
        """`action` ran (or never will): whoever waits for its uploads may go on."""
        for sha in self._own.get(action.address, ()):
            self._ended[sha].set()

    def fill(self, call: Call, address: str) -> Call:
        return fill_call(call, self.urls, address)

    def landed(self, call: Call, outcome: CallResult, now_iso: str) -> None:
        """Record the uploaded image's URL in state, committed at once."""
        url = str((outcome.entity or {})["image_url"])
        sha = str(call.payload["sha256"])
        self.store.put_asset(Asset(sha, url, int(call.payload["size"]), now_iso, outcome.request_id))
        self.urls[sha] = url
