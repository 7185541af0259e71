"""/admin/calendar: a year pasted (or uploaded) from the notice, compared with chinese-calendar and shown with
the deadline repair it makes before it is confirmed; local holidays of a region that only its units' deadlines
count; a year nobody confirmed answers in Chinese, never a 500. On both databases."""

from __future__ import annotations

import io
from datetime import date, datetime

import pytest
from lifecycle_driver import Api, unit_ids
from openpyxl import Workbook
from sqlalchemy import select

from app.models import AuditEvent, CalendarYear, HumanTask, LocalHoliday
from tests.conftest import csrf_token_of
from tests.integration.test_deadline_clocks import petition_waiting_for_2027


@pytest.fixture
def api(client, demo) -> Api:  # type: ignore[no-untyped-def]
    return Api(client)


def page(client, path: str = "/admin/calendar?year=2026") -> tuple[str, str]:  # type: ignore[no-untyped-def]
    html = client.get(path).get_data(as_text=True)
    return html, csrf_token_of(html)


def previewed(html: str) -> str:
    return html.split('name="previewed" value="', 1)[1].split('"', 1)[0]


def test_a_pasted_year_shows_its_repair_before_it_is_confirmed_and_confirming_applies_it(api, client, auth, demo):
    waiting = petition_waiting_for_2027(api, unit_ids(demo))  # its 60-日 period ends in 2027: no due date yet
    auth.login("sysadmin")
    _, token = page(client)
    text = "2027-01-01 休 元旦\n2027-02-07 班\n"
    compared = client.post("/admin/calendar", data={"year": "2027", "entries": text, "confirm": "0",
                                                    "csrf_token": token})
    html = compared.get_data(as_text=True)
    assert compared.status_code == 200 and "与 chinese-calendar 比对" in html and "期限修复预览(尚未保存)" in html
    assert "将调整 <strong>1</strong> 项待办的期限" in html and "无(等待该年日历)" in html
    assert "2027-01-25 23:59" in html
    with demo.db.reading() as session:
        assert session.get(CalendarYear, 2027) is None, "a preview stores nothing"

    bad = client.post("/admin/calendar", data={"year": "2027", "entries": "2027-13-01 休", "confirm": "1",
                                               "csrf_token": token})
    assert bad.status_code == 422 and "第 1 行" in bad.get_data(as_text=True)
    edited = client.post("/admin/calendar", data={"year": "2027", "entries": text + "2027-01-25 休 测试\n",
                                                  "confirm": "1", "previewed": previewed(html), "csrf_token": token})
    assert edited.status_code == 409 and "录入内容与预览不一致" in edited.get_data(as_text=True)
    assert "2027-01-26 23:59" in edited.get_data(as_text=True), "the edited notice is previewed again"

    done = client.post("/admin/calendar", data={"year": "2027", "entries": text, "confirm": "1",
                                                "previewed": previewed(html), "csrf_token": token})
    assert done.status_code == 302
    assert "调整了 1 项待办的期限" in client.get(done.headers["Location"]).get_data(as_text=True)
    assert api.task("zj01", waiting, "handle")["due_at"] == "2027-01-25T23:59:59"
    with demo.db.reading() as session:
        assert session.get(CalendarYear, 2027) is not None
        actions = list(session.scalars(select(AuditEvent.action).where(AuditEvent.action.in_(
            ["calendar.confirmed", "deadline.repaired", "deadline.repair_applied"])).order_by(AuditEvent.id)))
    assert actions == ["calendar.confirmed", "deadline.repaired", "deadline.repair_applied"]
    year = client.get("/admin/calendar?year=2027").get_data(as_text=True)
    assert "2027-02-07" in year and 'class="day-adjusted"' in year and 'data-day="2027-02-07">7<' in year
    auth.logout()
    auth.login("secadmin")
    assert client.get("/admin/calendar").status_code == 403


