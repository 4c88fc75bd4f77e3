"""The secrets canary suite extended to coupon codes (issue 17 acceptance; decision D35): a file of 50,000 codes on
SQLite (2,000 on PostgreSQL, see below), each starting with a canary prefix, goes through a project's whole life
against the served sandbox (validate, plan in every format, a saved plan and `show`, apply from the saved plan, a
SIGKILL in the middle of the uploads and the apply that resumes it, a no-op plan, drift in every format, refresh,
history, state list / show, report, and the error paths: a bad codes file and a codes file changed after the plan).
Then every byte of stdout and stderr, every file of the project except the codes file itself (the state database
with its WAL, the plan files, the report, the manifest cache) and, on PostgreSQL, every row of every table, is
searched for the canary: no code may appear. The sandbox holds the codes in its own code table (it is the upstream);
its call log and its idempotency records, which keep what clients sent, must not.

The 50,000 codes (250 batches) run on SQLite, whose state is a file searched byte by byte, WAL included. PostgreSQL
runs the same life with 2,000 codes (10 batches, killed after the 5th): what can leak there (the state's rows, the
history, the plan files, the outputs) does not depend on how many batches there are, only on every path being taken,
and the 50,000-code upload itself is also issue 17's acceptance test in tests/e2e/test_codes_e2e.py.
"""

from __future__ import annotations

import json
import signal
import sqlite3
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.coupons import product_doc
from tests.reliability.conftest import StateBackend
from tests.reliability.harness import write_project
from tests.reliability.test_secrets import pg_dump_text
from tests.sandbox_server import ServedSandbox, served_sandbox

CANARY = "CanaryC0de"  # every code starts with it; nothing else in the project or its outputs does
COUNTS = {"sqlite": 50_000, "postgres": 2_000}  # codes per backend (the module's docstring says why)
KILL_AT = {"sqlite": 60, "postgres": 5}  # the uploaded batch after which the first apply is killed


def canary_codes(count: int) -> list[str]:
    return [f"{CANARY}{i:06d}x{(i * 7919) % 100_000:05d}" for i in range(count)]


def codes_doc(name: str, appid: str) -> dict[str, Any]:
    document = product_doc(name, appid, "券码保密测试")
    stock = document["spec"]["stock"]
    stock["coupon_code_mode"] = "UPLOAD"
    stock["codes_file"] = "../codes/canary.txt"
    stock["stock_send_rule"]["max_count"] = 100_000
    return document


