"""`couponctl state ...` and `couponctl history` as a user runs them: exit codes, messages, locking.

The commands run in-process through the real entry point (tests/inprocess.py); the last test runs the installed
executable, so the console script's error path (one message, exit 1, no traceback) is covered end to end.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa

from reconciler.resources import ResourceState
from reconciler.store import open_store
from reconciler.store import schema as state_schema
from reconciler.store.api import CallRecord
from tests.inprocess import Result, couponctl
from tests.store.test_locking import Holder
from tests.store.test_migrations import write_first_schema_state


class Cli:
    """Runs `couponctl --config <tmp couponctl.toml> ...` against one state, in the config's directory."""

    def __init__(self, config: Path, url: str) -> None:
        self.config = config
        self.url = url

    def __call__(self, *args: str) -> Result:
        result = couponctl("--config", str(self.config), *args, cwd=self.config.parent)
        assert "Traceback" not in result.stderr, result.stderr
        return result


def make_cli(tmp_path: Path, url: str) -> Cli:
    config = tmp_path / "couponctl.toml"
    config.write_text(f'[state]\nurl = "{url}"\n', encoding="utf-8")
    return Cli(config, url)


@pytest.fixture
def cli(tmp_path: Path, store_url: str) -> Cli:
    """The CLI on a new state, once per backend (for what differs by backend: locking, connecting)."""
    return make_cli(tmp_path, store_url)


@pytest.fixture
def sqlite_cli(tmp_path: Path) -> Cli:
    """The CLI on a new SQLite state, for behaviour the store tests already pin on both backends."""
    return make_cli(tmp_path, f"sqlite:///{tmp_path}/state/couponctl.db")


@pytest.fixture
def holders() -> Iterator[list[Holder]]:
    started: list[Holder] = []
    yield started
    for h in started:
        h.finish()


def seed(url: str) -> None:
    store = open_store(url)
    store.put(
        ResourceState(
            address="shop_coupon.d11",
            kind="ShopCoupon",
            upstream_id="d11",
            upstream={"out_coupon_id": "d11", "status": 2, "coupon_info": {"name": "双11满100减20"}},
            desired_digest="d" * 64,
        )
    )
    store.put(
        ResourceState(
            address="product_coupon.coffee",
            kind="ProductCoupon",
            upstream_id="1000000013",
            upstream={"product_coupon_id": "1000000013", "state": "EFFECTIVE"},
            desired_digest="e" * 64,
            protect=True,
            brand_id="120344",
        )
    )
    store.close()


def test_list_and_show(cli: Cli) -> None:
    """list shows every address with its upstream id and status; show prints one resource as JSON."""
    seed(cli.url)
    listed = cli("state", "list")
    assert listed.returncode == 0
    lines = listed.stdout.splitlines()
    assert lines[0].split() == ["ADDRESS", "UPSTREAM", "ID", "STATUS", "PROTECT"]
    assert lines[1].split() == ["product_coupon.coffee", "1000000013", "EFFECTIVE", "yes"]
    assert lines[2].split() == ["shop_coupon.d11", "d11", "active"]  # shop status 2 read as a word (issue 14)
    as_json = json.loads(cli("state", "list", "shop_coupon.", "--format", "json").stdout)
    assert [r["address"] for r in as_json] == ["shop_coupon.d11"]
    shown = cli("state", "show", "shop_coupon.d11")
    assert shown.returncode == 0
    data = json.loads(shown.stdout)
    assert data["upstream"]["coupon_info"]["name"] == "双11满100减20"
    assert (data["kind"], data["upstream_id"], data["status"]) == ("ShopCoupon", "d11", "2")
    missing = cli("state", "show", "shop_coupon.nope")
    assert missing.returncode == 1
    assert "no resource shop_coupon.nope in state" in missing.stderr


def test_rm_forgets_warns_and_records_history(cli: Cli) -> None:
    """rm removes the address, warns that the coupon stays upstream (with the import command), records a run."""
    seed(cli.url)
    result = cli("state", "rm", "product_coupon.coffee")
    assert result.returncode == 0, result.stderr
    assert "Removed product_coupon.coffee from state" in result.stdout
    assert "still exists upstream" in result.stderr
    assert "couponctl import product_coupon.coffee 1000000013" in result.stderr
    assert "product_coupon.coffee" not in cli("state", "list").stdout
    runs = json.loads(cli("history", "--format", "json").stdout)
    assert runs[0]["command"] == "state rm" and runs[0]["outcome"] == "ok"
    assert runs[0]["summary"]["removed"] == "product_coupon.coffee"


