"""The CLI's own contract: help, version, and one clean message with exit 1 for every error."""

from __future__ import annotations

import subprocess
import sys

from reconciler.errors import redact_url


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "reconciler", *args], capture_output=True, text=True, check=False)


def test_help_lists_commands_and_an_example() -> None:
    """`couponctl --help` shows the commands and at least one example."""
    result = run("--help")
    assert result.returncode == 0
    assert "Commands:" in result.stdout or "Usage:" in result.stdout
    assert "Examples:" in result.stdout


def test_unknown_command_is_exit_1_without_traceback() -> None:
    """A usage error exits 1 with one message and no traceback."""
    result = run("no-such-command")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "No such command" in result.stderr


def test_missing_explicit_config_is_one_clear_error() -> None:
    """An explicit --config that does not exist is a ConfigError: exit 1, one line, no traceback."""
    result = run("--config", "/nonexistent/couponctl.toml", "validate", "manifests")
    assert result.returncode == 1
    assert "config file not found" in result.stderr or "Error" in result.stderr
    assert "Traceback" not in result.stderr


def test_redact_url_hides_tokens_and_secrets() -> None:
    """access_token and secret query values never survive redaction."""
    url = "https://h/shop/coupon/add?access_token=ABC.def-123&x=1&secret=s3cr3t"
    red = redact_url(url)
    assert "ABC.def-123" not in red
    assert "s3cr3t" not in red
    assert "access_token=REDACTED" in red
    assert "x=1" in red


def test_detailed_exitcode_two_reaches_the_shell(tmp_path: object) -> None:
    """`plan --detailed-exitcode` with pending changes exits 2 (not 0): the code reaches the process."""
    import pathlib

    root = pathlib.Path(str(tmp_path))
    (root / "couponctl.toml").write_text('[upstream]\nmode = "sandbox"\nsandbox_brand_ids = ["120344"]\n')
    repo = pathlib.Path(__file__).resolve().parents[1]
    result = subprocess.run(
        [sys.executable, "-m", "reconciler", "plan", "--detailed-exitcode", str(repo / "manifests")],
        capture_output=True,
        text=True,
        check=False,
        cwd=root,
    )
    assert result.returncode == 2, result.stderr
    assert "Plan:" in result.stdout
