"""Schema versions: run the packaged Alembic migrations programmatically and refuse a state from a newer couponctl.

Policy (docs/state.md): every schema change is a new revision under `migrations/versions/`; opening a state applies
the pending ones in the same transaction that checks the version; a revision this couponctl does not know means a
newer couponctl wrote the state, and it is refused rather than guessed at. Downgrades are not offered.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from reconciler.errors import StateVersionError

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@cache
def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(_config())


def head_revision() -> str:
    """The newest schema revision this couponctl knows."""
    head = _script().get_current_head()
    assert head is not None
    return head


def known_revisions() -> list[str]:
    """Every schema revision this couponctl knows, oldest first."""
    return [s.revision for s in reversed(list(_script().walk_revisions()))]


def current_revision(connection: Connection) -> str | None:
    """The revision the state's schema is at (None for an empty database)."""
    return MigrationContext.configure(connection).get_current_revision()


def check_not_newer(revision: str | None, *, display_url: str, written_by: str | None = None) -> None:
    """Raise StateVersionError when `revision` is unknown, i.e. written by a newer couponctl."""
    if revision is None or revision in known_revisions():
        return
    by = f" (last migrated by couponctl {written_by})" if written_by else ""
    raise StateVersionError(
        f"the state at {display_url} has schema revision {revision}{by}, newer than this couponctl knows "
        f"(its latest is {head_revision()}); upgrade couponctl to use this state"
    )


def upgrade(connection: Connection, target: str = "head") -> None:
    """Apply pending migrations on `connection`, inside the transaction the caller holds."""
    command.upgrade(_config(connection), target)
