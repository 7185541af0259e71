"""The migration chain builds the whole schema on an empty database of either kind, matching the models."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, func, select, text

from app.domain.roles import PERMISSIONS, ROLE_PERMISSIONS, ROLES
from app.migrate import upgrade
from app.models import Base, Permission, Role, role_permission
from app.models.knowledge import FTS_TABLES
from app.models.queries import CASE_FTS_TABLES, CASE_TEXT_INDEXES


def not_fts(name: str | None, kind: str, _parents: object) -> bool:
    """SQLite's FTS5 indexes (knowledge base, case text) with their shadow tables and PostgreSQL's trigram
    indexes on case text are no model: left out of the comparison."""
    return not ((kind == "table" and name in FTS_TABLES | CASE_FTS_TABLES)
                or (kind == "index" and name in CASE_TEXT_INDEXES))


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with nothing in it: a new SQLite file, or a new PostgreSQL schema dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    base = request.getfixturevalue("pg_base_url")
    schema = f"mig_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _differences(url: str) -> list[object]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True, "include_name": not_fts})
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()


def _catalogue(url: str) -> tuple[set[str], set[str], set[tuple[str, str]]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            roles = set(conn.scalars(select(Role.code)))
            permissions = set(conn.scalars(select(Permission.code)))
            links = {(r, p) for r, p in conn.execute(select(role_permission.c.role_code,
                                                            role_permission.c.permission_code))}
            return roles, permissions, links
    finally:
        engine.dispose()


def test_an_empty_database_upgrades_to_a_schema_that_matches_the_models(empty_db_url):
    upgrade(empty_db_url)

    assert _differences(empty_db_url) == []


def test_the_upgrade_brings_the_role_catalogue_once_however_often_it_runs(empty_db_url):
    upgrade(empty_db_url)
    upgrade(empty_db_url)

    roles, permissions, links = _catalogue(empty_db_url)
    assert roles == set(ROLES)
    assert permissions == set(PERMISSIONS)
    assert links == {(r, p) for r, perms in ROLE_PERMISSIONS.items() for p in perms}
    assert _differences(empty_db_url) == []
    engine = create_engine(empty_db_url)
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(text("alembic_version"))) == 1
    engine.dispose()
