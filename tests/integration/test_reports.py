"""Fixed reports on a crafted month whose answers are known (both databases): every named rate, the balance
check (and its failure on a crafted imbalance, which the PDF then refuses), scope (a unit's leader sees only
its cases; another unit is out of reach), the page with its charts and the PDF."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from lifecycle_driver import Api
from sqlalchemy import select

from app.models import Case, KnowledgeEntry, KnowledgeUse, Requester, Unit

MONTH = "2026-10"


def at(month: int, day: int, hour: int = 10) -> datetime:
    return datetime(2026, month, day, hour)


def _cases(units: dict[str, int]) -> list[dict[str, Any]]:
    """Two carried over from September, eight new in October, one in November (see the expected figures)."""
    cgj, zjj = units["cgj"], units["zjj"]
    closed = {"accepted_on_time": True, "responded_at": at(10, 3), "replied_on_time": True}
    return [
        # S1: carried over, answered and rated in October
        dict(created_at=at(9, 25), accepted_at=at(9, 25), lead_unit_id=cgj, status="archived", accepted_on_time=True,
             responded_at=at(9, 26), replied_at=at(10, 3), replied_on_time=True, followed_up_at=at(10, 4),
             satisfaction="satisfied", resolved=True, closed_at=at(10, 4)),
        # S2: carried over, still open
        dict(created_at=at(9, 28), accepted_at=at(9, 28), lead_unit_id=cgj, status="handling", accepted_on_time=True),
        # A, B, C: new, answered, rated
        dict(created_at=at(10, 2), accepted_at=at(10, 2), lead_unit_id=cgj, status="archived", **closed,
             replied_at=at(10, 5), followed_up_at=at(10, 6), satisfaction="satisfied", resolved=True,
             closed_at=at(10, 6)),
        dict(created_at=at(10, 3), accepted_at=at(10, 4), lead_unit_id=cgj, status="archived",
             **{**closed, "accepted_on_time": False, "replied_on_time": False}, replied_at=at(10, 20),
             followed_up_at=at(10, 21), satisfaction="basically_satisfied", resolved=True, closed_at=at(10, 21)),
        dict(created_at=at(10, 5), accepted_at=at(10, 5), lead_unit_id=zjj, status="archived", **closed,
             replied_at=at(10, 9), followed_up_at=at(10, 10), satisfaction="unsatisfied", resolved=False,
             closed_at=at(10, 10), return_count=1, supervision_count=1),
        # D: new, accepted, not yet responded
        dict(created_at=at(10, 8), accepted_at=at(10, 8), lead_unit_id=zjj, status="handling", accepted_on_time=True),
        # E: not accepted (不予受理)
        dict(created_at=at(10, 9), status="rejected", closed_at=at(10, 10)),
        # F: a 信访件 terminated, answered but never rated
        dict(created_at=at(10, 11), accepted_at=at(10, 11), lead_unit_id=zjj, status="terminated", **closed,
             replied_at=at(10, 15), closed_at=at(10, 30)),
        # G: a consultation answered at once
        dict(created_at=at(10, 12), kind="consultation", status="closed", replied_at=at(10, 12), replied_on_time=True,
             closed_at=at(10, 12)),
        # H: a repeat appeal, waiting for 受理
        dict(created_at=at(10, 20), status="registered", duplicate_of="A"),
        # November: outside the month
        dict(created_at=at(11, 2), status="registered"),
    ]


@pytest.fixture
def crafted(demo) -> dict[str, int]:  # type: ignore[no-untyped-def]
    with demo.db.unit_of_work() as session:
        units = {u.code: u.id for u in session.scalars(select(Unit))}
        requester = Requester(name="张三", created_at=at(9, 1))
        session.add(requester)
        session.flush()
        ids: list[int] = []
        for i, fields in enumerate(_cases(units)):
            fields = dict(fields)
            duplicate = fields.pop("duplicate_of", None)
            case = Case(number=f"R{i:04d}", query_code=f"Q{i:04d}", kind=fields.pop("kind", "complaint"),
                        channel="phone", category="城市管理/市容环卫", subject="路灯不亮", content="幸福里路灯不亮。",
                        requester_id=requester.id, registering_unit_id=units["centre"],
                        duplicate_of_id=ids[2] if duplicate else None, **fields)
            session.add(case)
            session.flush()
            ids.append(case.id)
        session.commit()
    return units


def monthly(api: Api, user: str, **params: Any) -> Any:
    query = "&".join(f"{k}={v}" for k, v in {"month": MONTH, **params}.items())
    return api.call(user, "GET", f"/reports/monthly?{query}")


@pytest.fixture
def api(client) -> Api:  # type: ignore[no-untyped-def]
    return Api(client)


def test_every_rate_of_the_crafted_month_and_its_balance(api, crafted):
    response = monthly(api, "leader01")
    assert response.status_code == 200, response.get_json()
    report = response.get_json()
    assert report["balance"] == {"carried_over": 2, "new": 8, "closed": 5, "returned": 1, "terminated": 1,
                                 "open_at_end": 3, "ok": True}
    r = report["rates"]
    assert r["timely_acceptance_rate"] == pytest.approx(4 / 5)
    assert r["on_time_reply_rate"] == pytest.approx(5 / 6)
    assert (r["repeat_count"], r["repeat_rate"]) == (1, pytest.approx(1 / 8))
    assert r["participation_rate"] == pytest.approx(4 / 6)
    assert r["participant_satisfaction_rate"] == pytest.approx(3 / 4)
    assert r["response_rate"] == pytest.approx(4 / 5)
    assert r["resolution_rate"] == pytest.approx(3 / 4)
    assert r["satisfaction_rate"] == pytest.approx((2 + 0.9 * 1) / 4)
    assert r["score"] == pytest.approx(100 * (0.1 * 0.8 + 0.5 * 0.75 + 0.4 * 0.725))
    assert (report["counts"]["returns"], report["counts"]["supervisions"]) == (1, 1)
    assert {d["name"] for d in report["definitions"]} >= {"及时受理率", "按期办结率(按期答复率)", "群众参评率",
                                                         "参评群众满意率", "响应率", "解决率", "满意率"}


def test_the_factor_and_weights_are_settings(api, crafted, demo):
    from app.services.settings import SCHEMAS
    assert SCHEMAS["reports.basic_satisfaction_factor"].default == 0.9
    response = api.call("sysadmin", "PUT", "/settings/reports.basic_satisfaction_factor", json={"value": 0.5})
    assert response.status_code == 200, response.get_json()
    assert monthly(api, "leader01").get_json()["rates"]["satisfaction_rate"] == pytest.approx((2 + 0.5) / 4)


def test_a_units_leader_sees_only_the_units_cases_and_never_another_unit(api, crafted):
    report = monthly(api, "cgleader01").get_json()
    assert report["balance"] == {"carried_over": 2, "new": 2, "closed": 3, "returned": 0, "terminated": 0,
                                 "open_at_end": 1, "ok": True}
    assert report["rates"]["response_rate"] == 1.0
    assert monthly(api, "leader01", unit=crafted["cgj"]).get_json()["balance"] == report["balance"]
    assert monthly(api, "cgleader01", unit=crafted["zjj"]).status_code == 404
    assert monthly(api, "cg01").status_code == 403  # a handler reads no reports
    assert monthly(api, "leader01", month="2026-13").status_code == 422


def test_knowledge_hits_of_the_crafted_month_count_for_the_units_whose_entries_answered(api, crafted, demo, auth):
    """知识库命中: three October cases answered with a 住建局 entry and one with a 城管局 entry (用此答复), one each
    on 30 September and 1 November: the city's October is 4, 住建局's 3, 城管局's leader reads 1."""
    with demo.db.unit_of_work() as session:
        entry = {code: session.scalars(select(KnowledgeEntry.id).where(
            KnowledgeEntry.unit_id == crafted[code], KnowledgeEntry.state == "published").limit(1)).one()
            for code in ("zjj", "cgj")}
        requester = session.scalars(select(Requester).where(Requester.name == "张三")).one()
        answered = [("zjj", at(10, 1, 0)), ("zjj", at(10, 17)), ("zjj", at(10, 31, 23)), ("cgj", at(10, 9)),
                    ("zjj", at(9, 30, 23)), ("cgj", at(11, 1, 0))]
        for i, (code, when) in enumerate(answered):
            case = Case(number=f"K{i:04d}", query_code=f"K{i:04d}", kind="consultation", channel="phone",
                        category="城乡建设/供暖", subject="暖气不热", content="暖气不热找谁。",
                        requester_id=requester.id, registering_unit_id=crafted["centre"], status="closed",
                        created_at=when, replied_at=when, replied_on_time=True, closed_at=when)
            session.add(case)
            session.flush()
            session.add(KnowledgeUse(case_id=case.id, entry_id=entry[code], used_at=when))
        session.commit()
    assert monthly(api, "leader01").get_json()["counts"]["knowledge_hits"] == 4
    assert monthly(api, "leader01", unit=crafted["zjj"]).get_json()["counts"]["knowledge_hits"] == 3
    assert monthly(api, "cgleader01").get_json()["counts"]["knowledge_hits"] == 1
    assert monthly(api, "cgleader01", month="2026-11").get_json()["counts"]["knowledge_hits"] == 1
    auth.login("leader01")
    html = auth.client.get(f"/reports?period=month&day=2026-10-01&unit={crafted['zjj']}").get_data(as_text=True)
    assert '<td class="num" id="knowledge-hits">3</td>' in html
    import io

    from openpyxl import load_workbook
    book = load_workbook(io.BytesIO(auth.client.get("/reports/report.xlsx?period=month&day=2026-10-01").data))
    figures = {row[0]: row[1] for row in book["数据统计"].iter_rows(min_row=2, values_only=True)}
    assert figures["知识库命中(用此答复)"] == 4
    with demo.db.reading() as session:
        names = {code: session.scalar(select(Unit.name).where(Unit.id == crafted[code])) for code in ("zjj", "cgj")}
    per_unit = list(book["知识库命中"].iter_rows(min_row=2, values_only=True))
    assert per_unit == [(names["zjj"], 3), (names["cgj"], 1)]  # the centre sees each owner's month
    city = auth.client.get("/reports?period=month&day=2026-10-01").get_data(as_text=True)
    assert f'<tr><td>{names["zjj"]}</td><td class="num">3</td></tr>' in city


