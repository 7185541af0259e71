"""A clock on every step (the centre's 受理 and 派单 too), hour rules, and the repair of due dates when a
rule or the calendar changes — through the HTTP API and the CLI, on both databases, on a frozen clock."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from lifecycle_driver import Api, end_of, unit_ids, working_days_after
from sqlalchemy import select

from app.models import AuditEvent

REGISTERED_ON = date(2026, 11, 25)  # the frozen clock's day (Wednesday 09:00)


@pytest.fixture
def api(client, demo) -> Api:  # type: ignore[no-untyped-def]
    return Api(client)


@pytest.fixture
def units(demo) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return unit_ids(demo)


def centre_light(client, case_id: int) -> tuple[str, str | None]:  # type: ignore[no-untyped-def]
    """The case's light and due time as the centre's dispatcher reads them (signed in afresh: the clock
    may have jumped past a token's life)."""
    case = Api(client).case(case_id)
    return case["light"], case["due_at"]


@pytest.mark.parametrize(("kind", "channel"), [("complaint", "phone"), ("consultation", "web"),
                                               ("praise", "wechat"), ("complaint", "letter")])
def test_every_registered_case_has_a_due_date_and_a_light(api, kind, channel):
    created = api.register(kind=kind, channel=channel)
    assert created["due_at"] is not None and created["light"] == "green"
    assert api.case(created["id"])["due_at"] == created["due_at"]


def test_a_hotline_complaint_is_yellow_then_red_at_the_centre_if_nobody_dispatches_it(api, client, clock):
    created = api.register()
    due = end_of(working_days_after(REGISTERED_ON, 1))  # 受理 and 派单 together: 1 working day
    assert (created["due_at"], created["light"]) == (due, "green")
    api.complete("dispatch01", created["id"], "accept", accept_decision="accept", kind="complaint")
    dispatch = api.task("dispatch01", created["id"], "dispatch")
    assert dispatch["due_at"] == due, "派单 shares the period 受理 began at registration"

    clock.at = datetime(2026, 11, 25, 23, 59)
    assert centre_light(client, created["id"]) == ("green", due)
    clock.at = datetime(2026, 11, 26, 0, 0)  # the last working day of the period has begun
    assert centre_light(client, created["id"]) == ("yellow", due)
    clock.at = datetime.fromisoformat(due) + timedelta(seconds=1)
    assert centre_light(client, created["id"]) == ("red", due)
    red = Api(client).worklist("dispatch01", light="red")["items"]
    assert [(t["case_id"], t["task"], t["case_due_at"]) for t in red] == [(created["id"], "dispatch", due)]


def test_a_rejection_approval_has_its_own_clock_of_two_working_days(api):
    case_id = api.register()["id"]
    api.complete("dispatch01", case_id, "accept", accept_decision="reject", kind="complaint",
                 rejection_reason="litigation", rejection_note="已进入诉讼程序。")
    approval = api.task("leader01", case_id, "approve_rejection")
    assert approval["due_at"] == end_of(working_days_after(REGISTERED_ON, 2))


def flask(app, *args: str):  # type: ignore[no-untyped-def]
    return app.test_cli_runner().invoke(args=list(args))


def test_flask_deadline_takes_a_date_time_and_prints_the_due_date_time(app, client):
    result = flask(app, "deadline", "hotline.centre_intake", "2026-12-03T11:00")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "2026-12-04T23:59:59"
    admin = {"Authorization": f"Bearer {Api(client).token('sysadmin')}"}
    response = client.patch("/api/v1/deadline-rules/hotline.centre_intake", headers=admin,
                            json={"amount": 2, "unit": "working_hour"})  # 紧急: 2 working hours
    assert response.status_code == 200, response.get_json()
    # 11:00–12:00 counts, the lunch break does not: 13:30 + 1 hour.
    assert flask(app, "deadline", "hotline.centre_intake", "2026-12-03T11:00").output.strip() == "2026-12-03T14:30:00"
    # Friday 17:00: half an hour on Friday, the weekend is not counted, Monday 08:30 + 1.5 hours.
    assert flask(app, "deadline", "hotline.centre_intake", "2026-12-04T17:00").output.strip() == "2026-12-07T10:00:00"
    assert flask(app, "deadline", "hotline.centre_intake", "2026-12-03 11:00").exit_code == 0
    bad = flask(app, "deadline", "hotline.centre_intake", "3.12.2026")
    assert bad.exit_code != 0 and "日期" in bad.output


def test_office_hours_are_a_setting_checked_before_it_is_stored(app, client):
    admin = {"Authorization": f"Bearer {Api(client).token('sysadmin')}"}
    for wrong in (["08:30", "12:00"], [["12:00", "08:30"]], [["08:30", "12:00"], ["11:00", "17:30"]],
                  [["8:30", "25:00"]]):
        response = client.put("/api/v1/settings/calendar.office_hours", headers=admin, json={"value": wrong})
        assert response.status_code == 422 and "「办公时间」" in response.get_json()["message"]
    client.patch("/api/v1/deadline-rules/hotline.centre_intake", headers=admin,
                 json={"amount": 2, "unit": "working_hour"})
    assert client.put("/api/v1/settings/calendar.office_hours", headers=admin,
                      json={"value": [["09:00", "12:00"], ["14:00", "18:00"]]}).status_code == 200
    assert flask(app, "deadline", "hotline.centre_intake", "2026-12-03T11:00").output.strip() == "2026-12-03T15:00:00"


def petition_waiting_for_2027(api: Api, units: dict[str, int]) -> int:
    """A 信访件 signed for on 2026-11-25: its 60-日 handling period ends in 2027."""
    case_id = int(api.register(channel="letter", kind="complaint")["id"])
    api.complete("dispatch01", case_id, "accept", accept_decision="accept", kind="complaint")
    api.complete("dispatch01", case_id, "dispatch", dispatch_mode="transfer", lead_unit_id=units["zjj"],
                 directly_designated=False)
    api.complete("zj01", case_id, "sign_for")
    assert api.task("zj01", case_id, "handle")["due_at"] is None
    return case_id


def hotline_at_handling(api: Api, units: dict[str, int]) -> int:
    case_id = int(api.register()["id"])
    api.complete("dispatch01", case_id, "accept", accept_decision="accept", kind="complaint")
    api.complete("dispatch01", case_id, "dispatch", dispatch_mode="transfer", lead_unit_id=units["cgj"],
                 directly_designated=False)
    api.complete("cg01", case_id, "sign_for")
    return case_id


def repair(api: Api, step: str, cause: dict[str, object], expect: int = 200) -> dict[str, object]:
    response = api.call("sysadmin", "POST", f"/deadline-repair/{step}", json={"cause": cause})
    assert response.status_code == expect, response.get_json()
    return dict(response.get_json())


def test_the_repair_preview_lists_exactly_the_tasks_2027_moves_and_applying_it_sets_them(api, units, demo):
    waiting = petition_waiting_for_2027(api, units)
    dated = hotline_at_handling(api, units)
    handle_due = api.task("cg01", dated, "handle")["due_at"]
    cause = {"kind": "calendar_year", "year": 2027}
    assert repair(api, "preview", cause)["count"] == 0, "nothing to compute into an unconfirmed year"

    confirmed = api.call("sysadmin", "PUT", "/calendar/2027", json={
        "entries": [{"day": "2027-01-01", "is_workday": False, "note": "元旦"}], "source": "国办发明电(测试)"})
    assert confirmed.status_code == 200 and confirmed.get_json()["repair"]["count"] == 1
    assert api.task("zj01", waiting, "handle")["due_at"] is None, "confirming alone moves no date"

    preview = repair(api, "preview", cause)
    assert (preview["count"], preview["turning_red"]) == (1, 0)
    [row] = preview["tasks"]
    assert (row["case_id"], row["task"], row["rule"], row["old_due_at"], row["new_due_at"]) == (
        waiting, "handle", "petition.handle", None, "2027-01-25T23:59:59")
    assert api.task("zj01", waiting, "handle")["due_at"] is None, "a preview writes nothing"

    applied = repair(api, "apply", cause)
    assert applied["tasks"] == preview["tasks"]
    assert api.task("zj01", waiting, "handle")["due_at"] == "2027-01-25T23:59:59"
    assert api.case(waiting)["due_at"] == "2027-01-25T23:59:59"
    assert api.task("cg01", dated, "handle")["due_at"] == handle_due
    assert repair(api, "preview", cause)["count"] == 0, "applied once, nothing is left to repair"
    with demo.db.reading() as session:
        rows = session.scalars(select(AuditEvent).where(AuditEvent.action == "deadline.repaired")).all()
    assert [(r.case_id, r.detail["cause"]["kind"], r.detail["new_due_at"]) for r in rows] == [
        (waiting, "calendar_year", "2027-01-25T23:59:59")]

    # 2027 corrected: 25 January becomes a rest day, so the period ends on the 26th.
    api.call("sysadmin", "PUT", "/calendar/2027", json={"entries": [
        {"day": "2027-01-01", "is_workday": False, "note": "元旦"},
        {"day": "2027-01-25", "is_workday": False, "note": "测试休息日"}]})
    [moved] = repair(api, "preview", cause)["tasks"]
    assert (moved["case_id"], moved["old_due_at"], moved["new_due_at"]) == (
        waiting, "2027-01-25T23:59:59", "2027-01-26T23:59:59")


def test_a_changed_rule_is_repaired_after_a_preview_and_only_its_tasks_move(api, units, clock):
    dated = hotline_at_handling(api, units)
    other = int(api.register()["id"])
    old = api.task("cg01", dated, "handle")["due_at"]
    assert api.call("sysadmin", "PATCH", "/deadline-rules/hotline.complaint", json={"amount": 3}).status_code == 200
    assert api.task("cg01", dated, "handle")["due_at"] == old, "a rule edit alone moves no running period"
    clock.at = datetime(2026, 11, 30, 10, 0)  # Monday: 3 working days from the 25th end on the 30th
    api = Api(api.client)
    cause = {"kind": "rule", "rule": "hotline.complaint"}
    preview = repair(api, "preview", cause)
    assert [(t["case_id"], t["old_due_at"], t["new_due_at"], t["turns_red"]) for t in preview["tasks"]] == [
        (dated, old, end_of(working_days_after(REGISTERED_ON, 3)), False)]
    assert other not in [t["case_id"] for t in preview["tasks"]]
    repair(api, "apply", cause)
    assert api.task("cg01", dated, "handle")["due_at"] == end_of(working_days_after(REGISTERED_ON, 3))


def test_a_repair_cause_is_checked_and_only_administrators_repair(api):
    assert repair(api, "preview", {"kind": "weather"}, expect=422)["details"] == {
        "cause.kind": "原因应为 calendar_year(年度日历)、calendar_day(某一天)、rule(时限规则)或 local_holiday"
                      "(地方节假日)之一"}
    assert "cause.rule" in repair(api, "preview", {"kind": "rule", "rule": "no.such"}, expect=422)["details"]
    assert "cause.day" in repair(api, "apply", {"kind": "calendar_day", "day": "tomorrow"}, expect=422)["details"]
    response = api.call("agent01", "POST", "/deadline-repair/apply", json={"cause": {"kind": "calendar_year",
                                                                                     "year": 2027}})
    assert response.status_code == 403
