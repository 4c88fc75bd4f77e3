"""docs/manifests.md is generated from the models and must not drift from them."""

from __future__ import annotations

from pathlib import Path

from reconciler.manifest.limits import LIMITS
from reconciler.manifest.reference_doc import render_manifest_reference

DOC = Path(__file__).resolve().parents[2] / "docs" / "manifests.md"


def test_docs_manifests_md_is_up_to_date() -> None:
    """The committed docs/manifests.md equals the generated text (regenerate with reference_doc's __main__)."""
    assert DOC.read_text(encoding="utf-8") == render_manifest_reference()


def test_reference_lists_every_limit_and_both_kinds() -> None:
    """Every named limit and both document kinds appear in the reference."""
    text = render_manifest_reference()
    assert "## ShopCouponDocument" in text and "## ProductCouponDocument" in text
    for name in LIMITS:
        assert f"`{name}`" in text
