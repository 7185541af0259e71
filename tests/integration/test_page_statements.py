"""The case page reads in one session: the case, its timeline, its units and each list once.

Counted with a `before_cursor_execute` listener on the app's engine (as bench/pages.py does); SQLite's own
BEGIN is not a read, so only SELECT/INSERT/UPDATE/DELETE count."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from tests.conftest import Auth
from tests.integration.test_pages import register, text_of, transferred

LIMIT = 27  # 40 (cg01) and 37 (dispatch01) before one session per page, 26 and 24 now; issue 9 aims at 15


def read_once(statements: list[str]) -> None:
    """The duplicates the page used to read are read once, and the process's BPMN and spec not at all."""
    flat = [" ".join(s.split()) for s in statements]
    assert sum(s.startswith('SELECT "case".id, "case".number') for s in flat) == 1  # the case
    assert sum(s.startswith("SELECT audit_event.id") and "ORDER BY audit_event.id" in s
               and "action" not in s.split("WHERE", 1)[1] for s in flat) == 1  # the timeline
    assert not any("bpmn_xml" in s or "spec_json" in s for s in flat)
    assert sum(s.startswith("SELECT unit.id") and "WHERE" not in s for s in flat) == 1  # every unit
    assert sum(s.startswith("SELECT dictionary_entry.code") and "active IS" in s for s in flat) <= 3  # kind,
    # channel, a pause reason: each list once
    assert not any("FROM human_task JOIN" in s and "human_task.id =" in s for s in flat)  # no find_task again


@contextmanager
def counting(app: Any) -> Iterator[list[str]]:
    statements: list[str] = []
    engine = app.extensions["huiyin"].db.engine

    def before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if statement.lstrip().split(None, 1)[0].upper() in ("SELECT", "INSERT", "UPDATE", "DELETE"):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before)


def test_the_case_page_of_a_handler_reads_each_thing_once(app, client, auth: Auth, demo):
    case_id = transferred(demo)
    auth.login("cg01")
    with counting(app) as statements:
        page = text_of(client.get(f"/cases/{case_id}"))
    assert "签收" in page and "完成「受理」 · 李建国（dispatch01）" in page and "市城管局" in page
    assert "张**" in page and "转送" in page
    read_once(statements)
    assert len(statements) < LIMIT, "\n".join(statements)


def test_the_case_page_of_the_dispatcher_reads_each_thing_once(app, client, auth: Auth, demo):
    case_id = register(demo)
    auth.login("dispatch01")
    with counting(app) as statements:
        page = text_of(client.get(f"/cases/{case_id}"))
    assert "受理" in page and "登记 · 王晓燕（agent01）" in page and "张**" in page
    read_once(statements)
    assert len(statements) < LIMIT, "\n".join(statements)