def test_rm_refuses_unknown_malformed_and_open_intent(sqlite_cli: Cli) -> None:
    """rm refuses an address state lacks, a malformed address, one an unfinished apply left an intent on, and one
    whose replaced coupon still awaits deactivation."""
    seed(sqlite_cli.url)
    store = open_store(sqlite_cli.url)
    run = store.begin_run("apply", actor="ci")
    store.open_intent(
        run,
        address="shop_coupon.d11",
        operation="shop.update_status",
        target="d11",
        out_request_no=None,
        payload={"status": 4},
        payload_digest="p",
    )
    store.close()
    unknown = sqlite_cli("state", "rm", "shop_coupon.ghost")
    assert unknown.returncode == 1
    assert "no resource shop_coupon.ghost in state" in unknown.stderr
    malformed = sqlite_cli("state", "rm", "coupon-without-kind")
    assert malformed.returncode == 1
    assert "invalid address" in malformed.stderr
    pending = sqlite_cli("state", "rm", "shop_coupon.d11")
    assert pending.returncode == 1
    assert "open intent" in pending.stderr and "couponctl apply" in pending.stderr
    store = open_store(sqlite_cli.url)
    coffee = store.get("product_coupon.coffee")
    assert coffee is not None
    store.put(replace(coffee, extra={"deposed": {"product_coupon_id": "1000000009", "brand_id": "120344"}}))
    store.close()
    deposed = sqlite_cli("state", "rm", "product_coupon.coffee")
    assert deposed.returncode == 1
    assert "(1000000009) is still waiting to be deactivated" in deposed.stderr
    listed = sqlite_cli("state", "list").stdout
    assert "shop_coupon.d11" in listed and "product_coupon.coffee" in listed


def test_mv_renames_and_refuses_what_is_unsafe(sqlite_cli: Cli) -> None:
    """mv renames an address; it refuses a kind change, an existing destination and an unknown source."""
    seed(sqlite_cli.url)
    moved = sqlite_cli("state", "mv", "shop_coupon.d11", "shop_coupon.d11-renamed")
    assert moved.returncode == 0, moved.stderr
    assert "Moved shop_coupon.d11 to shop_coupon.d11-renamed" in moved.stdout
    refusals = {
        ("shop_coupon.d11-renamed", "product_coupon.x"): "the kind would change",
        ("shop_coupon.d11-renamed", "product_coupon.coffee"): "the kind would change",
        ("product_coupon.coffee", "product_coupon.coffee"): "onto itself",
        ("shop_coupon.d11", "shop_coupon.other"): "no resource shop_coupon.d11 in state",
    }
    for (old, new), message in refusals.items():
        result = sqlite_cli("state", "mv", old, new)
        assert result.returncode == 1, (old, new)
        assert message in result.stderr, result.stderr
    store = open_store(sqlite_cli.url)
    store.put(
        ResourceState(address="shop_coupon.b", kind="ShopCoupon", upstream_id="b", upstream={}, desired_digest="")
    )
    store.close()
    taken = sqlite_cli("state", "mv", "shop_coupon.d11-renamed", "shop_coupon.b")
    assert taken.returncode == 1
    assert "shop_coupon.b already exists" in taken.stderr


def test_writers_fail_fast_wait_and_survive_a_killed_holder(cli: Cli, holders: list[Holder]) -> None:
    """A second writer fails fast naming the holder; --lock-timeout waits; after SIGKILL of the holder the next
    run takes the lock."""
    seed(cli.url)
    holder = Holder(cli.url, "apply")
    holders.append(holder)
    locked = cli("state", "rm", "shop_coupon.d11")
    assert locked.returncode == 1
    for part in (
        "state is locked",
        f"pid {holder.proc.pid}",
        "'apply'",
        holder.info["holder"],
        "held for",
        f"couponctl state unlock {holder.info['lock_id']}",
    ):
        assert part in locked.stderr, part
    holder.kill()
    after_kill = cli("state", "rm", "shop_coupon.d11")
    assert after_kill.returncode == 0, after_kill.stderr
    if cli.url.startswith("sqlite"):  # PostgreSQL needs no takeover: the server dropped the dead session's lock
        assert f"took over the state lock {holder.info['lock_id']}" in after_kill.stderr
    holders.append(Holder(cli.url, "refresh", seconds=1.0))
    waited = cli("state", "mv", "product_coupon.coffee", "product_coupon.coffee-2", "--lock-timeout", "20")
    assert waited.returncode == 0, waited.stderr
    assert "Moved" in waited.stdout


