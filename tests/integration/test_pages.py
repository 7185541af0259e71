"""The workstation pages through the Flask test client, on SQLite and PostgreSQL.

Cases are set up through the services (fast), and what is under test goes through the pages with
their CSRF tokens, as a browser would.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from app.models import AuditEvent, Case, HumanTask, Unit, User
from app.services import intake, tasks
from app.services.actors import Actor
from app.services.auth import actor_for
from app.services.cases import RequesterInput
from app.services.platform import Platform
from tests.conftest import Auth, csrf_token_of

PHONE, ID_NUMBER = "13812345678", "11010519491231002X"


def actor(platform: Platform, staff_no: str) -> Actor:
    with platform.db.reading() as session:
        return actor_for(session.scalars(select(User).where(User.staff_no == staff_no)).one())


def unit_id(platform: Platform, code: str) -> int:
    with platform.db.reading() as session:
        return session.scalars(select(Unit.id).where(Unit.code == code)).one()


def ready(platform: Platform, case_id: int, spec: str) -> HumanTask:
    with platform.db.reading() as session:
        return session.scalars(select(HumanTask).where(HumanTask.case_id == case_id, HumanTask.spec_name == spec,
                                                       HumanTask.state == "ready")).one()


def register(platform: Platform, *, name: str = "张三丰", phone: str = PHONE, id_number: str | None = ID_NUMBER,
             subject: str = "小区门口占道经营") -> int:
    data = intake.CaseInput(kind="complaint", channel="phone", category="城市管理/占道经营", subject=subject,
                            content="每天晚上有摊贩占道经营。",
                            requester=RequesterInput(name=name, phone=phone, id_number=id_number,
                                                     address="北京市东城区和平里街道 1 号"))
    return int(intake.register_case(platform, actor(platform, "agent01"), data)["id"])


def number_of(platform: Platform, case_id: int) -> str:
    """The case's 受理号, as the pages print it."""
    with platform.db.reading() as session:
        return session.get_one(Case, case_id).number


def complete(platform: Platform, staff_no: str, case_id: int, spec: str, **answers: Any) -> None:
    tasks.complete_task(platform, actor(platform, staff_no), ready(platform, case_id, spec).id, answers)


def transferred(platform: Platform) -> int:
    """A complaint accepted and transferred to 市城管局: waiting at 签收 there."""
    case_id = register(platform)
    complete(platform, "dispatch01", case_id, "accept", accept_decision="accept", kind="complaint")
    complete(platform, "dispatch01", case_id, "dispatch", dispatch_mode="transfer",
             lead_unit_id=unit_id(platform, "cgj"), directly_designated=False)
    return case_id


def text_of(response: Any) -> str:
    """The visible text of the page's main part, whitespace collapsed."""
    html = response.get_data(as_text=True).split("<main", 1)[-1]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def post_form(client: Any, page: str, action: str, data: dict[str, Any]) -> Any:
    token = csrf_token_of(client.get(page).get_data(as_text=True))
    return client.post(action, data={**data, "csrf_token": token})


def duplicate_hint(client: Any, **typed: Any) -> Any:
    """The hint as intake.js asks for it: a JSON POST with the page's CSRF token in the header."""
    token = csrf_token_of(client.get("/intake").get_data(as_text=True))
    return client.post("/intake/duplicates", json=typed, headers={"X-CSRFToken": token, "Accept": "application/json"})


def light_of_row(client: Any, auth: Auth, case_number: str) -> tuple[str, ...]:
    """The light shown in the case's worklist row (signed in afresh: the frozen clock jumped past the idle limit)."""
    auth.login("cg01")
    page = client.get("/worklist").get_data(as_text=True)
    row = next(r for r in page.split("<tr") if case_number in r)
    return re.search(r'class="light light-(\w+)"><span class="dot" aria-hidden="true"></span>(\S+)</span>',
                     row).groups()


