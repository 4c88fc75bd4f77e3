"""The sandbox's upstream data: coupons of both kinds, tokens, idempotency records, in SQLite (file or memory).

One connection guarded by a lock (the ASGI app may be driven from several threads); WAL with synchronous=NORMAL
keeps writes cheap. Every mutating operation runs inside `transaction()`, so a coupon change and its idempotency
record land together or not at all. Documents are stored as JSON text: the sandbox only ever reads them whole.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS shop_coupons (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    out_coupon_id TEXT NOT NULL UNIQUE,
    doc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS product_coupons (
    product_coupon_id TEXT PRIMARY KEY,
    mchid TEXT NOT NULL,
    brand_id TEXT NOT NULL,
    doc TEXT NOT NULL,
    stocks TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS idempotency (
    key TEXT PRIMARY KEY,
    request TEXT NOT NULL,
    response TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens (
    token TEXT PRIMARY KEY,
    pool TEXT NOT NULL,
    issued_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    invalid_after REAL
);
CREATE INDEX IF NOT EXISTS tokens_pool ON tokens (pool, issued_at);
"""

FIRST_PRODUCT_COUPON_ID = 1000000001


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class Store:
    """Thread-safe access to the sandbox tables."""

    def __init__(self, path: str | None) -> None:
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(path or ":memory:", check_same_thread=False, isolation_level=None)
        if path:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute("PRAGMA busy_timeout=5000")
        self._conn.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One atomic unit; nested use joins the outer transaction."""
        with self._lock:
            if self._conn.in_transaction:
                yield
                return
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    # --- shop coupons -------------------------------------------------------------------------------------------

    def get_shop(self, out_coupon_id: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT doc FROM shop_coupons WHERE out_coupon_id = ?", (out_coupon_id,)
            ).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def insert_shop(self, out_coupon_id: str, doc: dict[str, Any]) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT INTO shop_coupons (out_coupon_id, doc) VALUES (?, ?)", (out_coupon_id, dumps(doc))
            )

    def delete_shop(self, out_coupon_id: str) -> bool:
        with self._lock:
            cursor = self._conn.execute("DELETE FROM shop_coupons WHERE out_coupon_id = ?", (out_coupon_id,))
        return cursor.rowcount > 0

    def put_shop(self, out_coupon_id: str, doc: dict[str, Any]) -> None:
        with self._lock:
            self._conn.execute("UPDATE shop_coupons SET doc = ? WHERE out_coupon_id = ?", (dumps(doc), out_coupon_id))

    def list_shop(self, offset: int, limit: int) -> tuple[int, list[dict[str, Any]]]:
        with self._lock:
            total = self._conn.execute("SELECT COUNT(*) FROM shop_coupons").fetchone()[0]
            rows = self._conn.execute(
                "SELECT doc FROM shop_coupons ORDER BY seq LIMIT ? OFFSET ?", (limit, offset)
            ).fetchall()
        return int(total), [json.loads(row[0]) for row in rows]

    # --- product coupons ----------------------------------------------------------------------------------------

    def next_product_coupon_id(self) -> str:
        with self.transaction():
            row = self._conn.execute("SELECT value FROM meta WHERE key = 'next_product_coupon_id'").fetchone()
            value = int(row[0]) if row else FIRST_PRODUCT_COUPON_ID
            self._conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('next_product_coupon_id', ?)", (str(value + 1),)
            )
        return str(value)

    def get_product(self, product_coupon_id: str) -> tuple[str, dict[str, Any], list[dict[str, Any]]] | None:
        """(mchid, entity, stocks) or None."""
        with self._lock:
            row = self._conn.execute(
                "SELECT mchid, doc, stocks FROM product_coupons WHERE product_coupon_id = ?", (product_coupon_id,)
            ).fetchone()
        if row is None:
            return None
        return row[0], json.loads(row[1]), json.loads(row[2])

    def put_product(self, mchid: str, entity: dict[str, Any], stocks: list[dict[str, Any]]) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO product_coupons (product_coupon_id, mchid, brand_id, doc, stocks) "
                "VALUES (?, ?, ?, ?, ?)",
                (entity["product_coupon_id"], mchid, entity["brand_id"], dumps(entity), dumps(stocks)),
            )

    def all_products(self) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT doc, stocks FROM product_coupons ORDER BY CAST(product_coupon_id AS INTEGER)"
            ).fetchall()
        return [(json.loads(row[0]), json.loads(row[1])) for row in rows]

    # --- idempotency --------------------------------------------------------------------------------------------

    def get_idempotent(self, key: str) -> tuple[Any, dict[str, Any]] | None:
        """(the first request's parsed body, the first 2xx answer {status, body}) or None."""
        with self._lock:
            row = self._conn.execute("SELECT request, response FROM idempotency WHERE key = ?", (key,)).fetchone()
        return None if row is None else (json.loads(row[0]), json.loads(row[1]))

    def put_idempotent(self, key: str, request: Any, response: dict[str, Any]) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO idempotency (key, request, response) VALUES (?, ?, ?)",
                (key, dumps(request), dumps(response)),
            )

    # --- tokens -------------------------------------------------------------------------------------------------

    def add_token(self, token: str, pool: str, issued_at: float, expires_at: float) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT INTO tokens (token, pool, issued_at, expires_at) VALUES (?, ?, ?, ?)",
                (token, pool, issued_at, expires_at),
            )

    def get_token(self, token: str) -> tuple[str, float, float, float | None] | None:
        """(pool, issued_at, expires_at, invalid_after) or None."""
        with self._lock:
            row = self._conn.execute(
                "SELECT pool, issued_at, expires_at, invalid_after FROM tokens WHERE token = ?", (token,)
            ).fetchone()
        return None if row is None else (row[0], row[1], row[2], row[3])

    def latest_token(self, pool: str) -> tuple[str, float, float, float | None] | None:
        """(token, issued_at, expires_at, invalid_after) of the newest token of a pool."""
        with self._lock:
            row = self._conn.execute(
                "SELECT token, issued_at, expires_at, invalid_after FROM tokens WHERE pool = ? "
                "ORDER BY issued_at DESC, rowid DESC LIMIT 1",
                (pool,),
            ).fetchone()
        return None if row is None else (row[0], row[1], row[2], row[3])

    def invalidate_tokens(self, pool: str, after: float) -> None:
        """Every still-valid token of the pool stops working at `after` (rotation grace, reference A.9.1)."""
        with self._lock:
            self._conn.execute(
                "UPDATE tokens SET invalid_after = ? WHERE pool = ? AND (invalid_after IS NULL OR invalid_after > ?)",
                (after, pool, after),
            )
            # Old tokens are never needed again once invalid; keep the table small.
            self._conn.execute("DELETE FROM tokens WHERE pool = ? AND invalid_after < ?", (pool, after - 86400))

    def get_meta(self, key: str) -> str | None:
        with self._lock:
            row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with self._lock:
            self._conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))
