"""`couponctl state ...` and `couponctl history`: inspect the state store, and edit it where that is safe.

Reading commands (list, show, history) take no lock. Writing ones (rm, mv) take the state lock, refuse what they
cannot do safely (the store says why), and record a run in history. Nothing here ever calls WeChat.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import click

from reconciler.cli import app
from reconciler.commands import state as commands
from reconciler.commands.state import CallRecord, RunRecord
from reconciler.render.values import status_word
from reconciler.resources import ResourceState

LOCK_TIMEOUT_HELP = "Wait up to SECONDS for the state lock instead of failing at once (default: [state] lock_timeout)."


def _no_state(reason: str) -> None:
    click.echo(f"No state yet ({reason}): nothing is managed.", err=True)


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip() for line in [headers, *rows]]
    return "\n".join(lines)


def _resource_json(r: ResourceState) -> dict[str, Any]:
    return {
        "address": r.address,
        "kind": r.kind,
        "upstream_id": r.upstream_id,
        "status": r.status,
        "protect": r.protect,
        "brand_id": r.brand_id,
        "desired_digest": r.desired_digest,
        "created_at": r.created_at,
        "updated_at": r.updated_at,
        "upstream": r.upstream,
        "extra": r.extra,
    }


def _dump(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


@click.group(
    epilog="""\b
Examples:
  couponctl state list
  couponctl state show shop_coupon.d11-store-100-off-20
  couponctl state mv shop_coupon.old-name shop_coupon.new-name
  couponctl state rm product_coupon.coffee-combo
  couponctl state unlock 3f2a9c1b7d44
""",
)
def state() -> None:
    """Inspect the state store, and edit it where that is safe.

    State is couponctl's record of the coupons it manages: lineage, serial, the last-known upstream form of each
    coupon, the intent journal, history and the lock. rm and mv never call WeChat; they only change what
    couponctl manages.
    """


@state.command(
    "list", epilog="\b\nExamples:\n  couponctl state list\n  couponctl state list shop_coupon. --format json"
)
@click.argument("prefixes", nargs=-1, metavar="[ADDRESS_PREFIX]...")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_context
def list_(ctx: click.Context, prefixes: tuple[str, ...], fmt: str) -> None:
    """List the managed coupons (address, upstream id, status), optionally only those under ADDRESS_PREFIX."""
    listed = commands.state_list(app(ctx).settings, prefixes)
    if listed.no_state is not None:
        _no_state(listed.no_state)
    resources = listed.resources
    if fmt == "json":
        click.echo(
            _dump([{k: v for k, v in _resource_json(r).items() if k not in ("upstream", "extra")} for r in resources])
        )
        return
    if not resources:
        click.echo("No resources in state.")
        return
    rows = [[r.address, r.upstream_id, status_word(r.kind, r.status), "yes" if r.protect else ""] for r in resources]
    click.echo(_table(["ADDRESS", "UPSTREAM ID", "STATUS", "PROTECT"], rows))


@state.command("show", epilog="\b\nExamples:\n  couponctl state show product_coupon.coffee-combo")
@click.argument("address")
@click.pass_context
def show(ctx: click.Context, address: str) -> None:
    """Print everything state knows about ADDRESS, as JSON."""
    resource = commands.state_show(app(ctx).settings, address)
    click.echo(_dump(_resource_json(resource)))


@state.command(
    "rm",
    epilog="""\b
Examples:
  couponctl state rm shop_coupon.d11-store-100-off-20
  couponctl state rm product_coupon.coffee-combo --lock-timeout 60
""",
)
@click.argument("address")
@click.option("--lock-timeout", type=float, default=None, metavar="SECONDS", help=LOCK_TIMEOUT_HELP)
@click.pass_context
def rm(ctx: click.Context, address: str, lock_timeout: float | None) -> None:
    """Stop managing ADDRESS: forget it in state. The coupon stays upstream, untouched.

    Refused for an address state does not hold, while an apply that did not finish left an open intent on it,
    and while a coupon it replaced still awaits deactivation (run `couponctl apply` to settle those first).
    """
    from reconciler.plan.actions import import_command

    removed = commands.state_rm(app(ctx).settings, address, lock_timeout_s=lock_timeout)
    resource, serial = removed.resource, removed.serial
    click.echo(f"Removed {address} from state (serial {serial}).")
    click.echo(
        f"Warning: the coupon still exists upstream ({resource.kind} {resource.upstream_id}, status "
        f"{status_word(resource.kind, resource.status) or 'unknown'}); couponctl no longer manages it. "
        f"If a manifest still declares {address}, "
        f"the next plan will create a new coupon. To manage it again: "
        f"{import_command(address, resource.upstream_id, resource.brand_id)}",
        err=True,
    )


@state.command(
    "mv",
    epilog="""\b
Examples:
  couponctl state mv shop_coupon.d11-old shop_coupon.d11-new
""",
)
@click.argument("old")
@click.argument("new")
@click.option("--lock-timeout", type=float, default=None, metavar="SECONDS", help=LOCK_TIMEOUT_HELP)
@click.pass_context
def mv(ctx: click.Context, old: str, new: str, lock_timeout: float | None) -> None:
    """Rename a managed coupon's address from OLD to NEW (after renaming it in a manifest), without touching it
    upstream.

    Refused for a malformed address, a kind change (shop_coupon.x to product_coupon.y), an OLD state does not
    hold, a NEW that already exists, and while an open intent concerns OLD.
    """
    serial = commands.state_mv(app(ctx).settings, old, new, lock_timeout_s=lock_timeout)
    click.echo(f"Moved {old} to {new} (serial {serial}).")


@state.command(
    "unlock",
    epilog="""\b
