"""Every PATCH says in the plan that display changes reach only coupons issued afterwards (the PATCH doc page:
"修改只会对新发的券生效,历史已经发放给用户的券不会改变", reference B.7)."""

from __future__ import annotations

from reconciler.render.text import render_text
from tests.plan.test_render import showcase_plan


def test_every_patch_block_carries_the_issued_after_note_and_nothing_else_does() -> None:
    plan = showcase_plan()
    text = render_text(plan, color=False)
    blocks = text.split("\n\n")
    patching = [b for b in blocks if "calls: product.patch" in b]
    assert patching, "the showcase has a PATCH"
    for block in patching:
        assert "# note: display changes reach only coupons issued after the change" in block
        assert "coupons already in users' wallets keep the old display" in block
    others = [b for b in blocks if "calls:" in b and "product.patch" not in b]
    assert others and not any("reach only coupons issued after" in b for b in others)
