"""`couponctl doctor` in-process on the embedded sandbox (its prerequisites are off, so every check passes), and its
failures that need no upstream: a broken couponctl.toml, --notify-url without --fix (decision D32)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.cli import main
from tests.commands.conftest import write_project


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    captured = capsys.readouterr()
    return int(exit_.value.code or 0), captured.out, captured.err


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    write_project(tmp_path)
    return tmp_path


def test_doctor_passes_on_the_embedded_sandbox(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["--no-color", "doctor"], capsys)
    assert code == 0, out + err
    lines = out.splitlines()
    assert lines[0] == "couponctl doctor: embedded sandbox (state/sandbox)"
    names = [line.split(":")[0] for line in lines[1:-1]]
    assert names == [
        "ok   project.config",
        "ok   project.credentials",
        "ok   shop.token",
        "ok   shop.confirm",
        "ok   product.signing",
        "ok   product.notify_config",
        names[-1],
    ]
    assert names[-1].startswith("ok   product.brand ")
    assert lines[-1] == "All 7 checks passed: ready to apply."
    secret = json.loads((project / "state/sandbox/keys/sandbox.json").read_text())["app_secret"]
    assert secret not in out + err


def test_doctor_json(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["doctor", "--json"], capsys)
    assert code == 0
    report = json.loads(out)
    assert report["ok"] is True and report["upstream"].startswith("embedded sandbox")
    assert [c["check"] for c in report["checks"]][:3] == ["project.config", "project.credentials", "shop.token"]
    assert all("fix" not in c for c in report["checks"])
    assert json.loads(run(["doctor", "--format", "json"], capsys)[1]) == report


def test_doctor_checks_extra_brands(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The embedded sandbox authorises only its own brand (and [upstream] sandbox_brand_ids): another one fails."""
    code, out, _ = run(["--no-color", "doctor", "--brand", "999999"], capsys)
    assert code == 1
    assert "FAIL product.brand 999999: brand has not authorised partner" in out
    assert "fix: the brand 999999 must authorise partner" in out
    assert out.splitlines()[-1] == "1 of 8 checks failed: fix them, then run couponctl doctor again."


def test_doctor_reports_a_broken_configuration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    (tmp_path / "couponctl.toml").write_text("[upstream\nmode = 1\n", encoding="utf-8")
    code, out, _ = run(["--no-color", "doctor"], capsys)
    assert code == 1
    assert out.startswith("FAIL project.config: ")
    assert "fix: correct couponctl.toml" in out


def test_notify_url_needs_fix_and_https(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["doctor", "--notify-url", "https://example.com/n"], capsys)
    assert code == 1 and "needs --fix" in err
    code, _, err = run(["doctor", "--fix", "--notify-url", "http://example.com/n"], capsys)
    assert code == 1 and "must be an https URL" in err


def test_missing_credentials_fail_their_family_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Real mode with a shop appid but no app secret in the environment: the shop's credentials check fails naming
    the variable, nothing is sent for that family, and a family that is not configured is not checked."""
    monkeypatch.chdir(tmp_path)
    for name in ("COUPONCTL_SHOP_APPSECRET", "COUPONCTL_SHOP_APPSECRET_FILE"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "couponctl.toml").write_text(
        '[upstream]\nmode = "wechat"\n\n[shop]\nappid = "wx1234567890abcdef"\nbase_url = "http://127.0.0.1:9"\n',
        encoding="utf-8",
    )
    code, out, _ = run(["--no-color", "doctor"], capsys)
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == "couponctl doctor: WeChat"
    assert lines[2].startswith("FAIL shop.credentials: no Mini Program app secret: set the environment variable")
    assert not any(
        line.startswith(("ok   shop.token", "FAIL shop.token", "ok   product", "FAIL product")) for line in lines
    )
