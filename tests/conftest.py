"""Fixtures shared by every test: real SQLite and real PostgreSQL, a frozen clock, the demo city.

`db_url` is parametrized over both databases; a test that takes it (or `platform`, `app`, `client`)
runs twice. PostgreSQL comes from TEST_DATABASE_URL (`scripts/test` sets it, starting a throwaway
server when none is reachable); without it PostgreSQL tests fail — they never skip silently.
"""

from __future__ import annotations

import base64
import dataclasses
import os
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import Connection, create_engine, text
from werkzeug.routing import Rule

from app import create_app
from app.clock import FrozenClock
from app.crypto import load_keys
from app.db import Database
from app.migrate import upgrade
from app.models import Base
from app.services.platform import Platform
from app.settings import Settings

TEST_KEYS = {name: base64.urlsafe_b64encode(bytes([i + 1]) * 32).decode()
             for i, name in enumerate(("SECRET_KEY", "DATA_KEY", "SEARCH_KEY", "AUDIT_KEY"))}
FAST_HASH = {"ARGON2_TIME_COST": 1, "ARGON2_MEMORY_KIB": 1024}
CATALOGUE = {"role", "permission", "role_permission", "alembic_version"}
START = datetime(2026, 11, 25, 9, 0, 0)  # a Wednesday, a working day


def _cache_url_builders() -> None:
    """Every test builds its own app, and werkzeug compiles two URL-builder functions per route with `compile()`
    (660 routes: most of create_app's time). The unbound builder depends only on the rule's text and parsed
    trace, so one compiled per rule and process serves every app; each app's rule still binds it to itself."""
    compile_builder = getattr(Rule, "_compile_builder", None)
    if compile_builder is None or getattr(compile_builder, "cached", False):
        return
    built: dict[tuple[object, ...], Any] = {}

    def cached(self: Rule, append_unknown: bool = True) -> Any:
        key = (self.rule, tuple(self._trace), repr(sorted((self.defaults or {}).items())), append_unknown,
               tuple(sorted((k, type(v).__name__) for k, v in self._converters.items())))
        if key not in built:
            built[key] = compile_builder(self, append_unknown)
        return built[key]

    cached.cached = True  # type: ignore[attr-defined]
    Rule._compile_builder = cached  # type: ignore[method-assign]


