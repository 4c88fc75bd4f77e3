"""docs/configuration.md is generated from the key table (reconciler.config_schema) and must not drift from it;
the table names exactly the fields of the settings dataclasses, so a new setting cannot go undocumented."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from reconciler import config
from reconciler.config_schema import KEYS, SECTIONS, render_markdown

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"

SECTION_CLASSES = {
    "state": config.StateSettings,
    "upstream": config.UpstreamSettings,
    "shop": config.ShopSettings,
    "wechatpay": config.WechatPaySettings,
    "apply": config.ApplySettings,
    "drift": config.DriftSettings,
}


def test_docs_configuration_md_is_up_to_date() -> None:
    """The committed file equals the generated text (regenerate: python -m reconciler.config_schema > docs/...)."""
    assert DOC.read_text(encoding="utf-8") == render_markdown()


def test_the_table_names_every_setting_and_nothing_else() -> None:
    settings_fields = {f.name for f in dataclasses.fields(config.Settings)} - {
        "root",
        "config_file",
        "manifest_cache_dir",
    }
    assert set(SECTIONS) == (settings_fields - {"manifests"}) | {"manifests"}
    for section, cls in SECTION_CLASSES.items():
        assert {k.name for k in KEYS if k.section == section} == {f.name for f in dataclasses.fields(cls)}, section
    assert [k.name for k in KEYS if k.section == "manifests"] == ["paths", "cache_dir"]


def test_every_key_is_in_the_document() -> None:
    text = DOC.read_text(encoding="utf-8")
    for key in KEYS:
        assert f"| `{key.name}` |" in text.split(f"## [{key.section}]", 1)[1], key
