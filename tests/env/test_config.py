"""couponctl.toml environments (decision D26): `[env.NAME]` laid over the file's sections, selected by name; what
two environments must never share is refused when the file is read."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.config import load_settings
from reconciler.errors import ConfigError

TWO = """
[state]
url = "sqlite:///state/base.db"
[wechatpay]
brand_id = "111"
[apply]
parallelism = 4
[env.staging]
out_coupon_id_prefix = "stg-"
[env.staging.state]
url = "sqlite:///state/staging.db"
[env.staging.wechatpay]
brand_id = "120344"
[env.staging.apply.rate_limits]
"product.create" = 2
[env.staging.overlay."shop_coupon.*"]
coupon_info.receive_info.total_num = 10
[env.prod.state]
url = "postgresql+psycopg://couponctl:s3cret@db/prod"
"""


def _write(root: Path, text: str) -> Path:
    (root / "couponctl.toml").write_text(text, encoding="utf-8")
    return root


def test_an_environment_is_the_file_with_its_own_sections_laid_over_it(tmp_path: Path) -> None:
    """Its state, brand and rates replace the file's; keys it does not set (parallelism) keep the file's value."""
    root = _write(tmp_path, TWO)
    staging = load_settings(cwd=root, environment="staging")
    assert staging.state_url == f"sqlite:///{root / 'state' / 'staging.db'}"
    assert staging.wechatpay.brand_id == "120344"
    assert staging.apply.rate_limits["product.create"] == 2.0
    assert staging.apply.rate_limits["product.get"] == 20.0  # merged over the documented limits
    assert staging.apply.parallelism == 4
    assert (staging.env.name, staging.env.names, staging.env.out_coupon_id_prefix) == (
        "staging",
        ("staging", "prod"),
        "stg-",
    )
    assert [(r.selector, r.path, r.value) for r in staging.env.overlay] == [
        ("shop_coupon.*", "coupon_info.receive_info.total_num", 10)
    ]
    prod = load_settings(cwd=root, environment="prod")
    assert prod.wechatpay.brand_id == "111" and prod.env.overlay == () and prod.env.out_coupon_id_prefix == ""


def test_without_environments_nothing_changes(tmp_path: Path) -> None:
    """A file with no [env.*]: the same settings as before, no environment."""
    root = _write(tmp_path, '[state]\nurl = "sqlite:///state/x.db"\n')
    settings = load_settings(cwd=root)
    assert (settings.env.name, settings.env.names, settings.env.overlay) == (None, (), ())
    with pytest.raises(ConfigError, match=r"no environment 'prod'; it declares no \[env.NAME\] section"):
        load_settings(cwd=root, environment="prod")


def test_an_unknown_environment_is_named_with_a_suggestion(tmp_path: Path) -> None:
    root = _write(tmp_path, TWO)
    message = r"no environment 'stagin' \(did you mean 'staging'\?\); declared: staging, prod"
    with pytest.raises(ConfigError, match=message):
        load_settings(cwd=root, environment="stagin")


def test_two_environments_on_one_state_are_refused(tmp_path: Path) -> None:
    """An environment without its own [env.NAME.state] shares the file's: refused, naming both."""
    root = _write(tmp_path, '[env.staging]\nout_coupon_id_prefix = "stg-"\n[env.prod]\n')
    with pytest.raises(ConfigError, match=r"environments 'staging' and 'prod' use the same state \(sqlite:///"):
        load_settings(cwd=root, environment="prod")
    same_file = '[env.a.state]\nurl = "sqlite:///state/x.db"\n[env.b.state]\nurl = "sqlite:///state/../state/x.db"\n'
    with pytest.raises(ConfigError, match="environments 'a' and 'b' use the same state"):
        load_settings(cwd=_write(tmp_path, same_file))


def test_two_environments_on_one_shop_need_different_prefixes(tmp_path: Path) -> None:
    """One embedded sandbox (one shop) and no prefix: their shop coupons would be one coupon upstream."""
    text = '[env.a.state]\nurl = "sqlite:///state/a.db"\n[env.b.state]\nurl = "sqlite:///state/b.db"\n'
    root = _write(tmp_path, text)
    with pytest.raises(ConfigError, match=r"'a' and 'b' share one Mini Program shop .* out_coupon_id_prefix \(none\)"):
        load_settings(cwd=root)
    _write(tmp_path, text.replace("[env.b.state]", '[env.b]\nout_coupon_id_prefix = "b-"\n[env.b.state]'))
    assert load_settings(cwd=root, environment="b").env.out_coupon_id_prefix == "b-"


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[env.Prod]\n", r"\[env.Prod\]: an environment's name is 1-32 of lower-case letters"),
        ("[env.prod]\nstate_url = 'x'\n", r"\[env.prod\] unknown key 'state_url'"),
        ("[env.prod.state]\nurll = 'x'\n", r"\[env.prod.state\] unknown key 'urll' \(did you mean 'url'\?\)"),
        ("[env.prod.apply]\nparallelism = 0\n", r"\[env.prod.apply\] parallelism must be at least 1"),
        ("[env.prod.shop]\nsecret = 'x'\n", r"\[env.prod.shop\] secret: secrets never go in couponctl.toml"),
        ("[env.prod]\nout_coupon_id_prefix = 'a b'\n", r"out_coupon_id_prefix must be 1-16 of"),
        ("[env.prod.overlay.total_num]\nx = 1\n", r'\[env.prod.overlay."total_num"\]: an overlay applies to a kind'),
        ("[env.prod.overlay.'shop_coupon.*']\nout_coupon_id = 'x'\n", r"cannot change a coupon's identity"),
        ("[env.prod.env.x]\n", r"\[env.prod\] unknown key 'env'"),
    ],
)
def test_mistakes_in_an_environment_are_named_with_its_section(tmp_path: Path, toml: str, message: str) -> None:
    root = _write(tmp_path, toml)
    with pytest.raises(ConfigError, match=message):
        load_settings(cwd=root, environment="prod")


def test_the_other_environments_shop_coupons_are_expected_not_drift(tmp_path: Path) -> None:
    """On one shop, staging (prefix stg-) and prod (none): each expects exactly the other's out_coupon_ids."""
    text = '[env.staging]\nout_coupon_id_prefix = "stg-"\n[env.staging.state]\nurl = "sqlite:///s.db"\n'
    root = _write(tmp_path, text + '[env.prod.state]\nurl = "sqlite:///p.db"\n')

    def expected(env: str, out_coupon_id: str) -> bool:
        rules = load_settings(cwd=root, environment=env).drift.expected_unmanaged
        return any(r.matches({"out_coupon_id": out_coupon_id}) for r in rules)

    assert expected("prod", "stg-d11-a") and not expected("prod", "d11-a")
    assert expected("staging", "d11-a") and expected("staging", "stg") and not expected("staging", "stg-d11-a")
    assert load_settings(cwd=root, environment="prod").drift.expected_unmanaged[0].reason == (
        "environment staging's shop coupons (the same shop)"
    )
