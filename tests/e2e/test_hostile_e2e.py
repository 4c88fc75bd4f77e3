"""A WeChat Pay response that fails verification is an attack: refused, nothing recorded, the run stops;
the next honest apply settles the call without a duplicate (contract §2.4, §4)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e import coupons
from tests.e2e.conftest import write_project
from tests.hostile_proxy import hostile_proxy
from tests.sandbox_server import ServedSandbox


def product_doc(appid: str, name: str, label: str) -> dict[str, object]:
    doc = coupons.product_all(appid)
    doc["name"] = name
    doc["spec"]["display_info"]["name"] = label  # type: ignore[index]
    return doc


@pytest.mark.parametrize("mode", ["tamper_body", "wrong_key", "strip_signature", "stale", "replay"])
def test_spoiled_response_is_refused_and_nothing_recorded(tmp_path: Path, sandbox: ServedSandbox, mode: str) -> None:
    """Tampered, wrongly signed, unsigned, stale or replayed 2xx answers stop the apply and leave no record."""
    appid = sandbox.credentials.appid
    docs = [product_doc(appid, "e2e-first", "第一张咖啡券"), product_doc(appid, "e2e-second", "第二张咖啡券")]
    key_pem = (sandbox.keys_dir / "wechatpay_private_key.pem").read_bytes()
    with hostile_proxy(sandbox.url, mode, key_pem) as proxy:
        project = write_project(tmp_path / "project", sandbox, wechatpay_url=proxy.url)
        for old in project.manifests.rglob("*.yaml"):
            old.unlink()
        coupons.write(project.manifests / "campaign.yaml", docs)
        # The coupon calls' answers are under test: without --skip-preflight its reads (decision D32) would be the
        # first answers the proxy spoils or replays (how the pre-flight reads a spoiled answer: test_preflight.py).
        result = project.run("apply", "--auto-approve", "--parallelism", "1", "--skip-preflight")
        assert proxy.spoiled >= 1
    assert result.returncode == 1, result.stdout + result.stderr
    assert "response refused" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    recorded = project.addresses()
    # Nothing from a refused answer was recorded: at most the answers that passed (replay lets the first through).
    assert len(recorded) == (1 if mode == "replay" else 0)
    honest = write_project(tmp_path / "project", sandbox)
    settled = honest.run("apply", "--auto-approve")
    assert settled.returncode == 0, settled.stdout + settled.stderr
    products = sandbox.state()["product_coupons"]
    assert len(products) == 2, "settling re-sent the same out_request_no: no duplicate coupon"
    assert {p["display_info"]["name"] for p in products} == {"第一张咖啡券", "第二张咖啡券"}