def test_the_worklist_light_turns_yellow_at_warn_at_and_red_after_due_at(app, client, auth: Auth, demo, clock):
    case_id = transferred(demo)
    task = ready(demo, case_id, "sign_for")
    assert task.warn_at and task.due_at and task.warn_at < task.due_at
    auth.login("cg01")
    number = re.search(r"12345-\d{8}-\d{6}", text_of(client.get("/worklist"))).group(0)

    clock.at = task.warn_at - timedelta(seconds=1)
    assert light_of_row(client, auth, number) == ("green", "绿灯")
    clock.at = task.warn_at
    assert light_of_row(client, auth, number) == ("yellow", "黄灯")
    clock.at = task.due_at
    assert light_of_row(client, auth, number) == ("yellow", "黄灯")
    clock.at = task.due_at + timedelta(seconds=1)
    assert light_of_row(client, auth, number) == ("red", "红灯")
    page = text_of(client.get("/worklist"))
    assert "红灯 1" in page and "绿灯 0" in page and "已逾期" in page
    assert "张**" in page and "张三丰" not in page
    assert "市城管局" in page and "签收" in page and "投诉" in page


def test_supervision_feedback_is_pinned_above_tasks_due_sooner(app, client, auth: Auth, demo, clock):
    first = transferred(demo)
    complete(demo, "cg01", first, "sign_for")
    second = transferred(demo)  # its 签收 is due in 1 working day, sooner than the first's 办理
    tasks.supervise(demo, actor(demo, "leader01"), first, "请加快办理")
    auth.login("cg01")
    rows = [r for r in client.get("/worklist").get_data(as_text=True).split("<tr")[2:]]
    assert "督办反馈" in rows[0] and 'class="pinned' in rows[0]
    assert "签收" in rows[1] and f"/cases/{second}" in rows[1]
    only_red = client.get("/worklist?light=red")
    assert "没有符合条件的待办" in text_of(only_red)


def test_the_case_page_masks_the_requester_until_a_revealed_view_which_is_audited(app, client, auth: Auth, demo):
    case_id = register(demo)
    auth.login("agent01")
    page = text_of(client.get(f"/cases/{case_id}"))
    assert "张**" in page and "138****5678" in page and "110105********002X" in page
    assert "张三丰" not in page and PHONE not in page and ID_NUMBER not in page
    revealed = post_form(client, f"/cases/{case_id}", f"/cases/{case_id}/reveal", {})
    assert revealed.status_code == 200
    shown = text_of(revealed)
    assert "张三丰" in shown and PHONE in shown and ID_NUMBER in shown and "已记入审计日志" in shown
    with demo.db.reading() as session:
        reads = session.scalars(select(AuditEvent).where(AuditEvent.action == "case.personal_data_read",
                                                         AuditEvent.case_id == case_id)).all()
    assert [e.actor for e in reads] == ["agent01"]
    assert PHONE not in text_of(client.get(f"/cases/{case_id}"))  # masked again on the next view
    timeline = text_of(client.get(f"/cases/{case_id}"))
    assert "查看诉求人完整信息 · 王晓燕（agent01）" in timeline and "登记 · 王晓燕（agent01）" in timeline


def test_the_case_page_lists_each_step_and_links_the_diagram_of_its_process(app, client, auth: Auth, demo):
    case_id = transferred(demo)
    auth.login("dispatch01")
    page = text_of(client.get(f"/cases/{case_id}"))
    assert "完成「受理」 · 李建国（dispatch01）" in page and "受理意见 ： 受理" not in page
    assert "办理方式" in page and "转送" in page and "承办（主办）单位" in page and "市城管局" in page
    assert "该步骤由市城管局办理" in page
    diagram = client.get(f"/cases/{case_id}/diagram").get_json()
    assert diagram["has_di"] and "bpmn:definitions" in diagram["xml"] and diagram["active"] == ["sign_for"]


