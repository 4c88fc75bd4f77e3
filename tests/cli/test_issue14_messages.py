"""Issue 14 small ones in messages: Request-ID once, lock-timeout advice not repeated, `history` keeps `-dirty`."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.cli import main
from reconciler.errors import LockInfo, UpstreamError
from reconciler.store.locking import lock_error
from tests.commands.conftest import write_project

HOLDER = LockInfo("3f2a9c1b7d44", "ci", "runner-1", 4242, "apply", "2026-11-29T10:00:00Z")


def test_request_id_in_the_message_is_not_repeated() -> None:
    """Shop errmsgs end with `rid: …`; the error names the id once. WeChat Pay ids (headers only) are added once."""
    rid = "6541a2b3-1c2d3e4f-5a6b7c8d"
    shop = UpstreamError(call="shop.add", message=f"invalid coupon rid: {rid}", code=9401020, request_id=rid)
    assert str(shop).count(rid) == 1
    pay = UpstreamError(call="product.create", message="bad param", http_status=400, request_id="08F0-268435456")
    assert str(pay).count("08F0-268435456") == 1 and "(Request-ID 08F0-268435456)" in str(pay)


def test_lock_timeout_advice_is_not_given_after_it_ran_out() -> None:
    """After waiting --lock-timeout, the message says how long it waited and does not advise waiting again."""
    waited = str(lock_error(HOLDER, backend="postgresql", waited=30))
    assert "Waited 30 s" in waited and "Wait for it with --lock-timeout" not in waited
    assert "couponctl state unlock 3f2a9c1b7d44" in waited
    fresh = str(lock_error(HOLDER, backend="postgresql"))
    assert "Wait for it with --lock-timeout SECONDS" in fresh


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    captured = capsys.readouterr()
    return int(exit_.value.code or 0), captured.out, captured.err


def test_history_keeps_the_dirty_marker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A run applied from a working tree with uncommitted changes shows `<commit>-dirty` in `history`."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COUPONCTL_ACTOR", "tester")
    monkeypatch.setenv("GITHUB_SHA", "0123456789abcdef0123456789abcdef01234567-dirty")
    write_project(tmp_path)
    code, out, err = run(["--no-color", "apply", "--auto-approve"], capsys)
    assert code == 0, out + err
    code, out, err = run(["--no-color", "history"], capsys)
    assert code == 0, err
    assert "0123456789-dirty" in out
