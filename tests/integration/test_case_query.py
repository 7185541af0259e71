"""The combined query and exports on both databases, over a generated set whose answers are known
(tests/query_data.py): each condition, sort + keyset paging (no row twice, none skipped, across ties),
422 naming unknown keys, `%`/`_` literal, scope, formula-safe cells read back with openpyxl, masking."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import openpyxl
import pytest
from sqlalchemy import select

from app.domain.case_query import parse
from app.errors import Invalid, NotFound
from app.models import AuditEvent, Setting, Unit, User
from app.services import case_query, exports, saved_queries
from app.services.actors import Actor
from app.services.auth import actor_for
from app.services.platform import Platform
from tests.conftest import DEMO_PASSWORD, START, csrf_token_of
from tests.query_data import ID_NUMBER, PHONES, CaseRow, make_cases

N = 60


@pytest.fixture
def data(demo: Platform) -> list[CaseRow]:
    return make_cases(demo, N, START)


def actor(platform: Platform, staff_no: str) -> Actor:
    with platform.db.reading() as session:
        user = session.scalar(select(User).where(User.staff_no == staff_no))
        assert user is not None
        return actor_for(user, platform=platform)


def numbers(platform: Platform, who: Actor, **params: str) -> list[str]:
    """Every number the query answers, walking `next` to the end."""
    out: list[str] = []
    args = {k: [v] for k, v in params.items()}
    while True:
        page = case_query.search(platform, who, parse(args))
        out += [i["number"] for i in page["items"]]
        if not page["next"]:
            return out
        args["after"] = [page["next"]]


def expect(rows: list[CaseRow], keep: Callable[[CaseRow], bool]) -> set[str]:
    return {r.number for r in rows if keep(r)}


CASES: dict[str, tuple[dict[str, str], Callable[[CaseRow], bool]]] = {
    "kind": ({"kind": "complaint,help"}, lambda r: r.kind in ("complaint", "help")),
    "channel": ({"channel": "web"}, lambda r: r.channel == "web"),
    "category subtree": ({"category": "城乡建设"}, lambda r: (r.category or "").startswith("城乡建设/")),
    "category leaf": ({"category": "环境保护/噪声"}, lambda r: r.category == "环境保护/噪声"),
    "status": ({"status": "archived"}, lambda r: r.status == "archived"),
    "dispatch mode": ({"dispatch_mode": "co_handle"}, lambda r: r.mode == "co_handle"),
    "replied": ({"reply": "replied"}, lambda r: r.replied),
    "unreplied": ({"reply": "unreplied"}, lambda r: not r.replied),
    "late reply": ({"reply": "late"}, lambda r: r.on_time is False),
    "lead unit": ({"lead_unit": "cgj"}, lambda r: r.lead == "cgj"),
    "assisting unit": ({"assisting_unit": "zjj"}, lambda r: r.assisting == "zjj"),
    "lead handler": ({"lead_user": "zj01"}, lambda r: r.handler == "zj01"),
    "light red": ({"light": "red"}, lambda r: r.task == "red"),
    "light yellow or green": ({"light": "yellow,green"}, lambda r: r.task in ("yellow", "green")),
    "assisting handler": ({"assisting_user": "zj01"}, lambda r: r.assisting_handler == "zj01"),
    "extended": ({"extended": "1"}, lambda r: r.extended),
    "returned": ({"returned": "1"}, lambda r: r.returned),
    "not returned": ({"returned": "0"}, lambda r: not r.returned),
    "location": ({"location": "幸福里2号"}, lambda r: r.location == "幸福里2号楼"),
    "id number": ({"id_number": ID_NUMBER.lower()}, lambda r: r.phone == PHONES[0]),
    "e-supervision: late closing": ({"flag": "late_closing"}, lambda r: r.task == "red"),
    "e-supervision: late closing or acceptance": ({"flag": "late_closing,late_acceptance"},
                                                  lambda r: r.task == "red"),
    "overdue": ({"overdue": "1"}, lambda r: r.task == "red"),
    "not overdue": ({"overdue": "0"}, lambda r: r.task != "red"),
    "supervised": ({"supervised": "1"}, lambda r: r.supervised),
    "satisfaction": ({"satisfaction": "unsatisfied,none"}, lambda r: r.satisfaction in ("unsatisfied", None)),
    "duplicate": ({"duplicate": "1"}, lambda r: r.duplicate),
    "area": ({"area": "dcq"}, lambda r: r.area.startswith("dcq")),
    "created range": ({"created_from": "2026-11-20", "created_to": "2026-11-22"},
                      lambda r: "2026-11-20" <= r.created_at.date().isoformat() <= "2026-11-22"),
    "text": ({"q": "诉求1"}, lambda r: "诉求1" in r.subject),
    "text, 2 characters": ({"q": "退还"}, lambda r: "退还" in r.subject),
    "content": ({"q": "内容12:"}, lambda r: r.index == 12),
    "phone": ({"phone": PHONES[1]}, lambda r: r.phone == PHONES[1]),
    "combined": ({"kind": "complaint", "lead_unit": "cgj", "reply": "replied"},
                 lambda r: r.kind == "complaint" and r.lead == "cgj" and r.replied),
}


def test_each_condition_answers_exactly_its_cases(demo, data):
    with demo.db.reading() as session:
        ids = {u.code: str(u.id) for u in session.scalars(select(Unit))}
        staff = {u.staff_no: str(u.id) for u in session.scalars(select(User))}
    leader = actor(demo, "leader01")
    for name, (given, keep) in CASES.items():
        params = {k: ids.get(v, v) if k.endswith("unit") or k == "area" else staff.get(v, v) if k.endswith("user")
                  else v for k, v in given.items()}
        found = numbers(demo, leader, **params)
        assert len(found) == len(set(found)), name
        assert set(found) == expect(data, keep), name


def test_the_number_finds_its_one_case(demo, data):
    leader = actor(demo, "leader01")
    assert numbers(demo, leader, number=data[5].number) == [data[5].number]
    assert numbers(demo, leader, number="T99999999") == []


def test_percent_and_underscore_are_literal(demo, data):
    leader = actor(demo, "leader01")
    assert numbers(demo, leader, q="100%_") == [data[7].number]
    assert set(numbers(demo, leader, q="100%")) == {data[7].number, data[9].number}
    assert numbers(demo, leader, q="0_退") == []


def test_keyset_pages_cover_every_row_once_in_order_across_ties(demo, data):
    """Ten cases share each created_at; NULL satisfaction, lead unit and reply time come last either way."""
    leader = actor(demo, "leader01")
    for sort in ("-created_at", "created_at", "number", "-satisfaction", "lead_unit", "-replied_at"):
        for limit in ("7", "10"):
            _walks_in_order(demo, leader, sort, limit)


def _walks_in_order(demo: Platform, leader: Actor, sort: str, limit: str) -> None:
    found = numbers(demo, leader, sort=sort, limit=limit)
    assert len(found) == len(set(found)) == N
    everything = case_query.search(demo, leader, parse({"sort": [sort], "limit": ["200"]}))["items"]
    assert found == [i["number"] for i in everything]
    key = sort.lstrip("-")
    values = [i[{"lead_unit": "lead_unit_id"}.get(key, key)] for i in everything]
    present = [v for v in values if v is not None]
    assert present == sorted(present, reverse=sort.startswith("-"))
    assert values[len(present):] == [None] * (len(values) - len(present))  # NULLs last


def test_before_walks_back_to_the_same_pages(demo, data):
    leader = actor(demo, "leader01")
    first = case_query.search(demo, leader, parse({"limit": ["8"]}))
    second = case_query.search(demo, leader, parse({"limit": ["8"], "after": [first["next"]]}))
    back = case_query.search(demo, leader, parse({"limit": ["8"], "before": [second["prev"]]}))
    assert [i["number"] for i in back["items"]] == [i["number"] for i in first["items"]]
    assert back["prev"] is None


def test_a_units_leader_sees_only_their_units_rows_in_query_and_export(demo, data):
    cg_leader = actor(demo, "cgleader01")
    found = set(numbers(demo, cg_leader))
    assert found == expect(data, lambda r: r.lead == "cgj" or r.assisting == "cgj" or r.earlier == "cgj")
    assert expect(data, lambda r: r.earlier == "cgj")  # seen through a step of theirs only (signed, returned)
    job = exports.create(demo, cg_leader, {"sort": "number"}, "csv")
    path, _ = exports.file_of(demo, cg_leader, job["id"])
    with path.open(encoding="utf-8-sig") as f:
        exported = {row[0] for row in list(csv.reader(f))[1:]}
    assert exported == found
    with pytest.raises(Exception) as refused:
        exports.status(demo, actor(demo, "leader01"), job["id"])  # not the creator
    assert getattr(refused.value, "status", None) == 404


def test_unknown_keys_and_bad_values_are_422_in_chinese_naming_the_key(client, demo, data):
    token = client.post("/api/v1/auth/token", json={"staff_no": "leader01", "password": DEMO_PASSWORD}).get_json()
    headers = {"Authorization": f"Bearer {token['token']}"}
    for query, key, word in (("colour=red", "colour", "未知的查询条件"), ("sort=password", "sort", "未知的排序字段"),
                             ("sort=id;drop", "sort", "未知的排序字段"), ("lead_unit=abc", "lead_unit", "主办机构"),
                             ("light=purple", "light", "亮灯"), ("after=xyz", "after", "翻页位置")):
        response = client.get(f"/api/v1/cases?{query}", headers=headers)
        body = response.get_json()
        assert response.status_code == 422, query
        assert key in body["details"] and word in body["message"], body
        assert "SELECT" not in response.get_data(as_text=True).upper()
    ok = client.get("/api/v1/cases?kind=complaint&sort=-created_at&limit=5", headers=headers).get_json()
    assert len(ok["items"]) == 5 and ok["next"]
    more = client.get(f"/api/v1/cases?kind=complaint&sort=-created_at&limit=5&after={ok['next']}",
                      headers=headers).get_json()
    assert not {i["id"] for i in ok["items"]} & {i["id"] for i in more["items"]}
    bad = client.post("/api/v1/exports", json={"query": {"bogus": "1"}, "format": "xlsx"}, headers=headers)
    assert bad.status_code == 422 and "bogus" in bad.get_json()["details"]
    assert client.post("/api/v1/exports", json={"query": {}, "format": "pdf"}, headers=headers).status_code == 422


def test_xlsx_export_cells_are_inert_and_personal_data_masked_unless_revealed(client, demo, data):
    token = client.post("/api/v1/auth/token", json={"staff_no": "leader01", "password": DEMO_PASSWORD}).get_json()
    headers = {"Authorization": f"Bearer {token['token']}"}
    created = client.post("/api/v1/exports", json={"query": {"q": "HYPERLINK"}, "format": "xlsx"}, headers=headers)
    assert created.status_code == 201
    job = created.get_json()
    assert job["progress"] == 100 and job["url"]
    sheet = _sheet(client.get(job["url"], headers=headers).data)
    header, row = sheet[0], sheet[1]
    subject = row[header.index("标题")]
    assert subject == "'=HYPERLINK(\"http://x\")"
    assert row[header.index("联系电话")] == "138****0002" and row[header.index("诉求人")] == "测***"
    revealed = client.post("/api/v1/exports", json={"query": {"q": "HYPERLINK"}, "format": "xlsx", "reveal": True},
                           headers=headers).get_json()
    row = _sheet(client.get(revealed["url"], headers=headers).data)[1]
    assert row[header.index("联系电话")] == PHONES[1] and row[header.index("诉求人")] == "测试人1"
    with demo.db.reading() as session:
        audited = [e.detail for e in session.scalars(select(AuditEvent).where(AuditEvent.action == "export.created"))]
    assert [(d["query"]["q"], d["rows"], d["reveal"]) for d in audited] == [("HYPERLINK", 1, False),
                                                                             ("HYPERLINK", 1, True)]


def _sheet(content: bytes) -> list[list[Any]]:
    book = openpyxl.load_workbook(io.BytesIO(content))
    sheet = book.active
    assert sheet is not None
    for row in sheet.iter_rows():
        assert all(cell.data_type != "f" for cell in row)
    return [list(r) for r in sheet.iter_rows(values_only=True)]


def test_a_large_export_waits_for_the_scheduler_and_shows_progress(demo, data):
    with demo.db.unit_of_work() as session:
        session.add(Setting(key="exports.background_rows", value={"value": 20}, updated_at=demo.clock.now()))
        session.commit()
    leader = actor(demo, "leader01")
    job = exports.create(demo, leader, {}, "csv")
    assert (job["state"], job["progress"], job["url"], job["rows_total"]) == ("pending", 0, None, N)
    assert exports.run_pending(demo, "scheduler@test") == 1
    done = exports.status(demo, leader, job["id"])
    assert (done["state"], done["progress"], done["rows_done"]) == ("done", 100, N)
    assert exports.run_pending(demo, "scheduler@test") == 0


def test_the_query_page_filters_sorts_pages_saves_and_exports(client, auth, demo, data):
    auth.login("leader01")
    page = client.get("/query?kind=complaint&sort=number&limit=10")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "综合查询" in html
    complaints = sorted(r.number for r in data if r.kind == "complaint")
    assert complaints[0] in html and complaints[9] in html and complaints[10] not in html
    assert 'rel="next"' in html and 'aria-sort="ascending"' in html
    flagged = client.get("/query?flag=late_closing&sort=number&limit=200").get_data(as_text=True)
    assert '<option value="late_closing" selected>超期未办结</option>' in flagged
    red = sorted(r.number for r in data if r.task == "red")
    assert all(n in flagged for n in red) and not any(r.number in flagged for r in data if r.task != "red")
    bad = client.get("/query?colour=red")
    assert bad.status_code == 422 and "未知的查询条件:colour" in bad.get_data(as_text=True)
    token = csrf_token_of(html)
    saved = client.post("/query/saved", data={"csrf_token": token, "name": "我的投诉", "shared": "1",
                                              "kind": "complaint", "sort": "number"})
    assert saved.status_code == 302
    assert "我的投诉" in client.get("/query").get_data(as_text=True)
    started = client.post("/query/exports", data={"csrf_token": token, "format": "csv", "kind": "complaint"})
    assert started.status_code == 302
    status = client.get(started.headers["Location"] + "/status").get_json()
    assert status["progress"] == 100 and status["rows_total"] == len(complaints)
    body = client.get(status["url"]).data.decode("utf-8-sig")
    assert sorted(r[0] for r in list(csv.reader(io.StringIO(body)))[1:]) == complaints


def test_saved_queries_are_private_or_shared_with_the_owners_unit(demo, data):
    owner, colleague, other = actor(demo, "cg01"), actor(demo, "cgleader01"), actor(demo, "zj01")
    assert owner.unit_id == colleague.unit_id != other.unit_id
    mine = saved_queries.save(demo, owner, "我的红灯", {"light": ["red"]}, shared=False)
    ours = saved_queries.save(demo, owner, "本单位投诉", {"kind": ["complaint"], "sort": ["number"]}, shared=True)
    assert [q["name"] for q in saved_queries.listed(demo, owner)] == ["我的红灯", "本单位投诉"]  # by name
    assert [(q["id"], q["shared"], q["mine"]) for q in saved_queries.listed(demo, colleague)] == [(ours, True, False)]
    assert saved_queries.listed(demo, other) == []
    shared = saved_queries.listed(demo, colleague)[0]["params"]
    assert (shared["kind"], shared["sort"]) == ("complaint", "number")  # runs again as saved
    assert set(numbers(demo, colleague, **shared)) == expect(
        data, lambda r: r.kind == "complaint" and (r.lead == "cgj" or r.assisting == "cgj"))
    with pytest.raises(NotFound):
        saved_queries.delete(demo, colleague, ours)  # only its owner deletes it
    with pytest.raises(Invalid) as refused:
        saved_queries.save(demo, owner, "坏的", {"colour": ["red"]}, shared=False)
    assert "colour" in refused.value.details and "未知的查询条件" in refused.value.message
    saved_queries.delete(demo, owner, mine)
    assert [q["name"] for q in saved_queries.listed(demo, owner)] == ["本单位投诉"]


def test_an_export_past_the_row_cap_is_refused_naming_the_query(demo, data):
    with demo.db.unit_of_work() as session:
        session.add(Setting(key="exports.row_cap", value={"value": 20}, updated_at=demo.clock.now()))
        session.commit()
    leader = actor(demo, "leader01")
    with pytest.raises(Invalid) as refused:
        exports.create(demo, leader, {}, "xlsx")
    assert "query" in refused.value.details and "导出上限 20 条" in refused.value.message
    job = exports.create(demo, leader, {"kind": "complaint", "lead_unit": str(_unit(demo, "cgj"))}, "csv")
    assert job["rows_total"] == len(expect(data, lambda r: r.kind == "complaint" and r.lead == "cgj"))
    with demo.db.reading() as session:
        audited = [e.detail["rows"] for e in session.scalars(select(AuditEvent).where(
            AuditEvent.action == "export.created"))]
    assert audited == [job["rows_total"]]  # the refused one left no job and no audit row


def _unit(platform: Platform, code: str) -> int:
    with platform.db.reading() as session:
        found = session.scalar(select(Unit.id).where(Unit.code == code))
        assert found is not None
        return found


def test_a_frequent_text_pages_newest_first_across_the_first_months_window(demo):
    """On PostgreSQL a text page is first looked for in the month below its cursor (case_query.TEXT_WINDOW);
    400 cases over 40 days make pages that fill inside it, pages that straddle its edge and a last short page."""
    rows = make_cases(demo, 400, START)
    leader = actor(demo, "leader01")
    wanted = [r.number for r in sorted((r for r in rows if "测试诉求" in r.subject),
                                       key=lambda r: (r.created_at, r.id), reverse=True)]
    assert rows[-1].created_at < START - case_query.TEXT_WINDOW - case_query.TEXT_WINDOW / 4
    for limit in ("50", "7"):
        assert numbers(demo, leader, q="测试诉求", limit=limit) == wanted
    assert numbers(demo, leader, q="测试诉求3", limit="50") == [n for n, r in zip(
        wanted, sorted((r for r in rows if "测试诉求" in r.subject), key=lambda r: (r.created_at, r.id),
                       reverse=True), strict=True) if "测试诉求3" in r.subject]


def test_a_units_text_search_answers_the_same_by_the_scope_index_or_by_each_match(demo, data, monkeypatch):
    """On PostgreSQL a unit leader's text search takes the cheaper side (case_query.SCOPE_PER_MATCH): the scope
    as an index bitmap ANDed with the trigram matches, or the scope tested on every match. Either way the
    leader gets the matching cases they lead, assist or once had a step of — and no one else's."""
    cg_leader = actor(demo, "cgleader01")
    wanted = expect(data, lambda r: "测试诉求" in r.subject
                    and (r.lead == "cgj" or r.assisting == "cgj" or r.earlier == "cgj"))
    assert expect(data, lambda r: "测试诉求" in r.subject and r.earlier == "cgj")  # seen by an earlier step only
    assert wanted != expect(data, lambda r: "测试诉求" in r.subject)  # others' matches exist and stay out
    chosen: list[bool] = []
    choose = case_query._scope_by_index

    def recorded(*args: Any) -> Any:
        by_index = choose(*args)
        chosen.append(by_index is not None)
        return by_index
    monkeypatch.setattr(case_query, "_scope_by_index", recorded)
    for per_match in (0, 10**9):  # never / always the scope's bitmap
        monkeypatch.setattr(case_query, "SCOPE_PER_MATCH", per_match)
        for sort in ("number", "-created_at"):
            found = numbers(demo, cg_leader, q="测试诉求", sort=sort, limit="7")
            assert len(found) == len(set(found)) and set(found) == wanted, (per_match, sort)
    if demo.db.engine.dialect.name == "postgresql":
        assert set(chosen) == {True, False}