def test_unlock_refuses_then_releases(cli: Cli, holders: list[Holder]) -> None:
    """unlock refuses a wrong id and a live holder, and releases the lock of a holder that is gone."""
    holder = Holder(cli.url, "apply")
    holders.append(holder)
    wrong = cli("state", "unlock", "000000000000")
    assert wrong.returncode == 1
    assert "not the current lock" in wrong.stderr
    alive = cli("state", "unlock", holder.info["lock_id"])
    assert alive.returncode == 1
    assert "refusing to unlock" in alive.stderr
    holder.kill()
    released = cli("state", "unlock", holder.info["lock_id"])
    assert released.returncode == 0, released.stderr
    assert f"Released lock {holder.info['lock_id']}" in released.stdout


def test_history_lists_runs_and_shows_calls(sqlite_cli: Cli) -> None:
    """history lists runs with who, commit, plan digest, outcome and call count; --run shows Request-IDs."""
    store = open_store(sqlite_cli.url)
    run = store.begin_run("apply", actor="alice@ci", git_commit="0123456789abcdef", plan_digest="f" * 64)
    store.record_call(
        run,
        CallRecord(
            "product_coupon.coffee",
            "product.create",
            "ok",
            out_request_no="REQ-0001",
            request_id="RID-9",
            http_status=200,
        ),
    )
    store.record_call(run, CallRecord("shop_coupon.d11", "shop.add", "error", code="9401020", message="参数错误"))
    store.end_run(run, "partial", {"applied": 1, "failed": 1})
    store.close()
    table = sqlite_cli("history")
    assert table.returncode == 0
    header, row = table.stdout.splitlines()[:2]
    assert header.split()[:3] == ["RUN", "STARTED", "(UTC)"]
    assert row.split()[2:] == ["alice@ci", "apply", "0123456789", "f" * 12, "partial", "2"]
    detail = sqlite_cli("history", "--run", str(run))
    assert detail.returncode == 0
    assert "REQ-0001" in detail.stdout and "RID-9" in detail.stdout and "参数错误" in detail.stdout
    as_json = json.loads(sqlite_cli("history", "--run", str(run), "--format", "json").stdout)
    assert [c["request_id"] for c in as_json["call_records"]] == ["RID-9", None]
    unknown = sqlite_cli("history", "--run", "999")
    assert unknown.returncode == 1
    assert "no run 999 in history" in unknown.stderr


def test_upgrade_migrates_a_first_schema_state(sqlite_cli: Cli) -> None:
    """`state upgrade` names the revision it came from and the one it reached; a second run has nothing to do."""
    write_first_schema_state(sqlite_cli.url)
    first = sqlite_cli("state", "upgrade")
    assert first.returncode == 0, first.stderr
    head = state_schema.head_revision()
    assert f"upgraded from revision r0001 to {head}" in first.stdout
    assert f"already at revision {head}" in sqlite_cli("state", "upgrade").stdout
    assert "shop_coupon.d11" in sqlite_cli("state", "list").stdout


def test_a_newer_state_is_refused_by_every_command(sqlite_cli: Cli) -> None:
    """A state written by a newer couponctl is refused with both revisions named, exit 1, no traceback."""
    seed(sqlite_cli.url)
    engine = sa.create_engine(sqlite_cli.url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = 'r0042'"))
    engine.dispose()
    for args in (("state", "list"), ("state", "rm", "shop_coupon.d11"), ("history",)):
        result = sqlite_cli(*args)
        assert result.returncode == 1
        assert "r0042" in result.stderr and state_schema.head_revision() in result.stderr


def test_an_unreachable_state_names_the_url_without_the_password(tmp_path: Path) -> None:
    """A PostgreSQL state that cannot be reached is one clear error, and the password never shows (the installed
    executable, as a user runs it)."""
    config = tmp_path / "couponctl.toml"
    config.write_text('[state]\nurl = "postgresql+psycopg://ci:s3cr3t@127.0.0.1:1/couponctl"\n', encoding="utf-8")
    result = subprocess.run(
        [str(Path(sys.executable).parent / "couponctl"), "--config", str(config), "state", "list"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 1
    assert "cannot open state at postgresql+psycopg://ci:***@127.0.0.1:1/couponctl" in result.stderr
    assert "s3cr3t" not in result.stderr + result.stdout
