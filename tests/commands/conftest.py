"""A temporary couponctl project on the embedded sandbox, for calling the command functions in-process."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from reconciler.config import Settings, load_settings
from tests.e2e.coupons import shop_doc, shop_draft

BEFORE_CAMPAIGN = datetime(2028, 10, 1, tzinfo=UTC)  # the manifests' claim windows open on 2028-11-11


def fixed_clock() -> datetime:
    return BEFORE_CAMPAIGN


def write_project(root: Path, extra_toml: str = "") -> Settings:
    """couponctl.toml (embedded sandbox, state under root/state) and two shop coupons under root/manifests."""
    (root / "couponctl.toml").write_text('[upstream]\nmode = "sandbox"\n' + extra_toml, encoding="utf-8")
    manifests = root / "manifests"
    manifests.mkdir()
    docs = [shop_doc("cmd-store-100-off-20"), shop_draft()]
    (manifests / "shop.yaml").write_text(yaml.safe_dump_all(docs, allow_unicode=True), encoding="utf-8")
    return load_settings(cwd=root)


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.chdir(tmp_path)  # manifest paths are shown relative to the working directory
    monkeypatch.setenv("COUPONCTL_ACTOR", "tester")
    return write_project(tmp_path)
