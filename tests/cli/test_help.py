"""Every command's --help gives an example (issue 10)."""

from __future__ import annotations

import click
from click.testing import CliRunner

from reconciler.cli import cli


def all_commands(group: click.Group, prefix: list[str]) -> list[list[str]]:
    ctx = click.Context(group)
    found = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        found.append([*prefix, name])
        if isinstance(command, click.Group):
            found.extend(all_commands(command, [*prefix, name]))
    return found


def test_every_command_help_has_an_example() -> None:
    """`couponctl <command> --help` shows an example for every command and subcommand."""
    runner = CliRunner()
    commands = all_commands(cli, [])
    assert len(commands) >= 15
    missing = [" ".join(c) for c in commands if "Example" not in runner.invoke(cli, [*c, "--help"]).output]
    assert missing == []