def test_a_crafted_imbalance_is_reported_and_not_printed(api, crafted, demo, auth):
    with demo.db.unit_of_work() as session:  # finished in October yet left in an open status: counted nowhere
        case = session.scalars(select(Case).where(Case.status == "handling", Case.lead_unit_id == crafted["zjj"])).one()
        case.closed_at = at(10, 25)
        session.commit()
    balance = monthly(api, "leader01").get_json()["balance"]
    assert balance["ok"] is False and balance["open_at_end"] == 2
    auth.login("leader01")
    page = auth.client.get("/reports?period=month&day=2026-10-01").get_data(as_text=True)
    assert "平衡校验未通过" in page and "打印 PDF" not in page
    assert auth.client.get("/reports/report.pdf?period=month&day=2026-10-01").status_code == 409
    assert auth.client.get("/reports/report.xlsx?period=month&day=2026-10-01").status_code == 409


def test_the_report_page_shows_its_charts_and_prints(crafted, auth):
    auth.login("leader01")
    response = auth.client.get("/reports?period=month&day=2026-10-01")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.count("<svg") == 5 and "平衡校验通过" in html and "截至" in html
    assert "2026年与2025年逐月受理量" in html  # this year against last, month by month
    assert 'class="hot-words"' in html and "<small>8</small>" in html  # each of the 8 new cases says its words
    pdf = auth.client.get("/reports/report.pdf?period=month&day=2026-10-01")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    import io

    from openpyxl import load_workbook
    book = load_workbook(io.BytesIO(auth.client.get("/reports/report.xlsx?period=month&day=2026-10-01").data))
    rates = {row[0]: row[1] for row in book["主要指标"].iter_rows(min_row=2, values_only=True)}
    assert rates["及时受理率"] == pytest.approx(0.8) and rates["重复信访"] == 1
    for period in ("day", "week", "quarter", "year"):
        assert auth.client.get(f"/reports?period={period}&day=2026-10-05").status_code == 200
    assert auth.client.get("/reports?period=range&day=2026-10-01&until=2026-10-15").status_code == 200
    assert auth.client.get("/reports?period=range&day=2026-10-15&until=2026-10-01").status_code == 422


