"""Environments from the command line (decision D26), in-process on the embedded sandbox: `--env` and
COUPONCTL_ENV select, `env list` shows them, nothing state-touching runs without one, a saved plan stays in its
environment, history names it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.e2e.coupons import shop_doc
from tests.inprocess import couponctl

TOML = """[upstream]
mode = "sandbox"
sandbox_brand_ids = ["120344"]

[env.staging]
out_coupon_id_prefix = "stg-"
[env.staging.state]
url = "sqlite:///state/staging.db"
[env.staging.overlay."shop_coupon.*"]
coupon_info.receive_info.total_num = 5

[env.prod.state]
url = "postgresql+psycopg://couponctl:hunter2@db.example/prod"
[env.prod.wechatpay]
brand_id = "120344"
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("COUPONCTL_ACTOR", "tester")
    monkeypatch.delenv("COUPONCTL_ENV", raising=False)
    (tmp_path / "couponctl.toml").write_text(TOML, encoding="utf-8")
    (tmp_path / "manifests").mkdir()
    (tmp_path / "manifests" / "shop.yaml").write_text(
        yaml.safe_dump(shop_doc("env-store-100-off-20"), allow_unicode=True), encoding="utf-8"
    )
    return tmp_path


def test_env_list_shows_each_environment_with_its_password_hidden(project: Path) -> None:
    result = couponctl("--env", "staging", "env", "list", cwd=project)
    assert result.returncode == 0, result.stderr
    lines = [line.split() for line in result.stdout.splitlines()]
    assert lines[0] == ["NAME", "STATE", "BRAND", "MODE"]
    assert lines[1] == ["*", "staging", "sqlite:///state/staging.db", "(the", "sandbox's)", "sandbox"]
    assert lines[2] == ["prod", "postgresql+psycopg://couponctl:***@db.example/prod", "120344", "sandbox"]
    assert "hunter2" not in result.stdout
    unselected = couponctl("env", "list", "--format", "json", cwd=project)
    assert [(e["name"], e["selected"]) for e in json.loads(unselected.stdout)] == [("staging", False), ("prod", False)]


def test_a_project_with_environments_refuses_state_commands_without_one(project: Path) -> None:
    for args in (("plan",), ("apply", "--auto-approve"), ("state", "list"), ("history",)):
        result = couponctl(*args, cwd=project)
        assert result.returncode == 1, args
        assert "declares the environments staging, prod: choose one with --env NAME or COUPONCTL_ENV" in result.stderr
    assert not (project / "state").exists()


def test_staging_applies_its_overlay_and_prefix_and_history_names_it(project: Path) -> None:
    """COUPONCTL_ENV selects like --env; staging's coupon is stg-…, with its overlay's total_num."""
    env = {"COUPONCTL_ENV": "staging"}
    applied = couponctl("apply", "--auto-approve", cwd=project, env=env)
    assert applied.returncode == 0, applied.stderr
    assert applied.stdout.startswith("Environment: staging")
    shown = json.loads(couponctl("state", "show", "shop_coupon.env-store-100-off-20", cwd=project, env=env).stdout)
    assert shown["upstream_id"] == "stg-env-store-100-off-20"
    assert shown["upstream"]["coupon_info"]["receive_info"]["total_num"] == 5
    runs = json.loads(couponctl("history", "--format", "json", cwd=project, env=env).stdout)
    assert runs and all(r["summary"]["environment"] == "staging" for r in runs)
    table = couponctl("history", cwd=project, env=env).stdout.splitlines()
    assert table[0].split()[-1] == "ENV" and table[1].split()[-1] == "staging"


def test_a_saved_plan_of_one_environment_is_refused_in_another(project: Path, tmp_path: Path) -> None:
    saved = tmp_path / "staging.plan"
    made = couponctl("--env", "staging", "plan", "--out", str(saved), cwd=project)
    assert made.returncode == 0, made.stderr
    other = project / "couponctl.toml"
    other.write_text(TOML.replace("postgresql+psycopg://couponctl:hunter2@db.example/prod", "sqlite:///state/prod.db"))
    refused = couponctl("--env", "prod", "apply", str(saved), cwd=project)
    assert refused.returncode == 1
    assert (
        "this saved plan was made for environment 'staging', but apply runs in environment 'prod'; nothing was "
        "applied. A plan applies only where it was made: make one for this environment with "
        "`couponctl --env prod plan --out FILE`"
    ) in refused.stderr
    assert not (project / "state" / "prod.db").exists()


def test_an_overlay_path_the_coupons_lack_stops_the_plan_naming_it(project: Path) -> None:
    toml = project / "couponctl.toml"
    toml.write_text(TOML.replace("receive_info.total_num = 5", "receive_info.totl_num = 5"), encoding="utf-8")
    result = couponctl("--env", "staging", "plan", cwd=project)
    assert result.returncode == 1
    key = '[env.staging.overlay."shop_coupon.*"] coupon_info.receive_info.totl_num'
    assert f"{key}: shop_coupon.env-store-100-off-20 (manifests" in result.stderr
    assert "has no field coupon_info.receive_info.totl_num" in result.stderr