def test_the_diagram_marks_the_call_activity_that_runs_a_step_of_another_process(app, client, auth: Auth, demo):
    case_id = transferred(demo)
    complete(demo, "cg01", case_id, "sign_for")
    complete(demo, "cg01", case_id, "handle", handle_action="extend", requested_extension_days=5,
             extension_reason="需现场勘查")
    auth.login("cgleader01")
    assert client.get(f"/cases/{case_id}/diagram").get_json()["active"] == ["extension"]


def test_the_duplicate_hint_lists_the_requesters_recent_cases_by_phone_or_id_number(app, client, auth: Auth, demo,
                                                                                     clock):
    now = clock.at
    clock.at = now - timedelta(days=91)
    old = register(demo, subject="三个月前的诉求")
    clock.at = now
    recent = register(demo, subject="今天的诉求", id_number=None)
    register(demo, name="李四", phone="13900000000", id_number=None, subject="别人的诉求")
    auth.login("agent01")
    by_phone = duplicate_hint(client, phone="138 1234 5678").get_json()
    assert [c["id"] for c in by_phone["items"]] == [recent]
    assert by_phone["days"] == 90
    assert by_phone["items"][0] == {"id": recent, "number": number_of(demo, recent), "subject": "今天的诉求",
                                    "status": "registered", "status_label": "待受理",
                                    "created": f"{now:%Y-%m-%d %H:%M}",
                                    "light": "green", "light_label": "绿灯",
                                    "score": by_phone["items"][0]["score"], "reasons": ["同一诉求人"]}
    by_id = duplicate_hint(client, id_number="11010519491231002x").get_json()
    assert by_id["items"] == []  # the case with that ID number is older than 90 days
    assert old not in [c["id"] for c in by_phone["items"]]
    bad = duplicate_hint(client, phone="123").get_json()
    assert bad["items"] == [] and "phone" in bad["errors"]


def test_the_duplicate_hint_needs_a_signed_in_agent(app, client, auth: Auth, demo):
    token = csrf_token_of(client.get("/login").get_data(as_text=True))
    assert client.post("/intake/duplicates", json={"phone": PHONE}, headers={"X-CSRFToken": token}).status_code == 302
    auth.login("cg01")
    token = csrf_token_of(client.get("/worklist").get_data(as_text=True))
    assert client.post("/intake/duplicates", json={"phone": PHONE}, headers={"X-CSRFToken": token}).status_code == 403


def test_the_duplicate_hint_keeps_the_numbers_out_of_the_url(app, client, auth: Auth, demo):
    register(demo)
    auth.login("agent01")
    page = client.get("/intake").get_data(as_text=True)

    assert client.get(f"/intake/duplicates?phone={PHONE}").status_code == 405, "numbers in a URL land in access logs"
    assert client.post("/intake/duplicates", json={"phone": PHONE}).status_code == 400, "it needs the CSRF header"
    assert 'data-duplicates="/intake/duplicates"' in page and 'name="csrf-token"' in page
    assert len(duplicate_hint(client, phone=PHONE).get_json()["items"]) == 1
    assert duplicate_hint(client, phone=["not", "text"]).status_code == 422


@pytest.mark.parametrize(("typed", "message"), [
    ("110105194912310021", "身份证号校验位错误"),
    ("11010519491231002", "身份证号应为18位，当前为17位"),
    ("11010519491331002X", "身份证号中的出生日期无效"),
    ("1101051949123100AX", "身份证号前17位应为数字，最后一位应为数字或X"),
])
def test_a_wrong_id_number_is_refused_with_a_chinese_message_next_to_the_field(app, client, auth: Auth, demo,
                                                                                typed: str, message: str):
    auth.login("agent01")
    response = post_form(client, "/intake", "/intake", intake_form(id_number=typed))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert f'<div class="field-error" id="err-id_number" role="alert">{message}</div>' in html
    assert 'id="id_number" name="id_number" value="' + typed + '"' in html  # what was typed stays


