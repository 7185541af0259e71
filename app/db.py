"""The database handle: engine, sessions and the unit of work — the one place that commits."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker

WRITE_OPTION = "huiyin_write"


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys and `BEGIN IMMEDIATE` for writers."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs)
        _tune_sqlite(engine)
        return engine
    # JIT compiling costs more than it saves on the short OLTP queries pages run (measured: docs/bench.md).
    parsed = make_url(url)
    if parsed.drivername == "postgresql":  # a plain postgresql:// URL means psycopg 3, the driver we ship
        parsed = parsed.set(drivername="postgresql+psycopg")
    options = " ".join(filter(None, [str(parsed.query.get("options", "")), "-c jit=off"]))
    return create_engine(parsed.difference_update_query(["options"]), pool_pre_ping=True,
                         connect_args={"options": options}, **kwargs)


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A writer takes the write lock up front, so two writers queue instead of deadlocking.
        immediate = conn.get_execution_options().get(WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _forget_cached(session: Session, transaction: Any) -> None:
    if transaction.parent is None:
        session.info.pop("settings", None)


class Database:
    """Sessions for one database; services open one unit of work per use case."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self._writer = sessionmaker(self.engine.execution_options(**{WRITE_OPTION: True}),
                                    expire_on_commit=False)
        # Anything cached per transaction (settings) is forgotten when it ends.
        event.listen(self._writer, "after_transaction_end", _forget_cached)
        self._reader = sessionmaker(self.engine, expire_on_commit=False)
        event.listen(self._reader, "after_transaction_end", _forget_cached)

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """One transaction that writes: commit explicitly, anything else rolls back whole."""
        session = self._writer()
        try:
            yield session
        finally:
            session.close()  # rolls back anything uncommitted; loaded objects stay readable

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A read-only session; never commits."""
        session = self._reader()
        try:
            yield session
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()