def test_a_notice_file_text_or_xlsx_is_read_and_compared_with_chinese_calendar(client, auth, demo):
    auth.login("sysadmin")
    _, token = page(client)
    notice = "2026-01-01,休,元旦\r\n2026-01-04,班\r\n".encode("gb18030")  # as Chinese Windows saves a CSV
    answer = client.post("/admin/calendar", content_type="multipart/form-data", data={
        "year": "2026", "entries": "", "confirm": "0", "csrf_token": token,
        "file": (io.BytesIO(notice), "2026年节假日.csv")})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200 and "2026-01-01,休,元旦" in html  # the file's lines, ready to confirm
    assert "<td>2026-01-02</td><td>未录入</td><td>休</td>" in html  # chinese-calendar knows 2026: a day missed
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in (["日期", "类型", "说明"], [date(2026, 1, 1), "休", "元旦"], ["2026-01-04", "班", None]):
        sheet.append(row)
    sheet_file = io.BytesIO()
    book.save(sheet_file)
    xlsx = client.post("/admin/calendar", content_type="multipart/form-data", data={
        "year": "2026", "confirm": "0", "csrf_token": token, "file": (io.BytesIO(sheet_file.getvalue()), "通知.xlsx")})
    html = xlsx.get_data(as_text=True)
    assert xlsx.status_code == 200 and "2026-01-01 休 元旦\n2026-01-04 班" in html  # header skipped, day cell read
    assert "<td>2026-01-02</td><td>未录入</td><td>休</td>" in html
    broken = client.post("/admin/calendar", content_type="multipart/form-data", data={
        "year": "2026", "confirm": "0", "csrf_token": token, "file": (io.BytesIO(b"PK\x03\x04rest"), "a.xlsx")})
    assert broken.status_code == 422 and "XLSX" in broken.get_data(as_text=True)


def dispatched_to(api: Api, unit_id: int) -> int:
    """A hotline complaint 派 to the unit: its 签收 task waits there on the unit's clock."""
    case_id = int(api.register()["id"])
    api.complete("dispatch01", case_id, "accept", accept_decision="accept", kind="complaint")
    api.complete("dispatch01", case_id, "dispatch", dispatch_mode="transfer", lead_unit_id=unit_id,
                 directly_designated=False)
    return case_id


def sign_for_due(demo, case_id: int) -> datetime:  # type: ignore[no-untyped-def]
    with demo.db.reading() as session:
        due = session.scalar(select(HumanTask.due_at).where(HumanTask.case_id == case_id,
                                                            HumanTask.spec_name == "sign_for"))
    assert due is not None
    return due


def test_a_local_holiday_moves_only_the_deadlines_of_its_regions_units(api, client, auth, demo, clock):
    units = unit_ids(demo)
    east, city = dispatched_to(api, units["dcq"]), dispatched_to(api, units["cgj"])
    due = sign_for_due(demo, east)
    assert sign_for_due(demo, city) == due
    holiday = due.date()  # 东城区 rests on the day its 签收 falls due
    auth.login("sysadmin")
    _, token = page(client)
    form = {"region": str(units["dcq"]), "first": holiday.isoformat(), "last": "", "note": "古尔邦节",
            "action": "set", "csrf_token": token}
    preview = client.post("/admin/calendar/local?year=2026", data={**form, "confirm": "0"})
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "将调整 <strong>1</strong> 项待办的期限" in html
    with demo.db.reading() as session:
        assert session.scalars(select(LocalHoliday)).all() == [], "a preview stores nothing"

    done = client.post("/admin/calendar/local?year=2026", data={**form, "confirm": "1"})
    assert done.status_code == 302
    moved = sign_for_due(demo, east)
    assert moved.date() > holiday and moved.time() == due.time()
    assert sign_for_due(demo, city) == due, "a city bureau does not keep 东城区's festival"
    street = dispatched_to(api, units["dcq.hpl"])  # a street of 东城区: inside the region
    assert sign_for_due(demo, street) == moved
    view = client.get(f"/admin/calendar?year=2026&region={units['dcq']}").get_data(as_text=True)
    assert "<td>东城区</td><td>" + holiday.isoformat() + "</td><td>古尔邦节</td>" in view
    assert f'class="day-local" title="古尔邦节" data-day="{holiday.isoformat()}"' in view
    whole_city = client.get("/admin/calendar?year=2026").get_data(as_text=True)
    assert f'class="day-local" title="古尔邦节" data-day="{holiday.isoformat()}"' not in whole_city
    with demo.db.reading() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "calendar.local_holiday")).one()
    assert event.detail["region_name"] == "东城区" and event.detail["before"] == {}
    assert event.detail["after"] == {holiday.isoformat(): "古尔邦节"}

    cleared = client.post("/admin/calendar/local?year=2026", data={**form, "action": "clear", "confirm": "1"})
    assert cleared.status_code == 302
    assert sign_for_due(demo, east) == due and sign_for_due(demo, street) == due

    wrong = client.post("/admin/calendar/local", data={**form, "region": str(units["cgj"]), "confirm": "0"})
    assert wrong.status_code == 422 and "区县或街道" in wrong.get_data(as_text=True)
    backwards = client.post("/admin/calendar/local", data={**form, "last": date(2026, 1, 1).isoformat()})
    assert backwards.status_code == 422 and "结束日期不能早于开始日期" in backwards.get_data(as_text=True)
    nameless = client.post("/admin/calendar/local", data={**form, "note": " "})
    assert nameless.status_code == 422 and "节日名称" in nameless.get_data(as_text=True)


