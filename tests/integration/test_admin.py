"""Administrators edit rules, the calendar and settings; each edit acts at once and is audited."""

import pytest
from sqlalchemy import select

from app.models import AuditEvent


def token(client, staff_no):
    response = client.post("/api/v1/auth/token", json={"staff_no": staff_no, "password": "Huiyin@2026"})
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def deadline(app, rule, start):
    return app.test_cli_runner().invoke(args=["deadline", rule, start])


def test_a_confirmed_new_year_makes_deadlines_computable_into_it(app, client):
    before = deadline(app, "hotline.consultation", "2027-02-08")
    assert before.exit_code != 0 and "尚未确认" in before.output
    entries = [{"day": f"2027-02-{d:02d}", "is_workday": False, "note": "春节"} for d in range(8, 15)]
    response = client.put("/api/v1/calendar/2027", headers=token(client, "sysadmin"),
                          json={"entries": entries, "source": "国办发明电〔2026〕"})
    assert response.status_code == 200 and response.get_json()["entries"] == 7
    # 2027-02-08 (Mon) start; 09–14 are holidays, so 5 working days end on Fri 2027-02-19.
    assert deadline(app, "hotline.consultation", "2027-02-08").output.strip() == "2027-02-19"


def test_a_changed_rule_gives_the_new_due_date_at_once(app, client):
    assert deadline(app, "hotline.consultation", "2026-02-12").output.strip() == "2026-02-26"
    response = client.patch("/api/v1/deadline-rules/hotline.consultation", headers=token(client, "sysadmin"),
                            json={"amount": 3})
    assert response.status_code == 200
    assert deadline(app, "hotline.consultation", "2026-02-12").output.strip() == "2026-02-24"


def test_a_rule_edit_that_breaks_the_rule_is_refused_in_chinese(client):
    response = client.patch("/api/v1/deadline-rules/hotline.consultation", headers=token(client, "sysadmin"),
                            json={"amount": 0})
    assert response.status_code == 422
    assert "时限" in response.get_json()["message"]


def test_only_administrators_edit_settings_and_every_edit_is_audited(app, client, demo):
    agent = token(client, "agent01")
    assert client.put("/api/v1/settings/dedupe.lookback_days", headers=agent, json={"value": 30}).status_code == 403
    admin = token(client, "sysadmin")
    assert client.put("/api/v1/settings/dedupe.lookback_days", headers=admin, json={"value": 30}).status_code == 200
    assert client.put("/api/v1/settings/dedupe.lookback_days", headers=admin,
                      json={"value": "x"}).status_code == 422
    assert client.put("/api/v1/settings/no.such", headers=admin, json={"value": 1}).status_code == 422
    with demo.db.reading() as session:
        changes = session.scalars(select(AuditEvent).where(AuditEvent.action == "setting.changed")).all()
    assert [(c.detail["key"], c.detail["after"]) for c in changes] == [("dedupe.lookback_days", 30)]


def test_intake_takes_kinds_and_channels_from_the_dictionary_as_administrators_keep_it(client, demo):
    from app.models import DictionaryEntry

    agent = token(client, "agent01")
    body = {"kind": "complaint", "channel": "weibo", "subject": "噪声", "content": "夜间施工。",
            "requester": {"name": "李四"}}
    assert client.post("/api/v1/cases", headers=agent, json={**body, "kind": "gossip"}).get_json()["details"] == {
        "kind": "诉求类型无效:gossip"}
    assert client.post("/api/v1/cases", headers=agent, json=body).status_code == 201
    with demo.db.unit_of_work() as session:  # the centre stops taking appeals by 微博
        session.scalars(select(DictionaryEntry).where(DictionaryEntry.kind == "channel",
                                                      DictionaryEntry.code == "weibo")).one().active = False
        session.commit()
    refused = client.post("/api/v1/cases", headers=agent, json=body)
    assert refused.status_code == 422 and refused.get_json()["details"] == {"channel": "来源渠道无效:weibo"}


def _rules(platform):
    from app.models import DeadlineRule

    with platform.db.reading() as session:
        return {r.key: (r.amount, r.name) for r in session.scalars(select(DeadlineRule))}


