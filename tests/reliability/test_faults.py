"""Faults (contract §2.4 "retries ... for 429, 5xx, -1, 300000, timeouts and dropped connections, never for other
4xx"; "partial failure"; §4 "injected 429 / 5xx / timeouts / dropped-after-commit: the apply converges"): seeded
faults at rates up to 30% on every shop and WeChat Pay call (reads included) of a served sandbox. Apply either
converges, or stops cleanly (exit 1, no traceback) with an account of applied / partly applied / failed / not
started that matches upstream and state exactly; applying again then converges, with no duplicate coupon.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from reconciler.store import open_store
from tests.reliability.conftest import StateBackend
from tests.reliability.harness import (
    Campaign,
    Project,
    assert_converged,
    campaign,
    label,
    tagged_upstream,
    write_project,
)
from tests.sandbox_server import ServedSandbox

FAMILIES = ("shop.*", "product.*")
MAX_APPLIES = 3
# Each kind alone at 30%, on both families (shop errcodes only exist on the shop side).
SINGLE_KINDS: dict[str, list[dict[str, Any]]] = {
    "http_429": [{"operation": op, "kind": "http_status", "value": 429} for op in FAMILIES],
    "http_500": [{"operation": op, "kind": "http_status", "value": 500} for op in FAMILIES],
    "http_503": [{"operation": op, "kind": "http_status", "value": 503} for op in FAMILIES],
    "errcode_-1": [{"operation": "shop.*", "kind": "errcode", "value": -1}],
    "errcode_300000": [{"operation": "shop.*", "kind": "errcode", "value": 300000}],
    "wechatpay_SYSTEM_ERROR": [{"operation": "product.*", "kind": "errcode", "value": "SYSTEM_ERROR"}],
    "latency": [{"operation": op, "kind": "latency", "value": 0.3} for op in FAMILIES],
    "timeout": [{"operation": op, "kind": "timeout", "value": 5} for op in FAMILIES],
    "drop_after_commit": [{"operation": op, "kind": "drop_after_commit"} for op in FAMILIES],
}


def with_rate(rules: list[dict[str, Any]], rate: float, seed: int) -> list[dict[str, Any]]:
    return [{**rule, "rate": rate, "seed": seed + i} for i, rule in enumerate(rules)]


def faults_in_log(calls: list[dict[str, Any]]) -> Counter[str]:
    """What the sandbox's call log shows of injected faults (latency is invisible there: counted separately)."""
    seen: Counter[str] = Counter()
    for c in calls:
        if c.get("dropped"):
            seen["dropped_after_commit"] += 1
        elif c["http_status"] == 429:
            seen["http_429"] += 1
        elif c["http_status"] >= 500:
            seen["http_5xx"] += 1
        elif c.get("errcode") in INJECTED_ERRCODES:
            seen[f"errcode_{c['errcode']}"] += 1  # shop timeouts also answer -1 once the client gave up
    return seen


def rolls(calls: int, rate: float, seed: int) -> int:
    """How many of `calls` matching calls a rate rule with this seed fired on (the sandbox rolls once per call)."""
    rng = random.Random(seed)
    return sum(1 for _ in range(calls) if rng.random() < rate)


INJECTED_ERRCODES = (-1, 300000, 45009)  # others in the log are ordinary answers (e.g. "no such coupon" reads)
SECTION = re.compile(r"^(Applied|Partly applied|Failed|Not started) \((\d+)\):$")


def parse_account(stdout: str) -> dict[str, list[str]]:
    """The account an apply that stopped part-way prints: section -> addresses."""
    account: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in stdout.splitlines():
        m = SECTION.match(line)
        if m:
            current = account.setdefault(m.group(1), [])
            continue
        if current is not None and line.startswith("  ") and "(" in line:
            current.append(line.split()[0])
        elif current is not None and line.strip():
            current = None
    return account


