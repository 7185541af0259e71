"""The database side of a backup: a consistent snapshot with its manifest, and loading one into an empty
database. SQLite uses the online backup API; PostgreSQL `pg_dump` (custom format) inside an exported
snapshot, so the counts in the manifest are exactly the rows in the dump."""

from __future__ import annotations

import glob
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Connection, create_engine, make_url, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import ArgumentError, OperationalError


class BackupRefused(Exception):
    """What stops a backup or a restore, said in Chinese for the administrator."""


def kind_of(url: str) -> str:
    try:
        backend = make_url(url).get_backend_name()
    except ArgumentError as e:
        raise BackupRefused(f"数据库地址无效:{url}") from e
    if backend not in ("sqlite", "postgresql"):
        raise BackupRefused(f"只支持 SQLite 与 PostgreSQL,不支持 {backend}")
    return backend


def sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupRefused("内存中的 SQLite 数据库无法备份或恢复,请给出数据库文件")
    return Path(database)


def pg_tool(name: str) -> str:
    """The pg_dump / pg_restore binary: `pg_config --bindir`, else the newest /usr/lib/postgresql/*/bin, else PATH."""
    candidates: list[str] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        found = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)  # noqa: S603
        if found.returncode == 0:
            candidates.append(os.path.join(found.stdout.strip(), name))
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2] or 0)
                      if p.split("/")[-2].isdigit() else 0, reverse=True)
    candidates += [os.path.join(v, name) for v in versions]
    candidates.append(shutil.which(name) or "")
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise BackupRefused(f"找不到 {name}:PostgreSQL 的备份与恢复需要 PostgreSQL 客户端工具"
                        f"(如 apt install postgresql-client,版本不低于数据库服务器)")


def libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq connection string for the tools, and the environment carrying the password (not argv)."""
    parsed = make_url(url).set(drivername="postgresql")
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    return parsed.set(password=None).render_as_string(hide_password=False), env


def _count_tables(conn: Connection, tables: list[str]) -> dict[str, int]:
    # names come from the catalogue itself, quoted; never from input
    return {t: int(conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar_one())  # noqa: S608
            for t in sorted(tables)}


def _audit_head(conn: Connection) -> list[Any] | None:
    row = conn.execute(text("SELECT id, mac FROM audit_event ORDER BY id DESC LIMIT 1")).first()
    return [row[0], row[1]] if row else None


def manifest_of(conn: Connection) -> dict[str, Any]:
    """Row counts per table and the audit chain head, read on `conn` (inside the snapshot being dumped)."""
    if conn.dialect.name == "sqlite":
        tables = list(conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'table' "
                                        "AND name NOT LIKE 'sqlite_%'")).scalars())
        schema = "main"
    else:
        schema = conn.execute(text("SELECT current_schema()")).scalar_one()
        tables = list(conn.execute(text("SELECT table_name FROM information_schema.tables WHERE table_schema = "
                                        ":s AND table_type = 'BASE TABLE'"), {"s": schema}).scalars())
    return {"schema": schema, "tables": _count_tables(conn, tables), "audit_head": _audit_head(conn)}


@contextmanager
def sqlite_snapshot(url: str, scratch: Path) -> Iterator[tuple[IO[bytes], dict[str, Any]]]:
    """A consistent copy of the SQLite file (online backup API) opened for reading, with its manifest."""
    source = sqlite_path(url)
    if not source.exists():
        raise BackupRefused(f"数据库文件不存在:{source}")
    copy = scratch / "snapshot.db"
    with sqlite3.connect(source) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)
    src.close()
    dst.close()
    os.chmod(copy, 0o600)
    engine = create_engine(f"sqlite:///{copy}")
    try:
        with engine.connect() as conn:
            manifest = manifest_of(conn)
    finally:
        engine.dispose()
    with copy.open("rb") as f:
        yield f, manifest


@contextmanager
def pg_snapshot(url: str) -> Iterator[tuple[IO[bytes], dict[str, Any]]]:
    """`pg_dump -Fc` of our schema streamed from an exported snapshot, with the manifest read in it."""
    tool = pg_tool("pg_dump")
    engine = create_engine(make_url(url).set(drivername="postgresql+psycopg"))
    try:
        with engine.connect() as conn:
            conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
            snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            manifest = manifest_of(conn)
            conninfo, env = libpq(url)
            dump = subprocess.Popen([tool, "--format=custom", f"--snapshot={snapshot}",  # noqa: S603
                                     f"--schema={manifest['schema']}", "--no-owner", "--no-privileges",
                                     f"--dbname={conninfo}"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    env=env)
            assert dump.stdout is not None
            try:
                yield dump.stdout, manifest
            finally:
                dump.stdout.close()
                error = dump.stderr.read().decode(errors="replace") if dump.stderr else ""
                if dump.wait() != 0:
                    raise BackupRefused(f"pg_dump 失败:{error.strip()[-500:]}")
            conn.rollback()
    finally:
        engine.dispose()


def table_count(url: str) -> int:
    """How many tables the target already has (a restore needs 0)."""
    if kind_of(url) == "sqlite":
        path = sqlite_path(url)
        if not path.exists():
            return 0
        with sqlite3.connect(path) as lite:
            n = lite.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
        lite.close()
        return int(n)
    try:
        engine = create_engine(make_url(url).set(drivername="postgresql+psycopg"))
    except ArgumentError as e:
        raise BackupRefused(f"目标数据库地址无效:{e}") from e
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM information_schema.tables WHERE table_schema "
                                         "NOT IN ('pg_catalog', 'information_schema')")).scalar_one())
    except OperationalError as e:
        raise BackupRefused(f"无法连接目标数据库:{str(e.orig).strip()[:300]}") from e
    finally:
        engine.dispose()


def load_sqlite(chunks: Iterator[bytes], url: str, scratch: Path) -> None:
    """Write the snapshot to a scratch file, then copy it into the target through the backup API."""
    plain = scratch / "restore.db"
    fd = os.open(plain, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        for chunk in chunks:
            f.write(chunk)
    target = sqlite_path(url)
    target.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(plain) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


# Extensions the schema's indexes use (pg_trgm: the case text indexes of migration 0021_case_query). A dump
# of one schema does not carry them, and an empty target database has none.
EXTENSIONS = ("pg_trgm",)


def _ensure_extensions(url: str) -> None:
    engine = create_engine(make_url(url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            for name in EXTENSIONS:  # fixed names, never input
                conn.execute(text(f"CREATE EXTENSION IF NOT EXISTS {name} SCHEMA public"))
    finally:
        engine.dispose()


def load_pg(chunks: Iterator[bytes], url: str) -> None:
    """Stream the dump into `pg_restore` on the target database; stop at its first error."""
    _ensure_extensions(url)
    tool = pg_tool("pg_restore")
    conninfo, env = libpq(url)
    restore = subprocess.Popen([tool, "--no-owner", "--no-privileges", "--exit-on-error",  # noqa: S603
                                f"--dbname={conninfo}"], stdin=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert restore.stdin is not None
    try:
        for chunk in chunks:
            restore.stdin.write(chunk)
    except BrokenPipeError:
        pass  # pg_restore stopped early: its exit code and message say why
    finally:
        restore.stdin.close()
    error = restore.stderr.read().decode(errors="replace") if restore.stderr else ""
    if restore.wait() != 0:
        raise BackupRefused(f"pg_restore 失败:{error.strip()[-500:]}")


def with_schema(url: str, schema: str) -> str:
    """The target URL searching the restored schema (a dump of a non-public schema keeps its name)."""
    parsed: URL = make_url(url)
    if kind_of(url) == "sqlite" or schema == "public" or "search_path" in str(parsed.query.get("options", "")):
        return url
    options = " ".join(filter(None, [str(parsed.query.get("options", "")), f"-csearch_path={schema}"]))
    return parsed.update_query_dict({"options": options}).render_as_string(hide_password=False)