Examples:
  couponctl state unlock 3f2a9c1b7d44
""",
)
@click.argument("lock_id")
@click.pass_context
def unlock(ctx: click.Context, lock_id: str) -> None:
    """Release the state lock LOCK_ID left behind by a run that is gone (the id is in the "state is locked" error).

    Refused when LOCK_ID is not the current lock, and when its holder is provably still running (a live process
    on this host for SQLite; a live session for PostgreSQL, which frees the lock by itself when the process dies).
    """
    commands.state_unlock(app(ctx).settings, lock_id)
    click.echo(f"Released lock {lock_id}.")


@state.command("upgrade", epilog="\b\nExamples:\n  couponctl state upgrade")
@click.pass_context
def upgrade(ctx: click.Context) -> None:
    """Migrate the state's schema to the newest revision this couponctl knows.

    Every command does this by itself when it opens the state; this makes it explicit (e.g. as a CI step).
    A state written by a newer couponctl is refused, never downgraded.
    """
    upgraded = commands.state_upgrade(app(ctx).settings)
    before, after = upgraded.before, upgraded.after
    if before == after:
        click.echo(f"State schema is already at revision {after}, the newest this couponctl knows.")
    else:
        click.echo(f"State schema upgraded from revision {before} to {after}.")


def short_commit(commit: str | None) -> str:
    """The commit's first 10 hex digits, keeping the `-dirty` marker (uncommitted changes were applied)."""
    if not commit:
        return "-"
    sha, dirty, _rest = commit.partition("-dirty")
    return sha[:10] + dirty


def _short(value: str | None, n: int) -> str:
    return value[:n] if value else "-"


def _run_json(run: RunRecord, calls: int | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "run_id": run.run_id,
        "command": run.command,
        "actor": run.actor,
        "git_commit": run.git_commit,
        "plan_digest": run.plan_digest,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "outcome": run.outcome,
        "summary": run.summary,
    }
    if calls is not None:
        data["calls"] = calls
    return data


def _call_json(call: CallRecord) -> dict[str, Any]:
    return {
        "at": call.at,
        "address": call.address,
        "operation": call.operation,
        "outcome": call.outcome,
        "out_request_no": call.out_request_no,
        "request_id": call.request_id,
        "http_status": call.http_status,
        "code": call.code,
        "message": call.message,
    }


@click.command(
    epilog="""\b
Examples:
  couponctl history
  couponctl history --limit 50 --format json
  couponctl history --run 12
""",
)
@click.option("--run", "run_id", type=int, default=None, metavar="ID", help="Show one run and each of its calls.")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True, help="How many runs to list.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_context
def history(ctx: click.Context, run_id: int | None, limit: int, fmt: str) -> None:
    """Past runs that wrote state: when, who, command, git commit, plan digest, outcome and number of calls.

    With --run, one run's calls: request numbers (out_request_no), WeChat Request-IDs, HTTP status and codes.
    """
    found = commands.history(app(ctx).settings, run_id=run_id, limit=limit)
    if found.no_state is not None:
        _no_state(found.no_state)
        click.echo("[]" if fmt == "json" else "No runs yet.")
        return
    runs, counts = list(found.runs), found.call_counts
    if found.calls is not None:
        _print_run(runs[0], list(found.calls), fmt)
        return
    if fmt == "json":
        click.echo(_dump([_run_json(r, counts.get(r.run_id, 0)) for r in runs]))
        return
    if not runs:
        click.echo("No runs yet.")
        return
    rows = [
        [
            str(r.run_id),
            r.started_at,
            r.actor,
            r.command,
            short_commit(r.git_commit),
            _short(r.plan_digest, 12),
            r.outcome or "unfinished",
            str(counts.get(r.run_id, 0)),
        ]
        for r in runs
    ]
    header = ["RUN", "STARTED (UTC)", "WHO", "COMMAND", "COMMIT", "PLAN", "OUTCOME", "CALLS"]
    if any(r.summary.get("environment") for r in runs):  # environments (D26): each run names its own
        header.append("ENV")
        rows = [[*row, str(r.summary.get("environment") or "-")] for row, r in zip(rows, runs, strict=True)]
    click.echo(_table(header, rows))


def _print_run(run: RunRecord, calls: list[CallRecord], fmt: str) -> None:
    if fmt == "json":
        click.echo(_dump({**_run_json(run, len(calls)), "call_records": [_call_json(c) for c in calls]}))
        return
    click.echo(f"Run {run.run_id}: {run.command} by {run.actor}, {run.outcome or 'unfinished'}")
    click.echo(f"  started   {run.started_at}")
    click.echo(f"  finished  {run.finished_at or '-'}")
    click.echo(f"  commit    {run.git_commit or '-'}")
    click.echo(f"  plan      {run.plan_digest or '-'}")
    if run.summary:
        click.echo(f"  summary   {json.dumps(run.summary, ensure_ascii=False, sort_keys=True)}")
    if not calls:
        click.echo("No calls.")
        return
    rows = [
        [
            c.at,
            c.address,
            c.operation,
            c.outcome,
            c.out_request_no or "-",
            c.request_id or "-",
            str(c.http_status) if c.http_status is not None else "-",
            c.code or "-",
            c.message or "",
        ]
        for c in calls
    ]
    click.echo(
        _table(
            ["AT (UTC)", "ADDRESS", "OPERATION", "OUTCOME", "OUT_REQUEST_NO", "REQUEST-ID", "HTTP", "CODE", "MESSAGE"],
            rows,
        )
    )