def test_a_year_nobody_confirmed_answers_in_chinese_never_a_500(api, client, auth, demo, clock):
    clock.at = datetime(2027, 1, 5, 9, 0)  # a Tuesday in a year neither confirmed nor known to the package
    registered = api.register()
    assert registered["due_at"] is None  # waits for its year
    auth.login("sysadmin")
    html, token = page(client, "/admin/calendar")
    assert "2027 年的工作日历尚未确认" in html
    compared = client.post("/admin/calendar", data={"year": "2027", "entries": "2027-01-01 休 元旦",
                                                    "confirm": "0", "csrf_token": token})
    assert compared.status_code == 200 and "chinese-calendar 尚未收录 2027 年" in compared.get_data(as_text=True)
    local = client.post("/admin/calendar/local", data={"region": str(unit_ids(demo)["dcq"]), "first": "2027-03-05",
                                                       "note": "古尔邦节", "csrf_token": token, "confirm": "0"})
    assert local.status_code == 200 and "没有待办的期限需要调整" in local.get_data(as_text=True)
    answer = api.call("sysadmin", "POST", "/deadline-repair/preview",
                      json={"cause": {"kind": "calendar_day", "day": "2027-03-05"}})
    assert answer.status_code == 200 and answer.get_json()["count"] == 0
    auth.logout()
    auth.login("dispatch01")
    worklist = client.get("/worklist")
    assert worklist.status_code == 200 and registered["number"] in worklist.get_data(as_text=True)
    assert client.get(f"/cases/{registered['id']}").status_code == 200


def test_the_api_sets_and_clears_local_holidays_after_a_preview_and_repairs_with_its_cause(api, demo):
    units = unit_ids(demo)
    east = dispatched_to(api, units["dcq"])
    due = sign_for_due(demo, east)
    body = {"region": units["dcq"], "first": due.date().isoformat(), "note": "古尔邦节"}
    preview = api.call("sysadmin", "POST", "/calendar/local/preview", json=body)
    assert preview.status_code == 200 and [t["case_id"] for t in preview.get_json()["tasks"]] == [east]
    assert preview.get_json()["cause"] == {"kind": "local_holiday", "label": "修改地方节假日", "region": units["dcq"],
                                           "day": due.date().isoformat(), "until": due.date().isoformat()}
    assert api.call("agent01", "POST", "/calendar/local", json=body).status_code == 403
    done = api.call("sysadmin", "POST", "/calendar/local", json=body)
    assert done.status_code == 200 and done.get_json()["repair"]["count"] == 1
    assert sign_for_due(demo, east) > due
    cause = {"kind": "local_holiday", "region": units["dcq"], "day": due.date().isoformat()}
    again = api.call("sysadmin", "POST", "/deadline-repair/preview", json={"cause": cause})
    assert again.status_code == 200 and again.get_json()["count"] == 0, "applied with the change"
    cleared = api.call("sysadmin", "POST", "/calendar/local", json={**body, "note": None})
    assert cleared.status_code == 200 and sign_for_due(demo, east) == due
    for wrong, field in (({**body, "region": "东城区"}, "region"), ({**body, "first": "明天"}, "first"),
                         ({**body, "note": 5}, "note"), ({**body, "region": units["cgj"]}, "region")):
        answer = api.call("sysadmin", "POST", "/calendar/local/preview", json=wrong)
        assert answer.status_code == 422 and field in answer.get_json()["details"], wrong
    bad_cause = api.call("sysadmin", "POST", "/deadline-repair/preview", json={"cause": {**cause, "region": 99999}})
    assert bad_cause.status_code == 422 and "cause.region" in bad_cause.get_json()["details"]


def test_flask_deadline_counts_a_units_local_holidays_with_unit(app, api, demo):
    runner = app.test_cli_runner()
    east = unit_ids(demo)["dcq"]
    assert api.call("sysadmin", "POST", "/calendar/local", json={
        "region": east, "first": "2026-11-26", "note": "古尔邦节"}).status_code == 200

    def due(*unit: str) -> str:
        result = runner.invoke(args=["deadline", "hotline.accept", "2026-11-25", *unit])
        assert result.exit_code == 0, result.output
        return result.output.strip()

    assert due() == "2026-11-26" and due("--unit", "cgj") == "2026-11-26"
    assert due("--unit", "dcq") == due("--unit", "dcq.hpl") == "2026-11-27"  # the district and its street
    unknown = runner.invoke(args=["deadline", "hotline.accept", "2026-11-25", "--unit", "nowhere"])
    assert unknown.exit_code == 2 and "单位不存在:nowhere" in unknown.output
