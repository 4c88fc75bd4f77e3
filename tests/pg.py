"""A throwaway PostgreSQL 15 cluster for tests: `start_postgres()` -> PgCluster with `.url`, `.new_database()`,
`.stop()`; and the session fixtures `pg_cluster` / `pg_url` (use them from any conftest.py with
`from tests.pg import pg_cluster, pg_url`).

The cluster runs from the machine's binaries (/usr/lib/postgresql/15/bin, or $COUPONCTL_PG_BIN), listens on
127.0.0.1 on a free port with its socket in its own temporary directory, trusts local connections, and trades
durability for speed (fsync off). PostgreSQL refuses to run as root, so under root the binaries run as the
`postgres` user (`runuser -u postgres --`), with a data directory that user owns; under any other user they run
directly.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest

PG_BIN = Path(os.environ.get("COUPONCTL_PG_BIN", "/usr/lib/postgresql/15/bin"))
DATABASE = "couponctl"
START_ATTEMPTS = 3


class PostgresUnavailable(RuntimeError):
    """The PostgreSQL binaries (or the postgres user, when running as root) are missing."""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres() -> list[str]:
    """The command prefix that runs a binary as a user PostgreSQL accepts."""
    if os.geteuid() != 0:
        return []
    runuser = shutil.which("runuser")
    if runuser:
        return [runuser, "-u", "postgres", "--"]
    su = shutil.which("su")
    if su is None:
        raise PostgresUnavailable("running as root but neither runuser nor su is available to become postgres")
    return [su, "postgres", "-s", "/bin/sh", "-c", '"$0" "$@"']


@dataclass
class PgCluster:
    """A running throwaway cluster."""

    root: Path
    port: int
    prefix: list[str]
    bin_dir: Path = PG_BIN
    databases: list[str] = field(default_factory=list)

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def url_for(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the `couponctl` database."""
        return self.url_for(DATABASE)

    def admin(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres", autocommit=True)

    def new_database(self, prefix: str = "t") -> str:
        """Create an empty database and return its SQLAlchemy URL."""
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        with self.admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self.databases.append(name)
        return self.url_for(name)

    def drop_database(self, url: str) -> None:
        """Drop a database made by new_database (closing any session still in it)."""
        name = url.rsplit("/", 1)[1]
        with self.admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if name in self.databases:
            self.databases.remove(name)

    def stop(self) -> None:
        """Stop the server (immediate mode) and delete its files."""
        subprocess.run(
            [*self.prefix, str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", "immediate", "-w", "stop"],
            capture_output=True,
            check=False,
        )
        shutil.rmtree(self.root, ignore_errors=True)


def start_postgres(tmpdir: Path | None = None, *, bin_dir: Path | None = None) -> PgCluster:
    """initdb + pg_ctl start a fresh cluster and create the `couponctl` database.

    `tmpdir`, when given, must be traversable by the postgres user; by default a new directory is made under the
    system temp directory (pytest's own temp dirs are private to root). `bin_dir` defaults to PG_BIN. Raises
    PostgresUnavailable when the binaries are missing.
    """
    pg_bin = bin_dir or PG_BIN
    if not (pg_bin / "initdb").exists() or not (pg_bin / "pg_ctl").exists():
        raise PostgresUnavailable(f"PostgreSQL binaries not found in {pg_bin} (set COUPONCTL_PG_BIN)")
    prefix = _as_postgres()
    root = Path(tempfile.mkdtemp(prefix="couponctl-pg-", dir=tmpdir))
    if prefix:
        os.chmod(root, 0o755)
        shutil.chown(root, user="postgres")
    data = root / "data"
    run = [*prefix]
    try:
        subprocess.run(
            [
                *run,
                str(pg_bin / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
            capture_output=True,
            check=True,
        )
        # The free port is only free when we look: a parallel test worker starting its own cluster can take it
        # first (pytest-xdist runs one session, so one cluster, per worker). A start that fails for that reason is
        # tried again on another port.
        for attempt in range(START_ATTEMPTS):
            port = _free_port()
            options = (
                f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
                "-c full_page_writes=off -c max_connections=100"
            )
            try:
                subprocess.run(
                    [
                        *run,
                        str(pg_bin / "pg_ctl"),
                        "-D",
                        str(data),
                        "-l",
                        str(root / "server.log"),
                        "-o",
                        options,
                        "-w",
                        "start",
                    ],
                    capture_output=True,
                    check=True,
                )
                break
            except subprocess.CalledProcessError:
                server_log = root / "server.log"
                port_taken = server_log.exists() and "could not bind" in server_log.read_text(errors="replace")
                if attempt == START_ATTEMPTS - 1 or not port_taken:
                    raise
                server_log.unlink()
    except subprocess.CalledProcessError as exc:
        log = (root / "server.log").read_text(errors="replace") if (root / "server.log").exists() else ""
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(
            f"could not start PostgreSQL: {exc.cmd[len(run)]} exited {exc.returncode}: "
            f"{exc.stderr.decode(errors='replace')}{log}"
        ) from None
    cluster = PgCluster(root=root, port=port, prefix=prefix, bin_dir=pg_bin)
    with cluster.admin() as conn:
        conn.execute(f'CREATE DATABASE "{DATABASE}"')
    return cluster


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """A throwaway PostgreSQL 15 cluster for the whole session: fails under CI (env CI set) when it cannot start,
    skips loudly elsewhere."""
    try:
        cluster = start_postgres()
    except PostgresUnavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI: {exc}")
        pytest.skip(f"!!! PostgreSQL tests NOT RUN (this would fail in CI): {exc}")
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def pg_url(pg_cluster: PgCluster) -> str:
    """SQLAlchemy URL of the session cluster's `couponctl` database (shared by every user of the session: call
    `pg_cluster.new_database()` for a private one)."""
    return pg_cluster.url
