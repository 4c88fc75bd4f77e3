"""Revision 5: `resources.converged` (decision D36), the marker of a row the planner found converged with its
manifest, so a later plan can count the coupon unchanged without decoding or comparing it.

Existing rows get "" (no marker): they are planned in full, as before, until an apply records their marker. No row
is rewritten and the serial does not move.

Revision ID: r0005
Revises: r0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "r0005"
down_revision: str | None = "r0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("resources") as batch:
        batch.add_column(sa.Column("converged", sa.String(64), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("resources") as batch:
        batch.drop_column("converged")
