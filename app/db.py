"""The database handle: engine, sessions and the unit of work — the one place that commits."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar, cast

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker

from app.models.config import REVISED_TABLES

T = TypeVar("T")

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


def conflict_insert(session: Session) -> Callable[..., Any]:
    """The INSERT of the session's dialect (PostgreSQL's or SQLite's): the one with ON CONFLICT."""
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


MEMO = "memo"


def remembered(session: Session, key: Hashable, read: Callable[[], T]) -> T:
    """What `read()` answered for `key` earlier in this transaction, else its answer now (kept for the rest of
    it). A page reads a list once however many of its parts ask. Nothing outlives the transaction, and a
    write in it (pending objects, a flush, an UPDATE/DELETE) forgets everything, so a change is read back."""
    if session.new or session.dirty or session.deleted:
        return read()
    memo = session.info.setdefault(MEMO, {})
    if key not in memo:
        memo[key] = read()
    return cast(T, memo[key])


TOKENS = "revisions"  # session.info: this transaction's tokens and what `kept` answered in it
# database → (group, part) → (its token, what was built); the few newest databases only (tests make thousands)
_KEPT: dict[str, dict[tuple[str, Hashable], tuple[str, Any]]] = {}
KEPT_DATABASES = 4


def kept(session: Session, group: str, read: Callable[[], T], part: Hashable = None) -> T:
    """What `read()` builds from the tables of `group` (app.models.REVISED_TABLES), kept in this process while
    they are unchanged: every write to them gives the group a new random token (triggers, migration 0028), so a
    transaction reads the tokens once (one small statement) instead of the tables, and an administrator's edit
    acts at once in every process. Within a transaction the answer is at hand however often it is asked. The
    tokens are read before the tables, so what is kept is never older than its token; a write in this
    transaction to a group's table reads them again. `read()` must build something immutable (it is shared by
    every later transaction); `part` names what one reader builds from the group (a user of "people"; the unit
    ids beside the unit paths): each part is kept and read on its own. No token (a database emptied with
    triggers off): read once for the transaction."""
    if _pending_revised(session):  # an unflushed change to such a table: read it back (the read's autoflush)
        return read()
    at_hand: tuple[dict[str, str], dict[tuple[str, Hashable], Any]] | None = session.info.get(TOKENS)
    if at_hand is None:  # on the connection: a read that must not forget the transaction's memo
        rows = session.connection().exec_driver_sql("SELECT name, token FROM data_revision").all()
        at_hand = session.info[TOKENS] = ({name: token for name, token in rows}, {})
    tokens, answered = at_hand
    key = (group, part)
    if key in answered:
        return cast(T, answered[key])
    token = tokens.get(group)
    value = read() if token is None else _kept_in_process(session, key, token, read)
    answered[key] = value
    return value


def _kept_in_process(session: Session, key: tuple[str, Hashable], token: str, read: Callable[[], T]) -> T:
    database = str(session.get_bind().engine.url)
    kept_here = _KEPT.get(database)
    if kept_here is None:
        for oldest in list(_KEPT)[:max(0, len(_KEPT) - KEPT_DATABASES + 1)]:
            _KEPT.pop(oldest, None)
        kept_here = _KEPT[database] = {}
    hit = kept_here.get(key)
    if hit is not None and hit[0] == token:
        return cast(T, hit[1])
    value = read()
    kept_here[key] = (token, value)
    return value


def _forget_cached(session: Session, transaction: Any) -> None:
    if transaction.parent is None:
        session.info.pop("settings", None)
        session.info.pop(MEMO, None)
        session.info.pop(TOKENS, None)


def _pending_revised(session: Session) -> bool:
    """Whether the session holds unflushed changes to a table of REVISED_TABLES."""
    written = (*session.new, *session.dirty, *session.deleted)
    return any(getattr(o, "__tablename__", None) in REVISED_TABLES for o in written)


def _forget_memo(session: Session, *_: Any) -> None:
    session.info.pop(MEMO, None)
    if _pending_revised(session):
        session.info.pop(TOKENS, None)  # a flush wrote a revised table: its trigger gave the group a new token


def _forget_memo_on_write(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info.pop(MEMO, None)
        table = getattr(state.statement, "table", None)
        if getattr(table, "name", None) in REVISED_TABLES:
            state.session.info.pop(TOKENS, None)
    elif not state.is_select and not _reads(state.statement):  # text or anything else that may write
        state.session.info.pop(TOKENS, None)


def _reads(statement: Any) -> bool:
    """A textual SELECT (the 判重 and search queries are text): it writes no revised table."""
    return str(getattr(statement, "text", "")).lstrip()[:6].upper() == "SELECT"


def _sessions(bind: Engine, **kwargs: Any) -> sessionmaker[Session]:
    """A session factory whose per-transaction caches (settings, `remembered`) are forgotten on time."""
    factory = sessionmaker(bind, **kwargs)
    event.listen(factory, "after_transaction_end", _forget_cached)
    event.listen(factory, "after_flush", _forget_memo)
    event.listen(factory, "do_orm_execute", _forget_memo_on_write)
    return factory


def _read_only(engine: Engine) -> Engine:
    """PostgreSQL: the engine's transactions begin READ ONLY (psycopg says so in its BEGIN: no round trip)."""
    return engine if engine.dialect.name == "sqlite" else engine.execution_options(postgresql_readonly=True)


def _end_read(session: Session) -> None:
    """End a read-only PostgreSQL transaction with COMMIT, not ROLLBACK: psycopg forgets every statement it has
    prepared on a ROLLBACK, so a connection whose reads roll back never prepares one, and PostgreSQL parses and
    plans each statement again (a worklist's plans cost as much as running them). The transaction is READ ONLY,
    so the COMMIT can keep nothing; anything left pending in the session is dropped as before."""
    if session.get_bind().dialect.name != "sqlite" and session.in_transaction() and not (
            session.new or session.dirty or session.deleted):
        session.commit()


class Database:
    """Sessions for one database; services open one unit of work per use case."""

    def __init__(self, url: str, *, reports_url: str = "", **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self._writer = _sessions(self.engine.execution_options(**{WRITE_OPTION: True}), expire_on_commit=False)
        self._reader = _sessions(_read_only(self.engine), expire_on_commit=False)
        # The reports replica (REPORTS_DATABASE_URL): long aggregate reads off the primary's CPU and cache.
        self.reports_engine = make_engine(reports_url, **engine_kwargs) if reports_url else None
        self._reports = _sessions(_read_only(self.reports_engine), expire_on_commit=False) if self.reports_engine \
            else None

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
        """A read-only session: on PostgreSQL a READ ONLY transaction (the server refuses a write in it)."""
        session = self._reader()
        try:
            yield session
            _end_read(session)
        finally:
            session.close()

    @contextmanager
    def reporting(self) -> Iterator[Session]:
        """A read-only session for report and export queries: on the streaming replica when
        REPORTS_DATABASE_URL names one (its data may lag the primary by the replay lag, under a second
        normally), else the same as `reading`. Never for a read that decides a write."""
        if self._reports is None:
            with self.reading() as session:
                yield session
            return
        session = self._reports()
        try:
            yield session
            _end_read(session)
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()
        if self.reports_engine is not None:
            self.reports_engine.dispose()