def test_a_stock_rule_new_in_a_release_reaches_an_existing_install_and_an_edited_rule_is_kept(app, client, demo):
    from app.domain.deadlines import SEED_RULES
    from app.models import DeadlineRule

    stock = {r.key: (r.amount, r.name) for r in SEED_RULES}
    assert client.patch("/api/v1/deadline-rules/hotline.complaint", headers=token(client, "sysadmin"),
                        json={"amount": 12, "name": "投诉类办结(本市)"}).status_code == 200
    with demo.db.unit_of_work() as session:  # an install from before `hotline.return` was a stock rule
        session.delete(session.get_one(DeadlineRule, "hotline.return"))
        session.commit()
    for command in ("seed-reference", "db-upgrade"):
        result = app.test_cli_runner().invoke(args=[command])
        assert result.exit_code == 0, result.output
        assert _rules(demo) == {**stock, "hotline.complaint": (12, "投诉类办结(本市)")}, command
        if command == "seed-reference":
            assert "hotline.return" in result.output
            with demo.db.unit_of_work() as session:  # and once more, for the upgrade path
                session.delete(session.get_one(DeadlineRule, "hotline.return"))
                session.commit()
    again = app.test_cli_runner().invoke(args=["seed-reference"])
    assert again.exit_code == 0 and "新增时限规则" not in again.output
    with demo.db.reading() as session:
        seeded = session.scalars(select(AuditEvent).where(AuditEvent.action == "deadline_rule.seeded")).all()
    assert [e.detail["keys"] for e in seeded] == [["hotline.return"], ["hotline.return"]]


def _no_english(message: str) -> bool:
    import re

    codes = (r"true|false|https?|calendar_day|working_day|calendar_hour|working_hour"  # JSON literals and codes
             r"|registration|dispatch|sign_for|step_start")  # the message names
    return re.search(r"[A-Za-z]{4,}", re.sub(codes, "", message)) is None


@pytest.mark.parametrize(("changes", "field", "words"), [
    ({"amount": 1000000000000}, "amount", "「时限」应为 1 到 365 之间的整数"),
    ({"amount": "abc"}, "amount", "「时限」应为 1 到 365 之间的整数"),
    ({"amount": 5.5}, "amount", "「时限」应为 1 到 365 之间的整数"),
    ({"amount": True}, "amount", "「时限」应为 1 到 365 之间的整数"),
    ({"max_extension": -1}, "max_extension", "「最长延期」应为 0 到 365 之间的整数"),
    ({"unit": "hour"}, "unit", "「计时单位」只能是"),
    ({"roll_forward": "yes"}, "roll_forward", "「末日为休息日时顺延」应为 true 或 false"),
    ({"name": "长" * 61}, "name", "「名称」最多 60 个字符"),
    ({"name": " "}, "name", "「名称」不能为空"),
    ({"amout": 3}, "amout", "不是可修改的时限规则字段"),
])
def test_a_rule_edit_outside_its_schema_is_refused_naming_the_field_and_changes_nothing(app, client, changes,
                                                                                         field, words):
    due = deadline(app, "hotline.complaint", "2026-02-12").output.strip()
    response = client.patch("/api/v1/deadline-rules/hotline.complaint", headers=token(client, "sysadmin"),
                            json=changes)
    assert response.status_code == 422
    body = response.get_json()
    assert list(body["details"]) == [field] and words in body["details"][field] and words in body["message"]
    assert _no_english(body["message"])
    assert deadline(app, "hotline.complaint", "2026-02-12").output.strip() == due


