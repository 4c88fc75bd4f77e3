"""Every couponctl command line in the README, docs/ and the CI examples parses with the real CLI, and the
README's tour runs as written on a fresh copy of the repository (issue 10)."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest

from reconciler.cli import cli

REPO = Path(__file__).resolve().parents[2]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md")), *sorted((REPO / "docs" / "ci").glob("*.yml"))]
COMMAND = re.compile(r"(?<![\w./-])couponctl(\s+[^\n]*)?$")
SHELL_STOP = {"|", "||", "&&", ";", ">", ">>", "2>&1", "<"}


def code_lines(path: Path) -> list[str]:
    """Lines that are commands: fenced code blocks in Markdown, every line of a CI file."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".yml":
        return text.splitlines()
    lines: list[str] = []
    fence: str | None = None  # the language of the open fenced block; only shell blocks hold commands
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fence = None if fence is not None else (line.strip()[3:].strip() or "plain")
            continue
        if fence in ("sh", "bash", "shell", "console", "plain", "yaml", "yml"):
            lines.append(line)
    return lines


def command_args(line: str) -> list[str] | None:
    """The arguments after `couponctl` on a shell line, cut at comments, pipes and redirections."""
    stripped = line.strip().removeprefix("- run:").removeprefix("-").strip()
    if stripped.startswith("#"):
        return None
    match = re.search(r"(?:^|\s|/)couponctl(\s.*)?$", stripped)
    if match is None:
        return None
    tail = (match.group(1) or "").split(" #", 1)[0]
    tail = re.sub(r"\[[^\[\]]*\]", " ", tail)  # synopsis lines: optional [--flag VALUE] groups are optional
    try:
        tokens = shlex.split(tail)
    except ValueError:
        return None
    args: list[str] = []
    for token in tokens:
        if token in SHELL_STOP or token.startswith((">", "|")):
            break
        args.append(token)
    return args


def documented_commands() -> list[tuple[str, list[str]]]:
    found = []
    for path in DOCS:
        for number, line in enumerate(code_lines(path), 1):
            args = command_args(line)
            if args:  # a bare `couponctl` (shell-completion set-up) has nothing to parse
                found.append((f"{path.relative_to(REPO)}:{number}", args))
    return found


def parse(args: list[str]) -> None:
    """Parse like the real CLI would, down to the leaf command, without running anything."""
    ctx = cli.make_context("couponctl", list(args))
    rest = list(getattr(ctx, "_protected_args", [])) + list(ctx.args)
    if not rest:
        return
    name, cmd, rest = cli.resolve_command(ctx, rest)
    assert cmd is not None and name is not None
    sub = cmd.make_context(name, rest, parent=ctx)
    while isinstance(cmd, click.Group):
        rest = list(getattr(sub, "_protected_args", [])) + list(sub.args)
        name, cmd, rest = cmd.resolve_command(sub, rest)
        assert cmd is not None and name is not None
        sub = cmd.make_context(name, rest, parent=sub)


COMMANDS = documented_commands()


def test_the_docs_document_commands() -> None:
    """The scan finds the commands of the README, the CI examples and the docs (the test is not vacuous)."""
    places = {place.split(":")[0] for place, _ in COMMANDS}
    assert {"README.md", "docs/ci/github-actions.yml", "docs/ci/gitlab-ci.yml"} <= places
    assert len(COMMANDS) >= 20


@pytest.mark.parametrize(("place", "args"), COMMANDS, ids=[p for p, _ in COMMANDS])
def test_documented_command_parses(place: str, args: list[str]) -> None:
    """Each documented command line is accepted by the real CLI's parser."""
    try:
        parse(args)
    except click.exceptions.Exit:
        pass  # --help / --version
    except click.UsageError as exc:
        pytest.fail(f"{place}: couponctl {' '.join(args)}: {exc}")


def tour_lines() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = text.split("## A tour", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    return [line.split(" #", 1)[0].strip() for line in block.splitlines() if line.strip()]


def test_readme_tour_runs_as_written(tmp_path: Path) -> None:
    """On a fresh copy of the repository, the README's tour commands run as written and exit 0."""
    work = tmp_path / "repo"
    work.mkdir()
    shutil.copytree(REPO / "manifests", work / "manifests")
    shutil.copy(REPO / "couponctl.toml", work / "couponctl.toml")
    (work / "state").mkdir()
    bin_dir = Path(sys.executable).parent
    assert (bin_dir / "couponctl").exists(), "the couponctl console script is installed (pip install -e .)"
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}", "NO_COLOR": "1"}
    lines = tour_lines()
    assert lines and all(line.startswith("couponctl ") for line in lines)
    for line in lines:
        result = subprocess.run(line, shell=True, cwd=work, env=env, capture_output=True, text=True, check=False)
        assert result.returncode == 0, f"{line}\n{result.stdout}\n{result.stderr}"
        assert "Traceback" not in result.stderr
