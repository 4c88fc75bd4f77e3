"""Revision 2: `resources.extra` (JSON kept for drift, e.g. ignore rules) and indexes for history and the journal.

Existing resources get `{}` as their extra data. Nothing else changes, so no row is rewritten.

Revision ID: r0002
Revises: r0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "r0002"
down_revision: str | None = "r0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("resources") as batch:
        batch.add_column(sa.Column("extra", sa.Text, nullable=False, server_default="{}"))
    op.create_index("ix_runs_started_at", "runs", ["started_at"])
    op.create_index("ix_calls_run_id", "calls", ["run_id"])
    op.create_index("ix_intents_address", "intents", ["address"])


def downgrade() -> None:
    op.drop_index("ix_intents_address", table_name="intents")
    op.drop_index("ix_calls_run_id", table_name="calls")
    op.drop_index("ix_runs_started_at", table_name="runs")
    with op.batch_alter_table("resources") as batch:
        batch.drop_column("extra")