def test_a_custom_pivot_counts_the_crafted_month_by_unit_and_kind(crafted, auth):
    auth.login("leader01")
    base = "/reports/custom?period=month&day=2026-10-01"
    html = auth.client.get(f"{base}&rows=unit&measure=new").get_data(as_text=True)
    table = html.split("<tbody>")[1]
    assert '<th scope="row">市城管局</th><td class="num">2</td>' in table
    assert '<th scope="row">市住建局</th><td class="num">3</td>' in table
    pivot = auth.client.get(f"{base}&rows=unit&columns=kind&measure=new").get_data(as_text=True)
    assert "咨询" in pivot and "投诉" in pivot and "<svg" in pivot
    rate = auth.client.get(f"{base}&rows=unit&measure=response_rate").get_data(as_text=True)
    assert '<th scope="row">市城管局</th><td class="num">100.0%</td>' in rate
    filtered = auth.client.get(f"{base}&rows=kind&measure=new&kind=consultation").get_data(as_text=True)
    assert '<th scope="row">咨询</th><td class="num">1</td>' in filtered and "投诉" not in filtered.split("<tbody>")[1]
    assert auth.client.get(f"{base}&rows=nope&measure=new").status_code == 422
    assert auth.client.get(f"{base}&rows=unit&columns=unit&measure=new").status_code == 422


def test_the_annual_report_draft_as_pdf_and_xlsx(crafted, auth):
    import io

    from openpyxl import load_workbook

    auth.login("leader01")
    pdf = auth.client.get("/reports/annual.pdf?year=2026")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    xlsx = auth.client.get("/reports/annual.xlsx?year=2026")
    assert xlsx.status_code == 200
    book = load_workbook(io.BytesIO(xlsx.data), read_only=True)
    assert {"数据统计", "主要指标", "被投诉较多的单位", "承办单位排名"} <= set(book.sheetnames)
    figures = {row[0]: row[1] for row in book["数据统计"].iter_rows(min_row=2, values_only=True)}
    assert figures["本期新登记"] == 11 and figures["平衡校验"] == "通过"  # S1, S2, eight in October, one in November
    complained = list(book["被投诉较多的单位"].iter_rows(min_row=2, values_only=True))
    assert complained == [("市城管局", 4), ("市住建局", 3)]
    assert auth.client.get("/reports/annual.pdf?year=abc").status_code == 422