def intake_form(**fields: str) -> dict[str, str]:
    return {"kind": "complaint", "channel": "phone", "category": "城市管理/占道经营", "name": "张三丰",
            "phone": PHONE, "id_number": ID_NUMBER, "address": "", "subject": "小区门口占道经营",
            "content": "每天晚上有摊贩占道。", "request_key": "", **fields}


def test_full_width_digits_and_a_lower_case_x_are_accepted_and_the_numbers_shown(app, client, auth: Auth, demo):
    auth.login("agent01")
    response = post_form(client, "/intake", "/intake", intake_form(id_number="１１０１０５１９４９１２３１００２ｘ",
                                                                     phone="１３８１２３４５６７８"))
    assert response.status_code == 200
    page = text_of(response)
    assert "登记成功" in page
    assert re.search(r"受理号 12345-20261125-\d{6}", page) and re.search(r"查询码 [2-9A-Z]{12}\b", page)


def test_a_missing_name_or_phone_in_the_wrong_shape_is_shown_next_to_its_field(app, client, auth: Auth, demo):
    auth.login("agent01")
    response = post_form(client, "/intake", "/intake", intake_form(name=" ", phone="12345"))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="err-name" role="alert">请填写诉求人姓名<' in html
    assert 'id="err-phone" role="alert">' in html


def test_a_registration_linked_as_a_duplicate_is_merged_and_the_same_key_does_not_register_twice(
        app, client, auth: Auth, demo):
    original = register(demo)
    auth.login("agent01")
    form = intake_form(duplicate_of=str(original), request_key="once-1")
    first = post_form(client, "/intake", "/intake", form)
    again = post_form(client, "/intake", "/intake", form)
    assert "已关联为重复件" in text_of(first)
    numbers = {re.search(r"受理号 (\S+)", text_of(r)).group(1) for r in (first, again)}
    assert len(numbers) == 1
    page = text_of(client.get(f"/cases/{original}"))
    assert "重复件" in page and numbers.pop() in page