BAD_SETTINGS = [
    ("process.hotline", "does_not_exist", "「12345 工单的流程」必须是已部署的流程定义"),
    ("process.petition", 7, "「信访件的流程」必须是已部署的流程定义"),
    ("intake.petition_channels", ["letter", "pigeon"], "「信访件的来源渠道」必须是数据字典中启用的来源渠道"),
    ("intake.petition_channels", "letter", "「信访件的来源渠道」应为不重复的列表"),
    ("lights.yellow_fraction", 1.5, "「黄灯预警比例」应为 0 到 1 之间的数"),
    ("lights.yellow_fraction", float("inf"), "「黄灯预警比例」应为 0 到 1 之间的数"),
    ("dedupe.lookback_days", 0, "「判重回溯天数」应为 1 到 3650 之间的整数"),
    ("telephony.agent_map", {"PJSIP/8001": "nobody"}, "「分机与工号对照」工号不存在或已停用:nobody"),
    ("telephony.agent_map", ["agent01"], "「分机与工号对照」应为对象"),
    ("telephony.voicemail_kind", "gossip", "「留言登记的诉求类型」必须是数据字典中启用的诉求类型"),
    ("telephony.pop_hours", 10**20, "「来电弹屏保留小时数」应为 1 到 168 之间的整数"),
    ("sms.template.receipt", "受理号{number.__class__}", "「受理回执短信模板」只能使用这些占位符"),
    ("sms.template.reply", "已答复{phone}", "「答复短信模板」只能使用这些占位符:{number}"),
    ("sms.template.new_task", "待办{number", "「新待办短信模板」花括号不成对"),
    ("sms.template.supervision", "", "「督办短信模板」不能为空"),
    ("sms.gateway", "carrier-pigeon", "「短信网关」只能是以下取值之一"),
    ("sms.http_url", "file:///etc/passwd", "「短信网关地址」应为以 http:// 或 https:// 开头的网址"),
]


def test_a_setting_outside_its_schema_is_refused_naming_it_and_new_cases_keep_coming(client, demo):
    admin, agent = token(client, "sysadmin"), token(client, "agent01")
    for key, value, words in BAD_SETTINGS:
        response = client.put(f"/api/v1/settings/{key}", headers=admin, json={"value": value})
        assert response.status_code == 422, (key, value)
        assert words in response.get_json()["details"]["value"], (key, response.get_json())
    with demo.db.reading() as session:
        assert session.scalars(select(AuditEvent).where(AuditEvent.action == "setting.changed")).all() == []
    assert client.post("/api/v1/cases", headers=agent, json={
        "kind": "complaint", "channel": "phone", "subject": "噪声", "content": "夜间施工。",
        "requester": {"name": "李四"}}).status_code == 201


def test_a_setting_within_its_schema_is_stored(client):
    admin = token(client, "sysadmin")
    for key, value in [("process.hotline", "petition"), ("intake.petition_channels", ["letter", "visit", "mailbox"]),
                       ("lights.yellow_fraction", 1), ("telephony.agent_map", {"PJSIP/8001": "agent01"}),
                       ("sms.template.reply", "【某市】{number} 已答复"), ("sms.http_url", "https://sms.example.cn/send"),
                       ("sms.http_url", "")]:
        response = client.put(f"/api/v1/settings/{key}", headers=admin, json={"value": value})
        assert response.status_code == 200, (key, response.get_json())


def test_every_default_passes_its_own_schema(demo):
    from app.services.settings import SCHEMAS, problem_with

    with demo.db.reading() as session:
        assert {key: problem_with(session, key, s.default) for key, s in SCHEMAS.items()} == dict.fromkeys(SCHEMAS)


@pytest.mark.parametrize(("year", "body", "field"), [
    (2200, {"entries": []}, "year"),
    (1999, {"entries": []}, "year"),
    (2027, {"entries": [{"day": "2027-02-08", "is_workday": "false"}]}, "entries"),
    (2027, {"entries": [{"day": "2027-02-08", "is_workday": False}, {"day": "2027-02-08", "is_workday": False}]},
     "entries"),
    (2027, {"entries": [{"day": "2027-02-08", "is_workday": False, "note": "春" * 41}]}, "entries"),
    (2027, {"entries": [{"day": "2026-02-08", "is_workday": False}]}, "entries"),
    (2027, {"entries": [{"day": 20270208, "is_workday": False}]}, "entries"),
    (2027, {"entries": [], "source": "来" * 61}, "source"),
])
def test_a_calendar_entry_outside_reason_is_refused_naming_the_field_and_the_year_stays_unconfirmed(
        app, client, year, body, field):
    response = client.put(f"/api/v1/calendar/{year}", headers=token(client, "sysadmin"), json=body)
    assert response.status_code == 422, response.get_json()
    assert list(response.get_json()["details"]) == [field] and _no_english(response.get_json()["message"])
    assert "尚未确认" in deadline(app, "hotline.consultation", "2027-02-08").output
