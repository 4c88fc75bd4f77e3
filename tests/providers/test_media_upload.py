"""The image upload of WechatPayProvider against the in-process sandbox (decision D33; reference B.1, B.3, C.1):
multipart with the signature over `meta`, the bytes read at send time and checked against the plan's sha256."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.errors import UpstreamError
from reconciler.plan.images import upload_call
from reconciler.providers.base import CallResult
from reconciler.providers.wechatpay import WechatPayProvider
from reconciler.sandbox import OPERATIONS, SandboxConfig, create_app
from tests.manifest.image_files import png
from tests.sandbox.stock_support import CREDS, Clock

BASE_URL = "http://sandbox.test"


def upload(root: Path, ref: dict[str, Any]) -> tuple[CallResult | UpstreamError, list[dict[str, Any]]]:
    async def main() -> tuple[CallResult | UpstreamError, list[dict[str, Any]]]:
        clock = Clock()
        app = create_app(CREDS, SandboxConfig(clock=clock, rate_limits={op: 1_000_000.0 for op in OPERATIONS}))
        transport = httpx.ASGITransport(app=app)
        provider = WechatPayProvider(
            CREDS.mchid,
            CREDS.merchant_serial_no,
            CREDS.merchant_private_key_pem.encode(),
            CREDS.public_key_id,
            CREDS.wechatpay_public_key_pem.encode(),
            BASE_URL,
            CREDS.brand_id,
            transport=transport,
            clock=clock,
            files_root=root,
        )
        admin = httpx.AsyncClient(base_url=BASE_URL, transport=transport)
        try:
            try:
                outcome: CallResult | UpstreamError = await provider.execute(upload_call(ref))
            except UpstreamError as exc:
                outcome = exc
            calls = (await admin.get("/_sandbox/calls")).json()["calls"]
            return outcome, [c for c in calls if "media" in c["operation"]]
        finally:
            await provider.aclose()
            await admin.aclose()
            app.state.sandbox.close()

    return asyncio.run(main())


def ref_of(root: Path, name: str, data: bytes) -> dict[str, Any]:
    (root / name).parent.mkdir(parents=True, exist_ok=True)
    (root / name).write_bytes(data)
    return {"path": name, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}


def test_an_image_is_uploaded_signed_over_its_meta_and_answers_a_stable_url(tmp_path: Path) -> None:
    ref = ref_of(tmp_path, "images/logo.png", png(32, 32))
    outcome, calls = upload(tmp_path, ref)
    assert isinstance(outcome, CallResult), outcome
    assert outcome.entity is not None
    url = outcome.entity["image_url"]
    assert url.startswith("https://") and ref["sha256"] in url
    assert outcome.request_id
    (call,) = calls
    assert call["http_status"] == 200
    again, _ = upload(tmp_path, ref)
    assert isinstance(again, CallResult) and again.entity == outcome.entity  # the sandbox's URL is by content


def test_a_file_changed_since_the_plan_is_refused_before_anything_is_sent(tmp_path: Path) -> None:
    ref = ref_of(tmp_path, "images/logo.png", png(32, 32))
    (tmp_path / "images" / "logo.png").write_bytes(png(32, 32, salt=9))
    outcome, calls = upload(tmp_path, ref)
    assert isinstance(outcome, UpstreamError)
    assert "images/logo.png changed since the plan" in str(outcome) and "re-run plan" in str(outcome)
    assert calls == []


@pytest.mark.parametrize("name", ["gone.png", "../outside.png"])
def test_a_missing_file_or_one_outside_the_root_is_refused(tmp_path: Path, name: str) -> None:
    root = tmp_path / "project"
    root.mkdir()
    (tmp_path / "outside.png").write_bytes(png(4, 4))
    ref = {"path": name, "sha256": "0" * 64, "size": 10}
    outcome, calls = upload(root, ref)
    assert isinstance(outcome, UpstreamError) and "re-run plan" in str(outcome)
    assert calls == []
