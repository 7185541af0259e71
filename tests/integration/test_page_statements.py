"""A page reads in one session, each thing once: the case page under 15 statements for every role that opens
it, the dispatch desk, the worklist and the leader's desk within their bounds (docs/bench.md has the figures).

Counted with a `before_cursor_execute` listener on the app's engine (as bench/pages.py does); SQLite's own
BEGIN is not a read, so only SELECT/INSERT/UPDATE/DELETE count. Sessions are counted as connections taken
from the pool: one for the signed-in actor (before the view), one for the page. Each page is opened once first:
what a process keeps while unchanged (the dictionary, the calendar, who the user is: `app.db.kept`) is counted
as a steady request pays it, not as the first request after a change."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event

from tests.conftest import Auth
from tests.integration.test_pages import complete, register, text_of, transferred

CASE_PAGE = 15  # 40 (cg01) and 37 (dispatch01) before one session per page, 26 and 24 after, 10–11 now
DISPATCH_DESK = 20  # 45 with a case chosen, in 5 sessions; 18 now
WORKLIST = 12  # 15; 9 now (10 on SQLite when the process's spec is first read by this worker)
LEADER_DESK = 16  # 38; 14 now
SESSIONS = 2  # the actor's, the page's


@dataclass
class Counted:
    statements: list[str] = field(default_factory=list)
    sessions: int = 0

    def listing(self) -> str:
        return f"{len(self.statements)} statements, {self.sessions} sessions:\n" + "\n".join(
            " ".join(s.split()) for s in self.statements)

    def within(self, limit: int) -> None:
        assert len(self.statements) < limit, self.listing()
        assert self.sessions <= SESSIONS, self.listing()


@contextmanager
def counting(app: Any) -> Iterator[Counted]:
    counted = Counted()
    engine = app.extensions["huiyin"].db.engine

    def before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if statement.lstrip().split(None, 1)[0].upper() in ("SELECT", "INSERT", "UPDATE", "DELETE"):
            counted.statements.append(statement)

    def checkout(*_: Any) -> None:
        counted.sessions += 1

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine.pool, "checkout", checkout)
    try:
        yield counted
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine.pool, "checkout", checkout)


def read_once(counted: Counted) -> None:
    """What the page used to read twice or once per task is read once, and the process's BPMN and spec not
    at all."""
    flat = [" ".join(s.split()) for s in counted.statements]
    listing = counted.listing()
    assert sum(s.startswith('SELECT "case".id, "case".number') and "UNION" not in s for s in flat) == 1, listing
    assert sum(s.startswith("SELECT audit_event.id") and "ORDER BY audit_event.id" in s
               and "action" not in s.split("WHERE", 1)[1] for s in flat) == 1, listing  # the timeline
    assert sum(" FROM human_task" in s and "human_task.case_id =" in s for s in flat) == 1, listing  # its tasks
    assert not any("bpmn_xml" in s or "spec_json" in s for s in flat), listing
    assert sum(s.startswith("SELECT unit.id") for s in flat) == 1, listing  # every unit, with the assisting ones
    assert sum("FROM dictionary_entry" in s for s in flat) <= 1, listing  # every list the page shows, at once
    assert not any("human_task.id =" in s for s in flat), listing  # no find_task, no may_work per task
    assert sum("user_session" in s for s in flat) == 1, listing  # the signed-in session (who: kept)
    assert not any(s.startswith("SELECT user_") for s in flat[1:]), listing  # the timeline's names: joined


def test_the_case_page_of_a_handler_reads_each_thing_once(app, client, auth: Auth, demo):
    case_id = transferred(demo)
    auth.login("cg01")
    client.get(f"/cases/{case_id}")  # warm: what this process keeps (`app.db.kept`) is read once
    with counting(app) as counted:
        page = text_of(client.get(f"/cases/{case_id}"))
    assert "签收" in page and "完成「受理」 · 李建国（dispatch01）" in page and "市城管局" in page
    assert "张**" in page and "转送" in page
    read_once(counted)
    counted.within(CASE_PAGE)


def test_the_case_page_of_the_dispatcher_reads_each_thing_once(app, client, auth: Auth, demo):
    register(demo)  # the same requester's other case: listed as related
    case_id = register(demo)
    auth.login("dispatch01")
    client.get(f"/cases/{case_id}")  # warm: what this process keeps (`app.db.kept`) is read once
    with counting(app) as counted:
        page = text_of(client.get(f"/cases/{case_id}"))
    assert "受理" in page and "登记 · 王晓燕（agent01）" in page and "张**" in page and "同一诉求人" in page
    read_once(counted)
    counted.within(CASE_PAGE)


def test_the_case_page_of_a_leader_reads_each_thing_once(app, client, auth: Auth, demo):
    case_id = transferred(demo)
    for leader in ("leader01", "cgleader01"):  # the centre's, and the one of the unit handling it
        auth.login(leader)
        client.get(f"/cases/{case_id}")  # warm: what this process keeps (`app.db.kept`) is read once
        with counting(app) as counted:
            page = text_of(client.get(f"/cases/{case_id}"))
        assert "签收" in page and "完成「派单」 · 李建国（dispatch01）" in page and "督办" in page
        read_once(counted)
        counted.within(CASE_PAGE)


def test_the_dispatch_desk_reads_in_one_session(app, client, auth: Auth, demo):
    auth.login("dispatch01")
    client.get("/dispatch")  # warm: what this process keeps (`app.db.kept`) is read once
    with counting(app) as counted:
        assert "没有待派单的诉求件" in text_of(client.get("/dispatch"))
    counted.within(DISPATCH_DESK)
    case_id = register(demo)
    complete(demo, "dispatch01", case_id, "accept", accept_decision="accept", kind="complaint")
    client.get("/dispatch")  # warm: what this process keeps (`app.db.kept`) is read once
    with counting(app) as counted:
        page = text_of(client.get("/dispatch"))
    assert "转送 签收 承办单位受理 1个工作日 至 2026-11-26 23:59" in page and "张**" in page
    counted.within(DISPATCH_DESK)
    flat = [" ".join(s.split()) for s in counted.statements]
    assert sum("FROM deadline_rule" in s for s in flat) <= 1, counted.listing()  # not one per step (none: kept)


def test_the_worklist_and_the_leader_desk_read_each_list_once(app, client, auth: Auth, demo):
    transferred(demo)
    transferred(demo)
    auth.login("cg01")
    client.get("/worklist")  # warm: what this process keeps (`app.db.kept`) is read once
    with counting(app) as counted:
        assert "签收" in text_of(client.get("/worklist"))
    counted.within(WORKLIST)
    auth.login("cgleader01")
    client.get("/leader")  # warm: what this process keeps (`app.db.kept`) is read once
    with counting(app) as counted:
        assert "市城管局" in text_of(client.get("/leader"))
    counted.within(LEADER_DESK)
    flat = [" ".join(s.split()) for s in counted.statements]
    assert sum("FROM calendar_day" in s for s in flat) <= 1, counted.listing()  # one calendar per page