def test_a_task_form_refused_by_its_schema_shows_chinese_messages_and_keeps_the_answers(app, client, auth: Auth,
                                                                                         demo):
    case_id = transferred(demo)
    complete(demo, "cg01", case_id, "sign_for")
    task = ready(demo, case_id, "handle")
    auth.login("cg01")
    response = post_form(client, f"/cases/{case_id}", f"/tasks/{task.id}",
                         {"handle_action": "extend", "extension_reason": "需现场勘查"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "「申请延期天数」为必填项" in html
    assert 'value="extend" checked' in html and "需现场勘查</textarea>" in html


def test_a_stale_form_tells_the_user_the_task_was_handled_by_someone_else(app, client, auth: Auth, demo):
    case_id = transferred(demo)
    task = ready(demo, case_id, "sign_for")
    auth.login("cg01")
    page = client.get(f"/cases/{case_id}").get_data(as_text=True)
    token = csrf_token_of(page)
    first = client.post(f"/tasks/{task.id}", data={"csrf_token": token, "sign_note": "已签收"})
    assert first.status_code == 302
    second = client.post(f"/tasks/{task.id}", data={"csrf_token": token, "sign_note": "我也签收"})
    assert second.status_code == 409
    assert "该任务已被他人处理" in text_of(second)
    assert "当前步骤：办理" in text_of(second)  # the page shows where the case stands now


def test_a_case_outside_the_users_units_is_not_found(app, client, auth: Auth, demo):
    case_id = transferred(demo)
    auth.login("zj01")
    for path in (f"/cases/{case_id}", f"/cases/{case_id}/diagram", "/cases/999999"):
        response = client.get(path)
        assert response.status_code == 404
        assert "Traceback" not in response.get_data(as_text=True)
    assert "页面或记录不存在" in text_of(client.get("/cases/abc"))
    assert "诉求件不存在" in text_of(client.get(f"/cases/{case_id}"))


def test_pages_a_role_may_not_use_answer_no_permission_in_chinese(app, client, auth: Auth, demo):
    auth.login("cg01")
    for path in ("/intake", "/dispatch", "/leader"):
        response = client.get(path)
        assert response.status_code == 403 and "没有权限执行此操作" in text_of(response)


def test_a_dispatcher_sees_the_due_date_each_mode_gives_before_confirming(app, client, auth: Auth, demo):
    case_id = register(demo)
    complete(demo, "dispatch01", case_id, "accept", accept_decision="accept", kind="complaint")
    auth.login("dispatch01")
    page = text_of(client.get("/dispatch"))
    # Wednesday 2026-11-25: 签收 within 1 working day → Thursday; 自办 handles within 15 working days.
    assert "转送 签收 承办单位受理 1个工作日 至 2026-11-26 23:59" in page
    assert "自办 办理 投诉类办结 15个工作日 至 2026-12-16 23:59" in page
    task = ready(demo, case_id, "dispatch")
    response = post_form(client, "/dispatch", f"/tasks/{task.id}",
                         {"origin": "dispatch", "next": "/dispatch", "dispatch_mode": "transfer",
                          "lead_unit_id": str(unit_id(demo, "cgj"))})
    assert response.status_code == 302 and response.headers["Location"] == "/dispatch"
    assert "没有待派单的诉求件" in text_of(client.get("/dispatch"))
    assert ready(demo, case_id, "sign_for").unit_id == unit_id(demo, "cgj")


def test_a_dispatch_missing_its_lead_unit_comes_back_to_the_dispatch_page(app, client, auth: Auth, demo):
    case_id = register(demo)
    complete(demo, "dispatch01", case_id, "accept", accept_decision="accept", kind="complaint")
    auth.login("dispatch01")
    task = ready(demo, case_id, "dispatch")
    response = post_form(client, "/dispatch", f"/tasks/{task.id}", {"origin": "dispatch", "dispatch_mode": "transfer"})
    assert response.status_code == 422
    assert "「承办（主办）单位」为必填项" in text_of(response) and "各办理方式的时限" in text_of(response)


def test_the_leader_desk_queues_approvals_counts_lights_per_unit_and_supervises(app, client, auth: Auth, demo, clock):
    case_id = transferred(demo)
    complete(demo, "cg01", case_id, "sign_for")
    complete(demo, "cg01", case_id, "handle", handle_action="extend", requested_extension_days=5,
             extension_reason="需现场勘查")
    late = transferred(demo)
    clock.advance(days=2)  # Friday: past the 签收 day of `late`, within the 2 working days of the 延期审批
    auth.login("cgleader01")
    page = text_of(client.get("/leader"))
    assert "延期审批 1 件" in page and "不予受理审批 0 件" in page
    assert "逾期清单 1 件" in page
    assert re.search(r"市城管局 \d+ \d+ 1", page)
    number = re.search(r"12345-\d{8}-\d{6}", page).group(0)
    done = post_form(client, "/leader", "/leader/supervise", {"number": number, "note": "请尽快办理"})
    assert done.status_code == 302
    assert "已督办" in text_of(client.get("/leader"))
    refused = post_form(client, "/leader", "/leader/supervise", {"number": "12345-19990101-000001", "note": "x"})
    assert refused.status_code == 422 and "未找到该受理号的诉求件" in text_of(refused)
    overdue = page.split("逾期清单", 1)[1]
    assert number_of(demo, late) in overdue and number_of(demo, case_id) not in overdue


def test_home_shows_case_roles_their_worklist_and_others_a_plain_page(app, client, auth: Auth, demo):
    auth.login("dispatch01")
    home = client.get("/")
    assert home.status_code == 200 and "我的待办" in text_of(home) and "李建国" in home.get_data(as_text=True)
    auth.logout()
    auth.login("sysadmin")
    assert "我的待办" not in text_of(client.get("/"))
