"""Alembic environment: one migration chain for SQLite and PostgreSQL."""

from __future__ import annotations

import os
from typing import Any

from alembic import context
from sqlalchemy import pool

from app.db import make_engine
from app.models import Base
from app.models.knowledge import FTS_TABLES

config = context.config
target_metadata = Base.metadata


def _not_fts(name: str | None, kind: str, _parents: object) -> bool:
    """Autogenerate leaves SQLite's FTS5 index of the knowledge base alone: it is no model."""
    return not (kind == "table" and name in FTS_TABLES)


def _url() -> str:
    return config.attributes.get("url") or os.environ.get("DATABASE_URL") or config.get_main_option(
        "sqlalchemy.url") or ""


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True,
                      render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(_url(), poolclass=pool.NullPool)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def _run(connection: Any) -> None:
    if connection.dialect.name == "sqlite" and not connection.in_transaction():
        # A batch rebuild of a table others point at (e.g. `unit`) drops and renames it: with foreign keys on,
        # that fails on any populated install. Off for the migration only (PRAGMA is ignored inside a transaction).
        connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True,
                      compare_type=True, include_name=_not_fts)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
