"""Numbering. Gap-free counters (document numbers) are an upsert-and-return serialized by the row it
touches; the case serial is a PostgreSQL sequence, so registrations never queue behind each other
(a rolled-back registration leaves a gap in 受理号, which only needs to be unique)."""

from __future__ import annotations

from sqlalchemy import Insert, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.models import Counter


def next_value(session: Session, name: str) -> int:
    """The next number of the named counter, in the caller's transaction (a rollback gives it back)."""
    insert: Insert
    if session.get_bind().dialect.name == "postgresql":
        pg = postgresql.insert(Counter).values(name=name, value=1)
        insert = pg.on_conflict_do_update(index_elements=[Counter.name], set_={"value": Counter.value + 1})
    else:
        lite = sqlite.insert(Counter).values(name=name, value=1)
        insert = lite.on_conflict_do_update(index_elements=[Counter.name], set_={"value": Counter.value + 1})
    value = session.execute(insert.returning(Counter.value)).scalar_one()
    return int(value)


def next_case_serial(session: Session) -> int:
    """A unique, rising serial for 受理号: a sequence on PostgreSQL, the `case` counter on SQLite
    (whose writers are serialized anyway)."""
    if session.get_bind().dialect.name == "postgresql":
        return int(session.execute(text("SELECT nextval('case_serial')")).scalar_one())
    return next_value(session, "case")