_cache_url_builders()


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite file migrated once; each test gets a copy."""
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_base_url() -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        pytest.fail("TEST_DATABASE_URL is not set: run the suite with scripts/test, which provides PostgreSQL")
    return url.replace("postgresql://", "postgresql+psycopg://", 1) if url.startswith("postgresql://") else url


@pytest.fixture(scope="session")
def pg_schema_url(pg_base_url: str) -> Iterator[str]:
    """A schema of our own in the test database, migrated once per worker."""
    schema = f"huiyin_{_worker()}_{os.getpid()}"  # two runs side by side never share a schema
    admin = create_engine(pg_base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in pg_base_url else "?"
    url = f"{pg_base_url}{sep}options={quote(f'-csearch_path={schema}')}"
    upgrade(url)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}_demo" CASCADE'))  # the demo snapshot, when taken
    admin.dispose()


def _empty_pg(url: str) -> None:
    """Remove every row the test wrote; triggers (the audit guard) are off for this superuser session only.
    DELETE, not TRUNCATE: on tables of a few rows it is ten times faster (TRUNCATE replaces each table's files)."""
    engine = create_engine(url)
    with engine.begin() as conn:
        _delete_all(conn)
    engine.dispose()


def _pg_tables() -> list[str]:
    return [t.name for t in Base.metadata.sorted_tables if t.name not in CATALOGUE]


def _delete_all(conn: Connection) -> None:
    """Every table emptied and every sequence of the schema back at its start, in the caller's transaction."""
    conn.exec_driver_sql("SET LOCAL session_replication_role = replica; "  # one round trip for all
                         + "".join(f'DELETE FROM "{t}"; ' for t in _pg_tables())
                         + "SELECT setval(quote_ident(sequencename)::regclass, 1, false) FROM pg_sequences "
                           "WHERE schemaname = current_schema()")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database of each kind."""
    if request.param == "sqlite":
        path = tmp_path / "huiyin.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    url = request.getfixturevalue("pg_schema_url")
    _empty_pg(url)
    yield url


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def test_config(db_url: str, tmp_path: Path) -> dict[str, object]:
    """What create_app gets in tests: the database, fixed keys, cheap hashing, no CSRF in the test client."""
    return {"DATABASE_URL": db_url, "INSTANCE_PATH": str(tmp_path / "instance"), "TESTING": True,
            **TEST_KEYS, **FAST_HASH}


@pytest.fixture
def platform(test_config: dict[str, object], clock: FrozenClock) -> Iterator[Platform]:
    """The services' handle on the test database (no Flask)."""
    settings = Settings(**{k: v for k, v in test_config.items() if k in Settings.__dataclass_fields__})
    keys = load_keys(TEST_KEYS, str(test_config["INSTANCE_PATH"]))
    p = Platform(db=Database(settings.DATABASE_URL), settings=settings, keys=keys, clock=clock)
    yield p
    p.db.dispose()


# The demo city as seeded once in this worker, per database kind, clock and settings: seeding takes seconds
# (the 知识库's segmentation and index), copying it back takes milliseconds.
_DEMO_SNAPSHOTS: dict[tuple[str, datetime, str], object] = {}


def _demo_key(p: Platform) -> tuple[str, datetime, str]:
    fields = {k: v for k, v in dataclasses.asdict(p.settings).items() if k not in ("DATABASE_URL", "INSTANCE_PATH")}
    return p.db.engine.dialect.name, p.clock.now(), repr(sorted(fields.items()))


def _sqlite_path(p: Platform) -> str:
    return str(p.db.engine.url.database)


def _copy_sqlite(source: str, target: str) -> None:
    """SQLite's online backup: the whole database, WAL included, page by page."""
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


def _snapshot_pg(p: Platform) -> tuple[str, dict[str, int | None]]:
    """Copy every table into a schema of its own beside the worker's; answers it and the sequences' values."""
    with p.db.engine.begin() as conn:
        schema = conn.scalar(text("SELECT current_schema()"))
        snap = f"{schema}_demo"
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{snap}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{snap}"'))
        for t in _pg_tables():
            conn.execute(text(f'CREATE TABLE "{snap}"."{t}" AS TABLE "{schema}"."{t}"'))
        sequences = dict(conn.execute(text("SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = :s"),
                                      {"s": schema}).all())
    return snap, sequences


def _restore_pg(p: Platform, snapshot: tuple[str, dict[str, int | None]]) -> None:
    snap, sequences = snapshot
    with p.db.engine.begin() as conn:
        _delete_all(conn)
        conn.exec_driver_sql("".join(f'INSERT INTO "{t}" SELECT * FROM "{snap}"."{t}"; ' for t in _pg_tables())
                             + "".join(f"SELECT setval('\"{name}\"', {int(last)}, true); "
                                       for name, last in sequences.items() if last is not None))


@pytest.fixture
def demo(platform: Platform, tmp_path_factory: pytest.TempPathFactory) -> Platform:
    """The demo city seeded into the test database (seeded once per worker, then copied in)."""
    from app.services.seed import seed_demo

    key = _demo_key(platform)
    snapshot = _DEMO_SNAPSHOTS.get(key)
    if snapshot is None:
        seed_demo(platform)
        platform.db.dispose()
        if platform.db.is_sqlite:
            snapshot = str(tmp_path_factory.mktemp("demo") / "demo.db")
            _copy_sqlite(_sqlite_path(platform), snapshot)
        else:
            snapshot = _snapshot_pg(platform)
        _DEMO_SNAPSHOTS[key] = snapshot
    elif platform.db.is_sqlite:
        platform.db.dispose()
        _copy_sqlite(str(snapshot), _sqlite_path(platform))
    else:
        _restore_pg(platform, snapshot)  # type: ignore[arg-type]
    return platform


@pytest.fixture
def app(test_config: dict[str, object], clock: FrozenClock, demo: Platform):  # type: ignore[no-untyped-def]
    """The web application on the seeded test database, sharing the frozen clock."""
    application = create_app(test_config, clock=clock)
    yield application
    application.extensions["huiyin"].db.dispose()


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    return app.test_client()


DEMO_PASSWORD = "Huiyin@2026"


def csrf_token_of(html: str) -> str:
    """The CSRF token a rendered form carries, as a browser would submit it."""
    import re

    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the page has no CSRF token"
    return match.group(1)


class Auth:
    """Signs the test client in and out through the real pages, CSRF token included."""

    def __init__(self, client) -> None:  # type: ignore[no-untyped-def]
        self.client = client

    def login(self, staff_no: str = "cg01", password: str = DEMO_PASSWORD):  # type: ignore[no-untyped-def]
        token = csrf_token_of(self.client.get("/login").get_data(as_text=True))
        return self.client.post("/login", data={"staff_no": staff_no, "password": password,
                                                "csrf_token": token})

    def logout(self):  # type: ignore[no-untyped-def]
        token = csrf_token_of(self.client.get("/").get_data(as_text=True))
        return self.client.post("/logout", data={"csrf_token": token})


@pytest.fixture
def auth(client) -> Auth:  # type: ignore[no-untyped-def]
    return Auth(client)
