"""Issue 17 acceptance for coupon codes from a file (decision D35), end to end: the real CLI in real mode against the
sandbox served over HTTP; its call log counts the upload calls and its code table the codes that landed."""

from __future__ import annotations

import json
import shutil
import signal
import sqlite3
import subprocess
import sys
from typing import Any

import pytest

from tests.e2e import coupons
from tests.e2e.conftest import Project

UPLOAD = "product.stocks.upload_codes"  # the sandbox's name of the call
NAME = "codes"
ADDRESS = f"product_coupon.{NAME}"
COUNT = 50_000
BATCHES = COUNT // 200  # reference B.4: at most 200 codes per call
CRASH_COUNT = 12_200  # 61 batches: the crash tests kill the apply around the 40th


def codes(count: int, prefix: str = "E2eCode") -> list[str]:
    return [f"{prefix}{i:07d}" for i in range(count)]


def use(project: Project, lines: list[str]) -> None:
    document = coupons.product_doc(NAME, project.sandbox.credentials.appid, "券码咖啡券")
    stock = document["spec"]["stock"]
    stock["coupon_code_mode"] = "UPLOAD"
    stock["codes_file"] = "../codes/d11.txt"
    stock["stock_send_rule"]["max_count"] = 100_000
    shutil.rmtree(project.manifests, ignore_errors=True)
    coupons.write(project.manifests / "campaign.yaml", [document])
    path = project.root / "codes" / "d11.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("# Double 11 codes\n" + "\n".join(lines) + "\n", encoding="utf-8")


def uploads(project: Project) -> list[dict[str, Any]]:
    return [c for c in project.sandbox.calls() if c["operation"] == UPLOAD and c["http_status"] < 300]


def landed(project: Project) -> int:
    """Codes the sandbox holds (every stock)."""
    with sqlite3.connect(f"file:{project.sandbox.data}?mode=ro", uri=True) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM stock_codes").fetchone()[0])


def state_codes(project: Project) -> dict[str, Any]:
    shown = json.loads(project.run("state", "show", ADDRESS, check=True).stdout)
    return dict(shown["extra"]["codes"]["main"])


def crash(project: Project, spec: str) -> None:
    killed = subprocess.run(
        [sys.executable, "-m", "tests.support.crashing_cli", spec, "--no-color", "apply", "--auto-approve"],
        cwd=project.root, env=project.env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr


def test_50000_codes_upload_in_250_batches_then_a_no_op_and_appended_codes_upload_only_new_batches(
    project: Project,
) -> None:
    use(project, codes(COUNT))
    planned = project.run("plan", check=True)
    assert "stocks.main.codes" in planned.stdout and f"50,000 codes in {BATCHES} batches (sha256 " in planned.stdout
    project.sandbox.clear_calls()
    project.run("apply", "--auto-approve", check=True)
    assert len(uploads(project)) == BATCHES
    assert landed(project) == COUNT
    record = state_codes(project)
    assert record["count"] == COUNT and len(record["batches"]) == BATCHES

    again = project.run("plan", "--detailed-exitcode")
    assert again.returncode == 0 and "No changes" in again.stdout, again.stdout + again.stderr
    assert project.run("drift").returncode == 0

    use(project, codes(COUNT + 300))  # 300 appended: the last batch (150 codes) completed + 1 batch
    changed = project.run("plan", "--detailed-exitcode")
    assert changed.returncode == 2, changed.stdout + changed.stderr
    project.sandbox.clear_calls()
    project.run("apply", "--auto-approve", check=True)
    assert len(uploads(project)) == 2 and landed(project) == COUNT + 300
    assert project.run("plan", "--detailed-exitcode").returncode == 0


def test_changed_uploaded_codes_are_blocked_with_a_remedy(project: Project) -> None:
    use(project, codes(1000))
    project.run("apply", "--auto-approve", check=True)
    use(project, codes(1000, prefix="Other"))
    blocked = project.run("plan")
    assert blocked.returncode == 1, blocked.stdout + blocked.stderr
    assert "changed after it was uploaded" in blocked.stdout and "new stock name" in blocked.stdout


@pytest.mark.parametrize("spec", ["after_commit:40", "after_call:40", "after_intent:40"])
def test_a_crash_in_the_middle_resumes_without_repeating_or_skipping_a_batch(project: Project, spec: str) -> None:
    """Killed around the 40th journalled call of 61 batches (12,200 codes: the same batching as 50,000, a quarter of
    the uploads, so the three crash points fit the suite's time budget)."""
    count, batches = CRASH_COUNT, CRASH_COUNT // 200
    use(project, codes(count))
    project.sandbox.clear_calls()
    crash(project, spec)
    assert 0 < landed(project) < count
    resumed = project.run("apply", "--auto-approve")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert landed(project) == count
    numbers = [c["out_request_no"] for c in uploads(project)]
    assert len(set(numbers)) == batches  # every batch, none skipped
    assert len(numbers) <= batches + 1  # at most the crashed batch sent again (settled: a replay)
    assert state_codes(project)["count"] == count
    assert project.run("plan", "--detailed-exitcode").returncode == 0
