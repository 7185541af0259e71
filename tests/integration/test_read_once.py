"""What a page reads once per transaction (`app.db.remembered`) is never stale: a write in the same
transaction is read back, and the next transaction reads afresh (an administrator's rename acts at once)."""

from __future__ import annotations

from sqlalchemy import event, select, update

from app.models import DictionaryEntry, Unit
from app.services import dictionary
from app.services.platform import Platform
from app.services.units import every_unit


def _counting(platform: Platform) -> list[str]:
    seen: list[str] = []
    event.listen(platform.db.engine, "before_cursor_execute",
                 lambda conn, cursor, statement, *_: seen.append(statement)
                 if statement.startswith("SELECT") and "FROM dictionary_entry" in statement else None)
    return seen


def test_a_list_is_read_once_per_transaction_and_afresh_after_it(demo: Platform):
    seen = _counting(demo)
    with demo.db.reading() as session:
        dictionary.preload(session, "kind", "channel")
        kinds, channels = dictionary.labels(session, "kind"), dictionary.labels(session, "channel")
        assert dictionary.label(session, "kind", "complaint") == kinds["complaint"] == "投诉"
        assert channels
    assert len(seen) <= 1  # once, or not at all when this process kept it unchanged (`app.db.kept`)
    first = len(seen)
    with demo.db.unit_of_work() as session:
        session.execute(update(DictionaryEntry).where(DictionaryEntry.kind == "kind",
                                                      DictionaryEntry.code == "complaint").values(label="投诉件"))
        session.commit()
    with demo.db.reading() as session:
        assert dictionary.labels(session, "kind")["complaint"] == "投诉件"  # the next request reads the new words
    assert len(seen) == first + 1


def test_a_write_in_the_same_transaction_is_read_back(demo: Platform):
    with demo.db.unit_of_work() as session:
        assert dictionary.labels(session, "kind")["complaint"] == "投诉"
        entry = session.scalars(select(DictionaryEntry).where(DictionaryEntry.kind == "kind",
                                                              DictionaryEntry.code == "complaint")).one()
        entry.label = "投诉件"  # pending, not yet flushed
        assert dictionary.labels(session, "kind")["complaint"] == "投诉件"
        session.execute(update(DictionaryEntry).where(DictionaryEntry.id == entry.id).values(label="投诉(改)"))
        assert dictionary.label(session, "kind", "complaint") == "投诉(改)"  # an UPDATE forgets what was read
        before = len(every_unit(session))
        session.add(Unit(code="new", name="新单位", kind="section", path="/x/", active=True))
        assert len(every_unit(session)) == before + 1


def test_a_read_only_transaction_refuses_a_write_and_keeps_what_it_was_given(platform: Platform):
    """PostgreSQL: a `reading` transaction is READ ONLY, so ending it with COMMIT can keep nothing; SQLite
    rolls it back as before. Either way the write is not kept."""
    with platform.db.unit_of_work() as session:
        session.add(Unit(code="kept", name="原单位", kind="section", path="/k/", active=True))
        session.commit()
    pg = platform.db.engine.dialect.name == "postgresql"
    try:
        with platform.db.reading() as session:
            session.execute(update(Unit).where(Unit.code == "kept").values(name="改名"))
    except Exception as refused:  # noqa: BLE001 - the driver's error for a write in a read-only transaction
        assert pg and "read-only transaction" in str(refused)
    else:
        assert not pg, "PostgreSQL took a write in a read-only transaction"
    with platform.db.reading() as session:
        assert session.scalars(select(Unit.name).where(Unit.code == "kept")).one() == "原单位"


def test_reads_that_repeat_are_prepared_once_on_postgresql(platform: Platform):
    """psycopg prepares a statement after its fifth use on a connection, and forgets every one on a ROLLBACK:
    reads ended with ROLLBACK were parsed and planned anew on every request. They now end with COMMIT."""
    if platform.db.engine.dialect.name != "postgresql":
        return  # SQLite has no server to plan a statement
    asked = select(Unit.id).where(Unit.code == "nowhere")
    for _ in range(8):
        with platform.db.reading() as session:
            assert session.scalars(asked).all() == []
    with platform.db.reading() as session:
        prepared = session.connection().exec_driver_sql(
            "SELECT statement FROM pg_prepared_statements").scalars().all()
    assert any("FROM unit" in s and "unit.code = $1" in s for s in prepared), prepared
