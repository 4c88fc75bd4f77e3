"""End-to-end fixtures: the real CLI, as a subprocess, against the sandbox served over HTTP on 127.0.0.1.

The project under test is configured in real mode (`[upstream] mode = "wechat"`) with `base_url` pointing at the
served sandbox and the credentials it wrote to its keys dir, so the same signing, verification and token code runs
as against WeChat. Secrets reach the CLI only through the environment, as in production.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.sandbox_server import ServedSandbox, served_sandbox
from tests.support.real_mode import served_sandbox_env, served_sandbox_toml

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Project:
    """A scratch couponctl project wired to a served sandbox."""

    root: Path
    sandbox: ServedSandbox
    env: dict[str, str] = field(default_factory=dict)

    def run(self, *args: str, input: str | None = None, check: bool = False) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "-m", "reconciler", "--no-color", *args],
            cwd=self.root,
            env=self.env,
            input=input,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"couponctl {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
            )
        return result

    @property
    def manifests(self) -> Path:
        return self.root / "manifests"

    def edit(self, relative: str, old: str, new: str, count: int = 1) -> None:
        path = self.manifests / relative
        text = path.read_text(encoding="utf-8")
        assert old in text, f"{old!r} not in {path}"
        path.write_text(text.replace(old, new, count), encoding="utf-8")

    def addresses(self) -> list[str]:
        """The addresses `couponctl state list` prints (first column, header skipped)."""
        lines = self.run("state", "list", check=True).stdout.splitlines()
        return [line.split()[0] for line in lines[1:] if line.strip() and "." in line.split()[0]]

    def shop_coupons(self) -> list[dict[str, Any]]:
        """The sandbox's shop coupons (the `coupon` objects)."""
        return [doc["coupon"] for doc in self.sandbox.state()["shop_coupons"]]

    def mutating_calls(self) -> list[dict[str, Any]]:
        mutating = {
            "shop.add",
            "shop.update",
            "shop.update_status",
            "shop.update_coupon_stock",  # the sandbox's name of shop.update_stock (decision D30)
            "product.create",
            "product.patch",
            "product.deactivate",
        }
        return [c for c in self.sandbox.calls() if c["operation"] in mutating]


def write_project(
    root: Path, sandbox: ServedSandbox, *, state_url: str | None = None, wechatpay_url: str | None = None
) -> Project:
    root.mkdir(parents=True, exist_ok=True)
    if not (root / "manifests").exists():
        shutil.copytree(REPO / "manifests", root / "manifests")
    state = state_url or f"sqlite:///{root / 'state' / 'couponctl.db'}"
    toml = served_sandbox_toml(
        sandbox.keys_dir,
        sandbox.url,
        state_url=state,
        wechatpay_url=wechatpay_url,
        apply_toml="max_retries = 8\nrequest_timeout_s = 2.0",
    )
    (root / "couponctl.toml").write_text(toml, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("COUPONCTL_")}
    env.update(served_sandbox_env(sandbox.keys_dir))
    env["NO_COLOR"] = "1"
    env["PYTHONPATH"] = str(REPO)
    return Project(root=root, sandbox=sandbox, env=env)


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[ServedSandbox]:
    (tmp_path / "sandbox").mkdir()
    with served_sandbox(tmp_path / "sandbox", extra_brand_ids=["120344"]) as served:
        yield served


@pytest.fixture
def project(tmp_path: Path, sandbox: ServedSandbox) -> Project:
    return write_project(tmp_path / "project", sandbox)
