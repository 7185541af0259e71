"""Gap-free numbering: one upsert-and-return per number, serialized by the row it touches."""

from __future__ import annotations

from sqlalchemy import Insert
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
