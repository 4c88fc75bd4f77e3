"""What every command gathers from its surroundings: the clock, who runs it, the git commit, paths, the state store.

These are the inputs the pure core never reaches for itself; command functions take a `Clock` so tests can pin time.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from reconciler.config import Settings
from reconciler.errors import ConfigError

if TYPE_CHECKING:  # the store pulls in SQLAlchemy: imported when a command opens it, not when this module loads
    from reconciler.store import SqlStateStore

Clock = Callable[[], datetime]


def now_utc() -> datetime:
    return datetime.now(UTC)


def git_commit(root: Path) -> str | None:
    """The commit of the manifests' repository, if any (no network: a local `git rev-parse`)."""
    for var in ("GITHUB_SHA", "CI_COMMIT_SHA"):
        if os.environ.get(var):
            return os.environ[var]
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    sha = out.stdout.strip()
    if out.returncode != 0 or not sha:
        return None
    dirty = subprocess.run(
        ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
        timeout=5,
        check=False,
    )
    return sha + ("-dirty" if dirty.returncode == 0 and dirty.stdout.strip() else "")


def manifest_paths(settings: Settings, paths: Sequence[str]) -> list[str]:
    """The paths given, else the configured manifest paths (relative to the cwd, as diagnostics show them)."""
    if paths:
        return list(paths)
    if settings.config_file is None:
        return list(settings.manifests)
    return [os.path.relpath(settings.resolve(p)) for p in settings.manifests]


def open_state(settings: Settings, *, create: bool = True) -> SqlStateStore:
    """The configured state store (created on first use unless `create=False`; a new SQLite file only inside a
    project, see `refuse_outside_project`)."""
    from reconciler.commands.env import require_environment
    from reconciler.store import open_store

    require_environment(settings)  # a file with [env.*] sections and no --env: whose state would this be?
    url = settings.state_url
    prefix = "sqlite:///"
    if create and url.startswith(prefix) and url != "sqlite:///:memory:":
        database = Path(url[len(prefix) :].split("?", 1)[0])
        if not database.exists():
            refuse_outside_project(settings, "a new state database", database)
    return open_store(url, create=create)


def refuse_outside_project(settings: Settings, what: str, path: Path) -> None:
    """Refuse to create `what` at `path` when no couponctl.toml was found: without a project root, the default
    ./state/ is wherever the command happens to run (e.g. inside manifests/), one `git add` from a commit."""
    if settings.config_file is not None:
        return
    raise ConfigError(
        f"no couponctl.toml in {settings.root} or any folder above it, so couponctl will not create {what} at "
        f"{path}; run couponctl inside your project, or create couponctl.toml at the project's root (an empty file "
        "is enough), or name it with --config or COUPONCTL_CONFIG"
    )


def lock_timeout(settings: Settings, option: float | None) -> float:
    """`--lock-timeout` when given, else `[state] lock_timeout`."""
    return settings.state.lock_timeout if option is None else option