def assert_exact_account(project: Project, c: Campaign, stdout: str, pending: set[str]) -> dict[str, list[str]]:
    """An apply that stopped names every address it planned exactly once, and what it says matches upstream and
    state: applied = recorded; not started = untouched upstream; failed or partial = recorded as far as it landed,
    or held by an open intent that the next apply settles."""
    account = parse_account(stdout)
    named = [a for rows in account.values() for a in rows]
    assert sorted(named) == sorted(set(named)), f"an address is named twice: {account}"
    assert set(named) == pending, f"account {account} does not name exactly the planned addresses {sorted(pending)}"
    shop, products = tagged_upstream(project.sandbox, c.tag)
    store = open_store(project.state_url)
    try:
        resources = store.resources()
        intents = {i.address for i in store.open_intents()}
    finally:
        store.close()
    by_label = {str(p["display_info"]["name"]): p for p in products}

    def upstream_of(address: str) -> dict[str, Any] | None:
        name = address.split(".", 1)[1]
        if address.startswith("shop_coupon."):
            return shop.get(name)
        return by_label.get(label(c.tag, int(name.rsplit("p", 1)[1])))

    desired = {("shop_coupon." if d["kind"] == "ShopCoupon" else "product_coupon.") + d["name"]: d for d in c.docs}
    for address in account.get("Applied", []):
        assert address in resources, f"{address} reported applied but not in state"
        upstream = upstream_of(address)
        assert upstream is not None, f"{address} reported applied but not upstream"
        if address.startswith("shop_coupon."):
            want = {"active": 2, "draft": 1}[desired[address]["status"]]
            assert upstream["status"] == want == resources[address].upstream["status"], address
        else:
            assert resources[address].upstream_id == upstream["product_coupon_id"], address
    for address in account.get("Not started", []):
        assert address not in resources and address not in intents, f"{address} not started but recorded"
        assert upstream_of(address) is None, f"{address} reported not started but exists upstream"
    for address in account.get("Failed", []) + account.get("Partly applied", []):
        upstream = upstream_of(address)
        if upstream is None:
            continue
        if address in resources:
            assert resources[address].upstream_id in (upstream.get("product_coupon_id"), upstream.get("out_coupon_id"))
        else:
            assert address in intents, f"{address} landed upstream, is not in state and has no open intent"
    return account


def converge(project: Project, c: Campaign, rules: list[dict[str, Any]], figures: Counter[str]) -> int:
    """Apply under `rules` until exit 0 (at most MAX_APPLIES times); check every stop. Returns the applies used."""
    sandbox = project.sandbox
    sandbox.set_faults(rules)
    pending = c.addresses
    try:
        for attempt in range(1, MAX_APPLIES + 1):
            result = project.run("apply", "--auto-approve")
            assert "Traceback" not in result.stderr, result.stderr
            if result.returncode == 0:
                return attempt
            assert result.returncode == 1, result.stdout + result.stderr
            figures["faults.clean_stops"] += 1
            if "Apply stopped part-way" in result.stdout:
                account = assert_exact_account(project, c, result.stdout, pending)
                pending = pending - set(account.get("Applied", []))
        raise AssertionError(f"no convergence after {MAX_APPLIES} applies:\n{result.stdout}\n{result.stderr}")
    finally:
        sandbox.set_faults([])


def count(figures: Counter[str], calls: list[dict[str, Any]], rules: list[dict[str, Any]]) -> None:
    for kind, n in faults_in_log(calls).items():
        figures[f"faults.injected.{kind}"] += n
    for rule in rules:
        if rule["kind"] == "latency":
            family = rule["operation"].rstrip("*")
            matching = sum(1 for c in calls if c["operation"].startswith(family))
            figures["faults.injected.latency"] += rolls(matching, rule["rate"], rule["seed"])


def new_project(tmp_path: Path, sandbox: ServedSandbox, backend: StateBackend, tag: str) -> tuple[Project, Campaign]:
    project = write_project(tmp_path / tag, sandbox, state_url=backend.new_url(tmp_path / tag), request_timeout_s=1.0)
    c = campaign(tag, sandbox.credentials.appid, active=3, draft=1, products=3)
    project.write_docs(c.docs)
    return project, c


