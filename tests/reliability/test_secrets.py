"""Secrets (contract §1.3 "no secret (app secret, access_token, private key) ever appears in a plan, plan file, state,
history, log or error message"; issue 6 "a test greps them all"): a sandbox served with a canary app secret and
fresh key pairs; every command of a project's life runs against it (plan in every format, saved plans, apply,
settle after a kill, drift, refresh, history, state, import; `-v` and `--debug`; forced errors: a wrong app secret,
a wrong merchant key, injected 5xx with retries), and then every byte of stdout, stderr, the project's files (state
database with its WAL, plan files, anything logged) and, on PostgreSQL, every row of every table, is searched for
the app secret, every access_token the sandbox issued, and every line of the private keys' PEM bodies.
"""

from __future__ import annotations

import dataclasses
import signal
import sqlite3
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from reconciler.sandbox import generate_credentials, save_credentials
from tests.reliability.conftest import StateBackend
from tests.reliability.harness import campaign, changed, write_project
from tests.sandbox_server import ServedSandbox, served_sandbox

CANARY_SECRET = "CanaryAppSecret0x5EC12E7d00d5ea1ed"
WRONG_SECRET = "CanaryWrongSecret0xBAD5EC12E7feed"


@pytest.fixture(scope="module")
def canary_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedSandbox]:
    """A served sandbox whose app secret is the canary (credentials written before it starts, which it reuses)."""
    root = tmp_path_factory.mktemp("canary")
    save_credentials(dataclasses.replace(generate_credentials(), app_secret=CANARY_SECRET), root / "keys")
    with served_sandbox(root) as sandbox:
        assert sandbox.credentials.app_secret == CANARY_SECRET
        yield sandbox


def pem_body_lines(pem: str) -> list[str]:
    return [line for line in pem.splitlines() if line and not line.startswith("-----")]


def issued_tokens(sandbox: ServedSandbox) -> list[str]:
    """Every access_token the sandbox has issued (read from its data file)."""
    with sqlite3.connect(f"file:{sandbox.data}?mode=ro", uri=True) as conn:
        return [str(row[0]) for row in conn.execute("SELECT token FROM tokens")]


def pg_dump_text(url: str) -> str:
    """Every row of every table of a PostgreSQL state, as text."""
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as conn:
        tables = [
            str(r[0]) for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
        ]
        parts = []
        for table in tables:
            parts += [str(r[0]) for r in conn.execute(f'SELECT t::text FROM "{table}" t').fetchall()]
    return "\n".join(parts)


def test_no_secret_in_any_output_log_state_or_plan(
    tmp_path: Path, canary_sandbox: ServedSandbox, backend: StateBackend, figures: Counter[str]
) -> None:
    """The canary app secret, the issued access_tokens and the private keys' PEM lines appear nowhere."""
    sandbox = canary_sandbox
    tag = f"sec{backend.name[:2]}"
    project = write_project(tmp_path / tag, sandbox, state_url=backend.new_url(tmp_path / tag))
    assert project.env["COUPONCTL_SHOP_APPSECRET"] == CANARY_SECRET
    first = campaign(tag, sandbox.credentials.appid, active=2, draft=1, products=3)
    outputs: list[str] = []

    def run(*args: str, code: int | tuple[int, ...] = 0, env: dict[str, str] | None = None) -> None:
        result = project.run(*args, env=env)
        outputs.extend([result.stdout, result.stderr])
        codes = code if isinstance(code, tuple) else (code,)
        assert result.returncode in codes, f"{args}: exit {result.returncode}\n{result.stdout}\n{result.stderr}"

    project.write_docs(first.docs)
    run("validate")
    for fmt in ("text", "json", "markdown"):
        run("-v", "plan", "--format", fmt)
    run("plan", "--out", "plan.json")
    run("show", "plan.json", "--format", "json")
    run("--debug", "-v", "apply", "plan.json")
    second, _calls = changed(first)
    project.write_docs(second.docs)
    run("plan", "--out", "plan2.json", "--format", "markdown")
    killed = project.run("apply", "--auto-approve", crash_at="after_call:2")
    outputs += [killed.stdout, killed.stderr]
    assert killed.returncode == -signal.SIGKILL
    run("-v", "--debug", "apply", "--auto-approve")  # settles the interrupted call first
    sandbox.patch_shop(f"{tag}-d00", {"coupon": {"coupon_info": {"name": "被改了"}}})
    run("-v", "drift", code=2)
    run("drift", "--format", "json", code=2)
    run("drift", "--format", "markdown", code=2)
    run("--debug", "refresh")
    run("history")
    run("state", "list")
    for address in sorted(second.addresses):
        run("state", "show", address)
    # Error paths, verbose and with tracebacks: a wrong app secret, a wrong merchant key, retried 5xx.
    run("--debug", "-v", "drift", code=1, env={"COUPONCTL_SHOP_APPSECRET": WRONG_SECRET})
    other_key = tmp_path / "other_key.pem"
    other_key.write_text(generate_credentials().merchant_private_key_pem, encoding="utf-8")
    run("--debug", "-v", "drift", code=1, env={"COUPONCTL_WECHATPAY_KEY_FILE": str(other_key)})
    sandbox.set_faults([{"operation": "shop.*", "kind": "http_status", "value": 500, "count": 3}])
    try:
        project.write_docs(
            [*second.docs, *campaign(f"{tag}x", sandbox.credentials.appid, active=1, draft=0, products=0).docs]
        )
        run("--debug", "-v", "apply", "--auto-approve")
    finally:
        sandbox.set_faults([])
    run("--debug", "apply", "--auto-approve", "--lock-timeout", "abc", code=1)
    run("history")

    secrets = {"app secret": CANARY_SECRET, "wrong app secret": WRONG_SECRET}
    for i, token in enumerate(issued_tokens(sandbox)):
        secrets[f"access_token #{i}"] = token
    assert any(k.startswith("access_token") for k in secrets), "the run must have used an access_token"
    creds = sandbox.credentials
    for name, pem in (("merchant private key", creds.merchant_private_key_pem), ("other key", other_key.read_text())):
        for n, line in enumerate(pem_body_lines(pem)):
            secrets[f"{name} line {n}"] = line
    haystacks: dict[str, bytes] = {f"output #{i}": text.encode() for i, text in enumerate(outputs)}
    for path in project.root.rglob("*"):
        if path.is_file():
            haystacks[str(path.relative_to(project.root))] = path.read_bytes()
    assert any(name.endswith(".db") for name in haystacks) or backend.name == "postgres"
    assert {"plan.json", "plan2.json"} <= set(haystacks)
    if backend.name == "postgres":
        haystacks["postgres state"] = pg_dump_text(project.state_url).encode()
    # The search itself works: the canary is found where it is meant to be (the sandbox's own credentials file).
    assert CANARY_SECRET.encode() in (sandbox.keys_dir / "sandbox.json").read_bytes()
    leaks = [
        f"{what} in {where}"
        for where, data in haystacks.items()
        for what, secret in secrets.items()
        if secret.encode() in data
    ]
    assert leaks == [], leaks
    figures[f"secrets.{backend.name}.commands_checked"] += len(outputs) // 2
    figures[f"secrets.{backend.name}.files_checked"] += len(haystacks) - len(outputs)
    figures[f"secrets.{backend.name}.secrets_searched"] += len(secrets)
    figures[f"secrets.{backend.name}.leaks"] += len(leaks)
