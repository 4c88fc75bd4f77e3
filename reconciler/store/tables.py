"""The tables of the state store at the current schema revision (SQLAlchemy Core), used by the store's queries.

Migrations under `migrations/versions/` never import this module: each revision spells out its own DDL, so old
revisions stay what they were when they shipped. When this file changes, a new revision must describe the change.
A new state is created from these tables in one step (`schema.create_current`), so columns are listed in the order
the revisions add them; tests/store/test_fresh_schema.py requires both ways to give the same schema.

Values: timestamps are ISO-8601 UTC strings (`2026-11-23T10:40:00.123456Z`), JSON bodies are text holding canonical
JSON (sorted keys, UTF-8 kept), so both backends store byte-identical values and reads decode with `json` only.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

# One row (id = 1): the identity and version of this state.
meta = sa.Table(
    "meta",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("lineage", sa.String(36), nullable=False),  # UUID fixed at creation
    sa.Column("serial", sa.BigInteger, nullable=False),  # bumped by every resource write
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("couponctl_version", sa.String(40), nullable=False),  # the couponctl that last migrated the schema
)

# The managed coupons: the last-known upstream representation of each address.
resources = sa.Table(
    "resources",
    metadata,
    sa.Column("address", sa.String(200), primary_key=True),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("upstream_id", sa.String(100), nullable=False),
    sa.Column("upstream", sa.Text, nullable=False),  # canonical JSON
    sa.Column("desired_digest", sa.String(64), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),  # ResourceState.status, kept for listing
    sa.Column("protect", sa.Boolean, nullable=False),
    sa.Column("brand_id", sa.String(40), nullable=True),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("updated_at", sa.String(40), nullable=False),
    sa.Column("extra", sa.Text, nullable=False, server_default="{}"),  # canonical JSON (revision 2)
    # sha256 marker: the planner found this exact row converged with its manifest (revision 5, decision D36); "" none
    sa.Column("converged", sa.String(64), nullable=False, server_default=""),
    sa.CheckConstraint("kind IN ('ShopCoupon', 'ProductCoupon')", name="ck_resources_kind"),
)

# History: one row per state-writing command (apply, refresh, import, state rm, state mv).
runs = sa.Table(
    "runs",
    metadata,
    sa.Column("run_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("command", sa.String(40), nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("git_commit", sa.String(64), nullable=True),
    sa.Column("plan_digest", sa.String(64), nullable=True),
    sa.Column("started_at", sa.String(40), nullable=False),
    sa.Column("finished_at", sa.String(40), nullable=True),
    sa.Column("outcome", sa.String(20), nullable=True),
    sa.Column("summary", sa.Text, nullable=False),  # canonical JSON
    sa.Index("ix_runs_started_at", "started_at"),  # revision 2
)

# History: every upstream call of a run, with its request number and WeChat Request-ID.
calls = sa.Table(
    "calls",
    metadata,
    sa.Column("call_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.run_id"), nullable=False),
    sa.Column("address", sa.String(200), nullable=False),
    sa.Column("operation", sa.String(40), nullable=False),
    sa.Column("outcome", sa.String(20), nullable=False),
    sa.Column("out_request_no", sa.String(64), nullable=True),
    sa.Column("request_id", sa.String(128), nullable=True),
    sa.Column("http_status", sa.Integer, nullable=True),
    sa.Column("code", sa.String(64), nullable=True),
    sa.Column("message", sa.Text, nullable=True),
    sa.Column("at", sa.String(40), nullable=False),
    sa.Index("ix_calls_run_id", "run_id"),  # revision 2
)

# The intent journal (contract §2.4): a row per upstream call about to be made, deleted when its result is recorded.
intents = sa.Table(
    "intents",
    metadata,
    sa.Column("intent_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.run_id"), nullable=False),
    sa.Column("address", sa.String(200), nullable=False),
    sa.Column("operation", sa.String(40), nullable=False),
    sa.Column("target", sa.String(100), nullable=True),
    sa.Column("out_request_no", sa.String(64), nullable=True),
    sa.Column("payload", sa.Text, nullable=False),  # canonical JSON
    sa.Column("payload_digest", sa.String(64), nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Index("ix_intents_address", "address"),  # revision 2
)

# Uploaded images by content (revision 4, decision D33): the URL the upload API answered for these bytes, so the same
# bytes are never uploaded twice and a second plan finds the URL.
assets = sa.Table(
    "assets",
    metadata,
    sa.Column("sha256", sa.String(64), primary_key=True),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("uploaded_at", sa.String(40), nullable=False),
    sa.Column("request_id", sa.String(128), nullable=True),  # the upload's WeChat Request-ID
)

# The state lock (one row, id = 1). On SQLite the row *is* the lock; on PostgreSQL a session advisory lock is, and
# the row only says who holds it.
lock = sa.Table(
    "lock",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("lock_id", sa.String(40), nullable=False),
    sa.Column("holder", sa.String(200), nullable=False),
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("operation", sa.String(100), nullable=False),
    sa.Column("acquired_at", sa.String(40), nullable=False),
)