def sandbox_rows_without_codes(sandbox: ServedSandbox, expected: int) -> bytes:
    """Every row of the sandbox's tables except its code table (upstream's own store of the codes)."""
    parts: list[str] = []
    with sqlite3.connect(f"file:{sandbox.data}?mode=ro", uri=True) as conn:
        tables = [str(r[0]) for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        assert "stock_codes" in tables
        for table in tables:
            if table != "stock_codes":
                parts += [repr(row) for row in conn.execute(f'SELECT * FROM "{table}"')]
        held = int(conn.execute("SELECT COUNT(*) FROM stock_codes").fetchone()[0])
    assert held == expected, f"the sandbox holds {held} codes, not {expected}"
    return "\n".join(parts).encode()


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[ServedSandbox]:
    (tmp_path / "sandbox").mkdir()
    with served_sandbox(tmp_path / "sandbox", extra_brand_ids=["120344"]) as served:
        yield served


def test_no_code_in_any_output_file_state_row_or_history(
    tmp_path: Path, sandbox: ServedSandbox, backend: StateBackend, figures: Counter[str]
) -> None:
    tag = f"code{backend.name[:2]}"
    project = write_project(tmp_path / tag, sandbox, state_url=backend.new_url(tmp_path / tag))
    codes_file = project.root / "codes" / "canary.txt"
    codes_file.parent.mkdir(parents=True)
    count = COUNTS[backend.name]
    batches = count // 200
    codes = canary_codes(count)
    outputs: list[str] = []

    def run(*args: str, code: int | tuple[int, ...] = 0, crash_at: str | None = None) -> str:
        result = project.run(*args, crash_at=crash_at)
        outputs.extend([result.stdout, result.stderr])
        codes_ok = code if isinstance(code, tuple) else (code,)
        assert result.returncode in codes_ok, f"{args}: exit {result.returncode}\n{result.stdout}\n{result.stderr}"
        return result.stdout + result.stderr

    # A bad file first: its problems name lines, never codes.
    codes_file.write_text("\n".join([*codes[:10], codes[3], codes[4] + "!"]) + "\n", encoding="utf-8")
    project.write_docs([codes_doc(tag, sandbox.credentials.appid)])
    said = run("validate", code=1)
    assert "line 11" in said and "line 12" in said, said

    codes_file.write_text("# canary codes\n" + "\n".join(codes) + "\n", encoding="utf-8")
    run("validate")
    for fmt in ("text", "json", "markdown"):
        run("-v", "plan", "--format", fmt, code=(0, 2))
    said = run("plan", "--out", "plan.json")
    assert f"{count:,} codes in {batches} batches" in said, said
    run("show", "plan.json", "--format", "json")
    run("show", "plan.json")
    killed = project.run("--debug", "-v", "apply", "plan.json", crash_at=f"after_call:{KILL_AT[backend.name]}")
    outputs += [killed.stdout, killed.stderr]
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    run("--debug", "-v", "apply", "--auto-approve")  # settles the interrupted batch, then uploads the rest
    assert run("plan", "--detailed-exitcode").count("No changes") == 1
    run("-v", "drift")
    run("drift", "--format", "json")
    run("drift", "--format", "markdown")
    run("--debug", "refresh")
    run("history")
    run("state", "list")
    shown = project.run("state", "show", f"product_coupon.{tag}")
    outputs.extend([shown.stdout, shown.stderr])
    assert json.loads(shown.stdout)["extra"]["codes"]["main"]["count"] == count
    run("report", "--out", "report.html", code=(0, 2))

    # A codes file changed after the plan: apply refuses the batch without quoting a code.
    appended = [*codes, *canary_codes(count + 10)[count:]]
    codes_file.write_text("\n".join(appended) + "\n", encoding="utf-8")
    run("plan", "--out", "plan3.json", code=(0, 2))
    codes_file.write_text("\n".join([*codes, *(c + "y" for c in canary_codes(count + 10)[count:])]) + "\n")
    said = run("apply", "plan3.json", code=(1, 2, 3))
    assert "plan again" in said or "re-run plan" in said, said  # the manifest digest covers the codes file
    codes_file.write_text("\n".join(appended) + "\n", encoding="utf-8")
    run("apply", "--auto-approve")
    run("history")

    marker = CANARY.encode()
    haystacks: dict[str, bytes] = {f"output #{i}": text.encode() for i, text in enumerate(outputs)}
    for path in project.root.rglob("*"):
        if path.is_file() and path != codes_file:
            haystacks[str(path.relative_to(project.root))] = path.read_bytes()
    assert {"plan.json", "plan3.json", "report.html"} <= set(haystacks)
    assert any(name.endswith(".db") for name in haystacks) or backend.name == "postgres"
    if backend.name == "postgres":
        haystacks["postgres state"] = pg_dump_text(project.state_url).encode()
    haystacks["sandbox call log"] = json.dumps(sandbox.calls()).encode()
    haystacks["sandbox rows (but its code table)"] = sandbox_rows_without_codes(sandbox, count + 10)
    # The search itself works: the canary is in the codes file.
    assert marker in codes_file.read_bytes()
    leaks = [where for where, data in haystacks.items() if marker in data]
    assert leaks == [], leaks
    figures[f"codes.{backend.name}.files_checked"] += len(haystacks) - len(outputs)
    figures[f"codes.{backend.name}.commands_checked"] += len(outputs) // 2
    figures[f"codes.{backend.name}.leaks"] += len(leaks)
