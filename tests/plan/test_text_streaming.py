"""The text plan written as it is rendered (issue 20): the same bytes as the whole text, in one piece per action."""

from __future__ import annotations

import click
import pytest

from reconciler.cli.output import emit_plan
from reconciler.render.text import render_text, text_chunks
from tests.plan.literals import plan_of, shop, shop_body


@pytest.mark.parametrize("color", [False, True])
def test_chunks_join_to_the_whole_text_and_emit_writes_the_same(
    color: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    desired = [shop(f"s{i}", body=shop_body(f"s{i}"), file=f"manifests/f{i % 2}.yaml") for i in range(3)]
    plan = plan_of(desired, [])
    chunks = list(text_chunks(plan, color=color))
    assert len(chunks) == 4  # one per create, then the closing lines
    assert all(chunk.endswith("\n") for chunk in chunks)
    whole = render_text(plan, color=color)
    assert "".join(chunks) == whole and "3 to add" in whole
    click.echo(whole.rstrip("\n"))  # what emit_plan wrote before it streamed
    before = capsys.readouterr().out
    emit_plan(plan, "text", color=color)
    assert capsys.readouterr().out == before


def test_a_plan_without_actions_is_one_piece(capsys: pytest.CaptureFixture[str]) -> None:
    plan = plan_of([], [])
    assert list(text_chunks(plan)) == [render_text(plan)]
    emit_plan(plan, "text", color=False)
    assert capsys.readouterr().out == render_text(plan).rstrip("\n") + "\n"
