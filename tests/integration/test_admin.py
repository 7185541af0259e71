"""Administrators edit rules, the calendar and settings; each edit acts at once and is audited."""

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
