"""The project root is found like git finds .git (issue 14, item 8): running from manifests/ uses the root's
couponctl.toml and creates nothing under manifests/; with no couponctl.toml anywhere, couponctl refuses to create a
state or sandbox keys; --config and COUPONCTL_CONFIG name the file; .gitignore cannot miss state files or keys."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.inprocess import couponctl

REPO = Path(__file__).resolve().parents[2]


def files_under(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")}


def copy_repo_layout(root: Path) -> Path:
    shutil.copytree(REPO / "manifests", root / "manifests")
    shutil.copy(REPO / "couponctl.toml", root / "couponctl.toml")
    return root


def test_running_from_manifests_finds_the_root_config_and_creates_nothing_under_manifests(tmp_path: Path) -> None:
    """Acceptance: `cd manifests && couponctl plan .` plans with the root's config; the state and the sandbox keys
    are created under the root's state/, and manifests/ holds exactly what it held."""
    root = copy_repo_layout(tmp_path / "repo")
    before = files_under(root / "manifests")
    result = couponctl("plan", ".", cwd=root / "manifests")
    assert result.returncode == 0, result.stderr
    assert "Plan: 7 to add" in result.stdout
    assert files_under(root / "manifests") == before
    assert (root / "state" / "couponctl.db").is_file()
    assert (root / "state" / "sandbox" / "keys" / "sandbox.json").is_file()
    # And from deeper down, with the default paths: the configured manifests, relative to the config's folder.
    again = couponctl("plan", "--detailed-exitcode", cwd=root / "manifests" / "double11-2028")
    assert again.returncode == 2 and "Plan: 7 to add" in again.stdout, again.stderr
    assert files_under(root / "manifests") == before


def test_without_a_config_file_no_state_or_keys_are_created(tmp_path: Path) -> None:
    shutil.copytree(REPO / "manifests", tmp_path / "manifests")
    before = files_under(tmp_path)
    result = couponctl("plan", cwd=tmp_path / "manifests")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(
        f"Error: no couponctl.toml in {tmp_path / 'manifests'} or any folder above it, "
        "so couponctl will not create a new state database at "
    )
    assert files_under(tmp_path) == before
    assert couponctl("validate", ".", cwd=tmp_path / "manifests").returncode == 0  # offline checks still work


def test_config_option_and_environment_variable(tmp_path: Path) -> None:
    root = copy_repo_layout(tmp_path / "repo")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    by_option = couponctl("--config", str(root / "couponctl.toml"), "plan", cwd=elsewhere)
    assert by_option.returncode == 0 and "Plan: 7 to add" in by_option.stdout, by_option.stderr
    by_env = couponctl("plan", cwd=elsewhere, env={"COUPONCTL_CONFIG": str(root / "couponctl.toml")})
    assert by_env.returncode == 0 and "Plan: 7 to add" in by_env.stdout, by_env.stderr
    assert files_under(elsewhere) == set()
    missing = couponctl("plan", cwd=elsewhere, env={"COUPONCTL_CONFIG": str(tmp_path / "nope.toml")})
    assert missing.returncode == 1
    assert missing.stderr == f"Error: config file not found: {tmp_path / 'nope.toml'} (from COUPONCTL_CONFIG)\n"


def test_gitignore_cannot_miss_state_files_or_keys(tmp_path: Path) -> None:
    """Whatever folder couponctl ran in, its state, sandbox data and keys are ignored; state/README.md is not."""
    shutil.copy(REPO / ".gitignore", tmp_path / ".gitignore")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    paths = [
        "state/couponctl.db",
        "state/sandbox/sandbox.db",
        "state/sandbox/keys/sandbox.json",
        "state/sandbox/keys/merchant_private_key.pem",
        "manifests/state/couponctl.db",
        "manifests/state/sandbox/keys/sandbox.json",
        "manifests/state/sandbox/keys/wechatpay_private_key.pem",
        "manifests/state/anything",
        "keys/apiclient_key.pem",
        "other.db-wal",
    ]
    for path in [*paths, "state/README.md", "manifests/campaign.yaml"]:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("x", encoding="utf-8")
    ignored = subprocess.run(
        [
            "git",
            "-C",
            str(tmp_path),
            "check-ignore",
            "--no-index",
            *paths,
            "state/README.md",
            "manifests/campaign.yaml",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert set(ignored.stdout.split()) == set(paths)
    tracked_but_ignored = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "-ci", "--exclude-standard"], capture_output=True, text=True, check=True
    )
    assert tracked_but_ignored.stdout == ""
