"""Revision 4: the asset map (decision D33): `assets` holds, per sha256 of an uploaded image, the URL the upload API
answered, its size, when it was uploaded and the upload's Request-ID. A new table; no row is rewritten.

Revision ID: r0004
Revises: r0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "r0004"
down_revision: str | None = "r0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "assets",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("uploaded_at", sa.String(40), nullable=False),
        sa.Column("request_id", sa.String(128), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("assets")
