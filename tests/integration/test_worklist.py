"""我的待办 as a handler sees it: the light counts, the light and task filters and the pages agree with the rows
listed, and follow the clock with no write (the counts are read from the ready tasks at each request, never
kept). On SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import update

from app.models import HumanTask
from app.services.tasks import load_worklist
from tests.conftest import Auth
from tests.integration.test_pages import actor, complete, number_of, ready, text_of, transferred


def set_times(platform, case_id: int, spec: str, *, due: datetime, warn: datetime,
              paused: datetime | None = None) -> None:
    """Put one ready task's deadline where the test needs it (as an extension or a pause would)."""
    task_id = ready(platform, case_id, spec).id
    with platform.db.unit_of_work() as session:
        session.execute(update(HumanTask).where(HumanTask.id == task_id)
                        .values(due_at=due, warn_at=warn, paused_at=paused))
        session.commit()


def numbers_listed(page: str) -> list[str]:
    return re.findall(r'<span class="number">([^<]+)</span>', page)


def counts_shown(page: str) -> dict[str, int]:
    return {label: int(n) for label, n in re.findall(r"(绿灯|黄灯|红灯|暂停) (\d+)", text_of_counts(page))}


def text_of_counts(page: str) -> str:
    block = page.split('aria-label="按灯统计"', 1)[1].split("</ul>", 1)[0]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", block))


def a_bureau_worklist(demo, clock) -> dict[str, int]:
    """Five cases at 市城管局: green, yellow, red and paused 签收 tasks, and one signed for (办理, green)."""
    now = clock.now()
    cases = {name: transferred(demo) for name in ("green", "yellow", "red", "paused", "handle")}
    complete(demo, "cg01", cases["handle"], "sign_for")
    day = timedelta(days=1)
    set_times(demo, cases["green"], "sign_for", due=now + 3 * day, warn=now + 2 * day)
    set_times(demo, cases["yellow"], "sign_for", due=now + day, warn=now - timedelta(hours=1))
    set_times(demo, cases["red"], "sign_for", due=now - day, warn=now - 2 * day)
    set_times(demo, cases["paused"], "sign_for", due=now - day, warn=now - 2 * day, paused=now - 3 * day)
    set_times(demo, cases["handle"], "handle", due=now + 10 * day, warn=now + 8 * day)
    return cases


def test_each_light_count_matches_the_rows_its_filter_lists(app, client, auth: Auth, demo, clock):
    cases = a_bureau_worklist(demo, clock)
    auth.login("cg01")
    page = client.get("/worklist").get_data(as_text=True)
    assert counts_shown(page) == {"绿灯": 2, "黄灯": 1, "红灯": 1, "暂停": 1}
    assert "共 5 件" in text_of(client.get("/worklist"))
    listed = numbers_listed(page)
    assert sorted(listed) == sorted(number_of(demo, c) for c in cases.values())
    for light, expected in (("green", ["green", "handle"]), ("yellow", ["yellow"]), ("red", ["red"]),
                            ("paused", ["paused"])):
        filtered = client.get(f"/worklist?light={light}").get_data(as_text=True)
        assert sorted(numbers_listed(filtered)) == sorted(number_of(demo, cases[n]) for n in expected), light
        assert counts_shown(filtered) == counts_shown(page)  # the counts are over all tasks, whatever the filter


def test_the_task_filter_offers_the_steps_waiting_and_lists_only_that_step(app, client, auth: Auth, demo, clock):
    cases = a_bureau_worklist(demo, clock)
    auth.login("cg01")
    page = client.get("/worklist").get_data(as_text=True)
    offered = re.findall(r'<option value="(\w+)" >([^<]+)</option>', page.split('name="task"', 1)[1].split(
        "</select>", 1)[0])
    assert offered == [("handle", "办理"), ("sign_for", "签收")]
    handle = client.get("/worklist?task=handle")
    assert numbers_listed(handle.get_data(as_text=True)) == [number_of(demo, cases["handle"])]
    assert "共 1 件" in text_of(handle)
    red_sign_for = text_of(client.get("/worklist?task=sign_for&light=red"))
    assert "共 1 件" in red_sign_for and number_of(demo, cases["red"]) in red_sign_for


def test_the_counts_follow_the_clock_with_no_write(app, client, auth: Auth, demo, clock):
    a_bureau_worklist(demo, clock)
    auth.login("cg01")
    clock.at = clock.now() + timedelta(days=2, hours=1)  # the green 签收 is past its warn_at, the yellow one late
    auth.login("cg01")  # afresh: the frozen clock jumped past the idle limit
    assert counts_shown(client.get("/worklist").get_data(as_text=True)) == {"绿灯": 1, "黄灯": 1, "红灯": 2, "暂停": 1}


def test_pages_walk_the_due_order_without_losing_or_repeating_a_task(app, demo, clock):
    cases = a_bureau_worklist(demo, clock)
    handler = actor(demo, "cg01")
    with demo.db.reading() as session:
        whole = load_worklist(session, clock.now(), handler, per_page=50)
        paged = [load_worklist(session, clock.now(), handler, page=n, per_page=2) for n in (1, 2, 3)]
    assert whole.total == 5 and [p.pages for p in paged] == [3, 3, 3]
    order = [t.id for t, *_ in whole.rows]
    assert [t.id for p in paged for t, *_ in p.rows] == order
    assert [t.due_at for t, *_ in whole.rows] == sorted(t.due_at for t, *_ in whole.rows)
    assert {c.id for _, c, *_ in whole.rows} == set(cases.values())
    assert all(p.counts == whole.counts for p in paged)
