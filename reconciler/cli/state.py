"""`couponctl state ...` and `couponctl history`: inspect and carefully edit the state store."""

from __future__ import annotations

import click


@click.group()
def state() -> None:
    """Inspect and edit the state store (list, show, rm, mv, unlock, upgrade)."""


@click.command()
def history() -> None:
    """Past runs that wrote state: when, who, git commit, plan digest, outcome and calls."""
