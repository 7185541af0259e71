"""The report summary is never stale (both databases): the crafted month of test_reports reads the same before
the scheduler folds it (stale days read live from the cases) and after (from `report_day`); a write after the
fold is in the next report at once, and the fold after it changes nothing; a crafted imbalance made after the
fold is reported. Saved custom reports, private or shared with the unit. Report and export reads go through
`Database.reporting()` (a second URL on the same database)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from lifecycle_driver import Api
from sqlalchemy import func, select
from test_reports import at, crafted, monthly  # noqa: F401 — the crafted month and its fixture

from app.jobs import run_once
from app.models import Case, ReportDay, ReportStaleMark, SavedReport
from tests.conftest import csrf_token_of


@pytest.fixture
def api(client) -> Api:  # type: ignore[no-untyped-def]
    return Api(client)


def stale(demo: Any) -> int:
    with demo.db.reading() as session:
        return int(session.scalar(select(func.count()).select_from(ReportStaleMark)) or 0)


def summary_rows(demo: Any) -> int:
    with demo.db.reading() as session:
        return int(session.scalar(select(func.count()).select_from(ReportDay)) or 0)


def both(api: Api, crafted: dict[str, int]) -> list[Any]:  # noqa: F811
    """What the centre's leader and the 城管局's leader read of the month (rates, balance, counts)."""
    out = []
    for user, params in (("leader01", {}), ("cgleader01", {}), ("leader01", {"unit": crafted["zjj"]})):
        report = monthly(api, user, **params).get_json()
        out.append((report["rates"], report["balance"], report["counts"]))
    return out


def test_the_scheduler_folds_the_stale_days_and_the_figures_stay_the_same(api, crafted, demo):  # noqa: F811
    live = both(api, crafted)
    assert stale(demo) >= 10 and summary_rows(demo) == 0  # the crafted cases' days, read live so far
    run_once(demo, "test-scheduler")
    assert stale(demo) == 0 and summary_rows(demo) > 0
    assert both(api, crafted) == live
    assert live[0][1] == {"carried_over": 2, "new": 8, "closed": 5, "returned": 1, "terminated": 1,
                          "open_at_end": 3, "ok": True}


def test_a_rebuild_in_one_pass_gives_the_same_figures(api, crafted, demo):  # noqa: F811
    from app.services import report_summary

    live = both(api, crafted)
    assert report_summary.rebuild(demo) >= 10  # the crafted cases' days (bench/city.py after its bulk load)
    assert stale(demo) == 0 and both(api, crafted) == live


def test_a_write_after_the_fold_is_in_the_report_at_once(api, crafted, demo):  # noqa: F811
    run_once(demo, "test-scheduler")
    assert monthly(api, "leader01").get_json()["rates"]["response_rate"] == pytest.approx(4 / 5)
    with demo.db.unit_of_work() as session:  # D: the 住建局 signs for it (签收)
        case = session.scalars(select(Case).where(Case.status == "handling", Case.lead_unit_id == crafted["zjj"])).one()
        case.responded_at = at(10, 9)
        session.commit()
    assert stale(demo) > 0
    assert monthly(api, "leader01").get_json()["rates"]["response_rate"] == 1.0  # before any fold
    assert monthly(api, "leader01", unit=crafted["zjj"]).get_json()["rates"]["response_rate"] == 1.0
    after = both(api, crafted)
    run_once(demo, "test-scheduler")
    assert stale(demo) == 0 and both(api, crafted) == after


def test_an_imbalance_made_after_the_fold_is_reported_and_not_printed(api, crafted, demo, auth):  # noqa: F811
    run_once(demo, "test-scheduler")
    with demo.db.unit_of_work() as session:  # finished in October yet left in an open status: counted nowhere
        case = session.scalars(select(Case).where(Case.status == "handling", Case.lead_unit_id == crafted["zjj"])).one()
        case.closed_at = at(10, 25)
        session.commit()
    for folded in (False, True):
        if folded:
            run_once(demo, "test-scheduler")
        balance = monthly(api, "leader01").get_json()["balance"]
        assert balance["ok"] is False and balance["open_at_end"] == 2
    auth.login("leader01")
    assert auth.client.get("/reports/report.pdf?period=month&day=2026-10-01").status_code == 409


def _cell(html: str, label: str) -> str:
    found = re.search(rf'<th scope="row">{label}</th><td class="num">([^<]*)</td>', html.split("<tbody>")[1])
    assert found, label
    return found.group(1)


def test_the_custom_engine_gives_the_same_figures_from_the_summary_and_from_the_cases(crafted, auth, demo):  # noqa: F811
    run_once(demo, "test-scheduler")
    auth.login("leader01")
    base = "/reports/custom?period=month&day=2026-10-01&rows=unit"
    for measure in ("new", "replied", "open_at_end", "response_rate", "satisfaction_rate"):
        summary = auth.client.get(f"{base}&measure={measure}").get_data(as_text=True)
        # a filter every crafted case passes: summed by the database from the cases, not the summary
        cases = auth.client.get(f"{base}&measure={measure}&category=城市管理").get_data(as_text=True)
        for unit in ("市城管局", "市住建局"):
            assert _cell(summary, unit) == _cell(cases, unit), (measure, unit)
    monthly_rows = auth.client.get("/reports/custom?period=year&day=2026-10-01&rows=month&measure=new")
    assert _cell(monthly_rows.get_data(as_text=True), "2026-10") == "8"
    for measure in ("new", "replied", "response_rate"):  # by month: the summary, and the cases folded in Python
        base = f"/reports/custom?period=year&day=2026-10-01&rows=month&measure={measure}"
        summary, cases = (auth.client.get(u).get_data(as_text=True) for u in (base, f"{base}&category=城市管理"))
        for month in ("2026-09", "2026-10"):
            assert _cell(summary, month) == _cell(cases, month), (measure, month)
    assert auth.client.get("/reports/custom?period=year&day=2026-10-01&rows=month&measure=open_at_end"
                           ).status_code == 422


def test_custom_reports_are_saved_private_or_shared_with_the_unit(crafted, auth, demo):  # noqa: F811
    auth.login("leader01")
    page = auth.client.get("/reports/custom?period=month&day=2026-10-01&rows=unit&measure=new")
    token = csrf_token_of(page.get_data(as_text=True))
    form = {"csrf_token": token, "period": "month", "rows": "unit", "columns": "kind", "measure": "response_rate"}
    assert auth.client.post("/reports/custom/saved", data={**form, "name": "各单位响应率", "shared": "1"}
                            ).status_code == 302
    assert auth.client.post("/reports/custom/saved", data={**form, "name": "我的草稿"}).status_code == 302
    wrong = auth.client.post("/reports/custom/saved", data={**form, "measure": "nope", "name": "坏的"})
    assert wrong.status_code == 422 and "请选择统计指标" in wrong.get_data(as_text=True)  # the measure field
    html = auth.client.get("/reports/custom").get_data(as_text=True)
    assert "各单位响应率" in html and "我的草稿" in html
    auth.logout()
    auth.login("dispatch01")  # the same unit (the centre): the shared one only
    html = auth.client.get("/reports/custom").get_data(as_text=True)
    assert "各单位响应率" in html and "我的草稿" not in html
    link = re.search(r'<a href="(/reports/custom\?[^"]*)">各单位响应率</a>', html)
    assert link and "measure=response_rate" in link.group(1)
    opened = auth.client.get(link.group(1).replace("&amp;", "&") + "&day=2026-10-01").get_data(as_text=True)
    assert "响应率" in opened and "市城管局" in opened
    with demo.db.reading() as session:
        shared_id = session.scalar(select(SavedReport.id).where(SavedReport.name == "各单位响应率"))
    token = csrf_token_of(html)
    assert auth.client.post(f"/reports/custom/saved/{shared_id}/delete", data={"csrf_token": token}
                            ).status_code == 404  # only its owner deletes it
    auth.logout()
    auth.login("cgleader01")  # another unit sees neither
    html = auth.client.get("/reports/custom").get_data(as_text=True)
    assert "各单位响应率" not in html and "我的草稿" not in html


def test_a_units_leader_sees_only_the_units_cases_in_a_custom_report(crafted, auth, demo):  # noqa: F811
    auth.login("cgleader01")  # 市城管局: A and B new in October (S1, S2 carried over)
    base = "/reports/custom?period=month&day=2026-10-01"
    for folded in (False, True):
        if folded:
            run_once(demo, "test-scheduler")
        for path in (f"{base}&rows=unit&measure=new", f"{base}&rows=unit&measure=new&category=城市管理",
                     f"{base}&rows=unit&columns=kind&measure=new"):
            table = auth.client.get(path).get_data(as_text=True).split("<tbody>")[1]
            assert "市城管局" in table and "市住建局" not in table and "未填" not in table, path
        kinds = auth.client.get(f"{base}&rows=kind&measure=new").get_data(as_text=True)
        assert _cell(kinds, "投诉") == "2" and "咨询" not in kinds.split("<tbody>")[1]
