"""Unmanaged shop coupons declared expected (`[[drift.expected_unmanaged]]`): matched, reported, never drift."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.config import load_settings
from reconciler.errors import ConfigError
from reconciler.plan.drift import ExpectedUnmanaged, parse_expected_unmanaged, partition_unmanaged
from reconciler.render.drift import DriftReport, render_drift

LISTED = [
    {"out_coupon_id": "team-b-spring", "coupon_info": {"name": "B 春季满减"}},
    {"out_coupon_id": "ours-forgotten", "coupon_info": {"name": "满100减20"}},
    {"out_coupon_id": "ours-managed", "coupon_info": {"name": "满100减20"}},
]


def test_a_pattern_covers_its_coupons_and_only_them() -> None:
    """A glob on out_coupon_id moves matching unmanaged coupons out of drift, with the entry's reason."""
    rules = (ExpectedUnmanaged("team B's", out_coupon_id="team-b-*"),)
    drift, expected = partition_unmanaged(LISTED, {"ours-managed"}, rules)
    assert [d.upstream_id for d in drift] == ["ours-forgotten"]
    assert [(e.upstream_id, e.reason, e.rule) for e in expected] == [
        ("team-b-spring", "team B's", 'out_coupon_id = "team-b-*"')
    ]


def test_a_name_pattern_and_both_keys() -> None:
    """`name` globs coupon_info.name; an entry giving both keys needs both to match."""
    by_name = (ExpectedUnmanaged("B", name="B *"),)
    assert [e.upstream_id for e in partition_unmanaged(LISTED, set(), by_name)[1]] == ["team-b-spring"]
    both = (ExpectedUnmanaged("B", out_coupon_id="ours-*", name="B *"),)
    assert partition_unmanaged(LISTED, set(), both)[1] == []


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"out_coupon_id": "x"}, "must be an array of tables"),
        ([{"out_coupon_id": "x"}], "#1: reason is required"),
        ([{"reason": "why"}], "#1: give out_coupon_id"),
        ([{"out_coupon_id": "x", "reason": "  "}], "#1: reason must be a non-empty string"),
        ([{"out_coupon_id": 3, "reason": "why"}], "#1: out_coupon_id must be a non-empty string"),
        ([{"out_coupon_id": "x", "reason": "r"}, {"out_cupon_id": "x", "reason": "r"}], 'did you mean "out_coupon_id"'),
        (["x"], "#1 must be a table"),
    ],
)
def test_every_mistake_is_one_named_error(raw: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        parse_expected_unmanaged(raw, "couponctl.toml: [drift] expected_unmanaged")


def test_config_file_section_is_read_and_checked(tmp_path: Path) -> None:
    """couponctl.toml's [drift] section reaches the settings; an unknown key in it is refused."""
    (tmp_path / "couponctl.toml").write_text(
        '[[drift.expected_unmanaged]]\nout_coupon_id = "team-b-*"\nreason = "team B"\n', encoding="utf-8"
    )
    settings = load_settings(cwd=tmp_path)
    assert settings.drift.expected_unmanaged == (ExpectedUnmanaged("team B", out_coupon_id="team-b-*"),)
    (tmp_path / "couponctl.toml").write_text("[drift]\nexpected = []\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\[drift\] unknown key"):
        load_settings(cwd=tmp_path)


def test_report_lists_expected_coupons_and_exits_clean() -> None:
    """Only expected coupons: not drifted; text, JSON and Markdown all show them with their reason."""
    drift, expected = partition_unmanaged(LISTED[:1], set(), (ExpectedUnmanaged("team B's", "team-b-*"),))
    report = DriftReport(tuple(drift), (), 0, 1, expected=tuple(expected))
    assert not report.drifted
    text = render_drift(report, "text")
    assert "Expected unmanaged shop coupons (1)" in text and "team B's" in text and "No drift." in text
    doc = json.loads(render_drift(report, "json"))
    assert doc["drifted"] is False and doc["expected_unmanaged"][0]["reason"] == "team B's"
    assert "team B's" in render_drift(report, "markdown")


def test_undeclared_unmanaged_advice_is_import_or_declare_not_refresh() -> None:
    """The advice for an unmanaged coupon names the import command and the declaration, not refresh/apply."""
    drift, _ = partition_unmanaged(LISTED[1:2], set(), ())
    text = render_drift(DriftReport(tuple(drift), (), 0, 1), "text")
    assert "adopt: couponctl import shop_coupon.ours-forgotten ours-forgotten" in text
    assert 'out_coupon_id = "ours-forgotten"' in text
    assert "refresh" not in text