@pytest.mark.parametrize("kind", sorted(SINGLE_KINDS))
def test_each_fault_kind_at_30_percent_converges(
    tmp_path: Path, module_sandbox: ServedSandbox, kind: str, soak: int, figures: Counter[str]
) -> None:
    """One fault kind on 30% of all shop and WeChat Pay calls: apply converges (possibly after clean stops),
    no duplicate coupon, every landed call recorded."""
    backend = StateBackend("sqlite", lambda root: f"sqlite:///{root / 'state' / 'couponctl.db'}")
    for run in range(soak):
        seed = 100 * sorted(SINGLE_KINDS).index(kind) + run
        project, c = new_project(tmp_path, module_sandbox, backend, f"f{seed:04d}")
        module_sandbox.clear_calls()
        rules = with_rate(SINGLE_KINDS[kind], 0.3, seed)
        applies = converge(project, c, rules, figures)
        calls = module_sandbox.calls()
        count(figures, calls, rules)
        findings = assert_converged(project, c, calls_since=calls)
        figures["faults.runs"] += 1
        figures[f"faults.applies_needed.{applies}"] += 1
        figures["faults.duplicates"] += findings.duplicates


def test_every_kind_mixed_up_to_30_percent_converges_on_both_backends(
    tmp_path: Path, module_sandbox: ServedSandbox, backend: StateBackend, soak: int, figures: Counter[str]
) -> None:
    """429, 5xx, errcode -1 / 300000, WeChat Pay SYSTEM_ERROR, latency, timeouts and drop-after-commit together
    (about 30% of calls fail) converge on SQLite and PostgreSQL state alike."""
    for run in range(soak):
        seed = 5000 + run + (0 if backend.name == "sqlite" else 500)
        project, c = new_project(tmp_path, module_sandbox, backend, f"m{seed:04d}")
        module_sandbox.clear_calls()
        rules = with_rate([r for rs in SINGLE_KINDS.values() for r in rs], 0.05, seed)
        applies = converge(project, c, rules, figures)
        calls = module_sandbox.calls()
        count(figures, calls, rules)
        findings = assert_converged(project, c, calls_since=calls)
        figures["faults.runs"] += 1
        figures[f"faults.applies_needed.{applies}"] += 1
        figures["faults.duplicates"] += findings.duplicates


def test_a_third_of_calls_429_500_or_timeout_converges_without_duplicates(
    tmp_path: Path, module_sandbox: ServedSandbox, soak: int, figures: Counter[str]
) -> None:
    """Issue 6: with 429s, 500s and timeouts on a third of the calls, apply converges with no duplicate coupon."""
    backend = StateBackend("sqlite", lambda root: f"sqlite:///{root / 'state' / 'couponctl.db'}")
    for run in range(soak):
        seed = 7000 + run
        project, c = new_project(tmp_path, module_sandbox, backend, f"t{seed:04d}")
        module_sandbox.clear_calls()
        rules = with_rate(SINGLE_KINDS["http_429"] + SINGLE_KINDS["http_500"] + SINGLE_KINDS["timeout"], 0.125, seed)
        applies = converge(project, c, rules, figures)
        calls = module_sandbox.calls()
        count(figures, calls, rules)
        api_calls = [x for x in calls if x["operation"].startswith(("shop.", "product."))]
        failed = sum(faults_in_log(api_calls).values())
        assert failed >= len(api_calls) // 5, f"only {failed} of {len(api_calls)} calls faulted"
        findings = assert_converged(project, c, calls_since=calls)
        figures["faults.runs"] += 1
        figures[f"faults.applies_needed.{applies}"] += 1
        figures["faults.duplicates"] += findings.duplicates


def test_daily_quota_45009_is_not_retried_and_stops_with_an_exact_account(
    tmp_path: Path, module_sandbox: ServedSandbox, figures: Counter[str]
) -> None:
    """errcode 45009 (daily quota) is definitive: no retry, apply stops cleanly (exit 1) naming exactly what
    landed; once the quota is back, apply converges."""
    backend = StateBackend("sqlite", lambda root: f"sqlite:///{root / 'state' / 'couponctl.db'}")
    project, c = new_project(tmp_path, module_sandbox, backend, "q0001")
    module_sandbox.clear_calls()
    module_sandbox.set_faults([{"operation": "shop.update_status", "kind": "errcode", "value": 45009, "count": 1}])
    try:
        result = project.run("apply", "--auto-approve", "--parallelism", "1")
    finally:
        module_sandbox.set_faults([])
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert "45009" in result.stderr
    calls = module_sandbox.calls()
    quota = [x for x in calls if x.get("errcode") == 45009]
    assert len(quota) == 1
    after = [x for x in calls if x["seq"] > quota[0]["seq"] and x["operation"] == "shop.update_status"]
    assert after == [], "45009 must not be retried, and no new change starts after it"
    account = assert_exact_account(project, c, result.stdout, c.addresses)
    assert len(account.get("Partly applied", [])) == 1, account  # its add landed, its activation did not
    figures["faults.injected.errcode_45009"] += 1
    figures["faults.clean_stops"] += 1
    project.ok("apply", "--auto-approve")
    assert_converged(project, c, calls_since=module_sandbox.calls())
    figures["faults.runs"] += 1


