"""Hostile upstream (contract §2.4 "a 2xx that fails verification is treated as an attack: nothing is recorded from it
and the run stops"; §4 "tampered or unsigned responses: refused, nothing recorded"): a loopback proxy in front of
the served sandbox spoils WeChat Pay answers (tests/hostile_proxy.py). The apply stops (exit 1, no traceback), the
state and history hold nothing from a refused answer, the journal keeps the call open, and the next honest apply
settles it with the same out_request_no: no duplicate coupon.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from reconciler.store import open_store
from tests.hostile_proxy import hostile_proxy
from tests.reliability.harness import Campaign, assert_converged, label, product_doc, write_project
from tests.sandbox_server import ServedSandbox

MODES = ("tamper_body", "wrong_key", "strip_signature", "stale", "replay")


@pytest.mark.parametrize("mode", MODES)
def test_spoiled_wechatpay_answer_is_refused_and_nothing_recorded(
    tmp_path: Path, module_sandbox: ServedSandbox, mode: str, figures: Counter[str]
) -> None:
    """Tampered body, wrong key, missing signature headers, stale timestamp, replayed answer: refused; nothing
    from it in state or history; the open intent is settled by the next honest apply without a duplicate."""
    tag = f"h{MODES.index(mode)}"
    appid = module_sandbox.credentials.appid
    c = Campaign(tag, appid, [product_doc(f"{tag}-p{i:02d}", appid, label(tag, i)) for i in range(2)], 2)
    module_sandbox.clear_calls()
    key_pem = (module_sandbox.keys_dir / "wechatpay_private_key.pem").read_bytes()
    with hostile_proxy(module_sandbox.url, mode, key_pem) as proxy:
        project = write_project(tmp_path / tag, module_sandbox, wechatpay_url=proxy.url)
        project.write_docs(c.docs)
        # The coupon calls' answers are under test: without --skip-preflight its reads (decision D32) would be the
        # first answers the proxy spoils or replays (how the pre-flight reads a spoiled answer: test_preflight.py).
        result = project.run("apply", "--auto-approve", "--parallelism", "1", "--skip-preflight")
        spoiled = proxy.spoiled
    assert spoiled >= 1
    assert result.returncode == 1, result.stdout + result.stderr
    assert "signature" in result.stderr.lower() or "refused" in result.stderr.lower(), result.stderr
    assert "Traceback" not in result.stderr
    passed = 1 if mode == "replay" else 0  # replay lets the first (genuine) answer through
    store = open_store(project.state_url)
    try:
        resources = store.resources()
        intents = store.open_intents()
        recorded_ok = [call for run in store.runs(100) for call in store.calls(run.run_id) if call.outcome == "ok"]
    finally:
        store.close()
    assert len(resources) == passed, f"recorded from a refused answer: {sorted(resources)}"
    assert len(recorded_ok) == passed, f"history holds a refused answer: {recorded_ok}"
    assert [i.operation for i in intents] == ["product.create"], "the refused call stays open for settling"
    assert intents[0].address not in resources
    honest = write_project(tmp_path / tag, module_sandbox)  # same project, WeChat Pay no longer behind the proxy
    settled = honest.run("apply", "--auto-approve")
    assert settled.returncode == 0, settled.stdout + settled.stderr
    assert "Settled interrupted call" in settled.stderr
    findings = assert_converged(honest, c, calls_since=module_sandbox.calls())
    figures["hostile.refused_answers"] += 1
    figures[f"hostile.mode.{mode}"] += 1
    figures["hostile.duplicates"] += findings.duplicates