def test_retries_exhausted_on_a_landed_call_stop_with_an_exact_account_then_settle(
    tmp_path: Path, module_sandbox: ServedSandbox, figures: Counter[str]
) -> None:
    """A create that lands but whose answers are lost on every attempt (retries exhausted): apply stops cleanly,
    the account names it as failed, upstream has it, state does not, its intent stays open; the next apply settles
    it with the same out_request_no (no duplicate) and converges."""
    project = write_project(tmp_path / "x0001", module_sandbox, max_retries=2, request_timeout_s=1.0)
    c = campaign("x0001", module_sandbox.credentials.appid, active=1, draft=0, products=2)
    project.write_docs(c.docs)
    module_sandbox.clear_calls()
    module_sandbox.set_faults([{"operation": "product.create", "kind": "drop_after_commit", "count": 2}])
    try:
        result = project.run("apply", "--auto-approve", "--parallelism", "1")
    finally:
        module_sandbox.set_faults([])
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and "Apply stopped part-way" in result.stdout
    account = assert_exact_account(project, c, result.stdout, c.addresses)
    (failed,) = account["Failed"]
    assert failed.startswith("product_coupon.")
    _shop, products = tagged_upstream(module_sandbox, c.tag)
    assert len(products) == 1, "the create landed upstream even though no answer arrived"
    store = open_store(project.state_url)
    try:
        assert failed not in store.resources()
        assert [(i.address, i.operation) for i in store.open_intents()] == [(failed, "product.create")]
    finally:
        store.close()
    settled = project.run("apply", "--auto-approve")
    assert settled.returncode == 0, settled.stdout + settled.stderr
    assert f"Settled interrupted call: {failed} product.create: re-sent" in settled.stderr
    findings = assert_converged(project, c, calls_since=module_sandbox.calls())
    figures["faults.injected.dropped_after_commit"] += 2
    figures["faults.clean_stops"] += 1
    figures["faults.runs"] += 1
    figures["faults.duplicates"] += findings.duplicates


def test_shop_call_timing_out_on_every_attempt_stops_partly_applied_then_settles(
    tmp_path: Path, module_sandbox: ServedSandbox, figures: Counter[str]
) -> None:
    """A shop activation that times out on every attempt: the coupon is reported partly applied (added, not
    activated), state holds it as a draft and the activation's intent stays open; the next apply reads it back,
    activates it and converges."""
    project = write_project(tmp_path / "x0002", module_sandbox, max_retries=2, request_timeout_s=1.0)
    c = campaign("x0002", module_sandbox.credentials.appid, active=2, draft=0, products=0)
    project.write_docs(c.docs)
    module_sandbox.clear_calls()
    module_sandbox.set_faults([{"operation": "shop.update_status", "kind": "timeout", "value": 5, "count": 2}])
    try:
        result = project.run("apply", "--auto-approve", "--parallelism", "1")
    finally:
        module_sandbox.set_faults([])
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and "Apply stopped part-way" in result.stdout
    account = assert_exact_account(project, c, result.stdout, c.addresses)
    (partial,) = account["Partly applied"]
    store = open_store(project.state_url)
    try:
        assert store.resources()[partial].upstream["status"] == 1
        assert [(i.address, i.operation) for i in store.open_intents()] == [(partial, "shop.update_status")]
    finally:
        store.close()
    settled = project.run("apply", "--auto-approve")
    assert settled.returncode == 0, settled.stdout + settled.stderr
    assert f"Settled interrupted call: {partial} shop.update_status" in settled.stderr
    findings = assert_converged(project, c, calls_since=module_sandbox.calls())
    figures["faults.injected.timeout_exhausting_retries"] += 2
    figures["faults.clean_stops"] += 1
    figures["faults.runs"] += 1
    figures["faults.duplicates"] += findings.duplicates
