"""Errors a user can cause, or a state the platform knows, answer in Chinese with 4xx and change nothing:
an extension into an unconfirmed calendar year (409), a unit the form names that does not exist (422);
the sweeper meeting an unconfirmed year carries on (fault table row 8)."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from lifecycle_driver import Api, deploy, end_of, timed_bpmn, unit_ids

from app.services import deadline_repair
from app.services.actors import Actor
from app.services.admin import DayEntry, confirm_year
from app.services.sweeps import sweep_due_timers
from tests.conftest import Auth, csrf_token_of

SYSADMIN = Actor(label="test", permissions=frozenset({"calendar.edit"}))
MISSING_2027 = "2027 年的工作日历尚未确认"


@pytest.fixture
def api(client, demo) -> Api:  # type: ignore[no-untyped-def]
    return Api(client)


@pytest.fixture
def units(demo) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return unit_ids(demo)


def accepted(api: Api) -> int:
    case_id = int(api.register()["id"])
    api.complete("dispatch01", case_id, "accept", accept_decision="accept", kind="complaint")
    return case_id


def extension_asked_in_december(api: Api, units: dict[str, int], clock) -> int:  # type: ignore[no-untyped-def]
    """A complaint signed for on 2026-12-09 (handling due 2026-12-30) whose unit asks for more days."""
    clock.at = datetime(2026, 12, 9, 9, 0)
    case_id = accepted(api)
    api.complete("dispatch01", case_id, "dispatch", dispatch_mode="transfer", lead_unit_id=units["cgj"],
                 directly_designated=False)
    api.complete("cg01", case_id, "sign_for", sign_note="已签收")
    assert api.task("cg01", case_id, "handle")["due_at"] == end_of(date(2026, 12, 30))
    api.complete("cg01", case_id, "handle", handle_action="extend", requested_extension_days=5,
                 extension_reason="需现场勘查")
    return case_id


def test_an_extension_into_an_unconfirmed_year_is_refused_with_the_calendars_words_until_it_is_confirmed(
        api, units, demo, clock):
    case_id = extension_asked_in_december(api, units, clock)
    approve = api.task("cgleader01", case_id, "approve_extension")
    answers = {"extension_decision": "approve", "approved_extension_days": 3, "extension_opinion": "同意"}
    refused = api.call("cgleader01", "POST", f"/tasks/{approve['id']}/complete", json={"data": answers})
    assert refused.status_code == 409
    body = refused.get_json()
    assert MISSING_2027 in body["message"] and "calendar" not in body["message"]
    assert body["details"]["year"] == 2027
    assert api.ready(case_id) == ["approve_extension"], "the refused approval changed the case"
    confirm_year(demo, SYSADMIN, 2027, [DayEntry(date(2027, 1, 1), False, "元旦")], "国务院办公厅通知(测试)")
    api.complete_id("cgleader01", approve["id"], **answers)
    # 3 working days after Wed 2026-12-30: Thu 31, (元旦 and the weekend,) Mon 2027-01-04, Tue 01-05.
    assert api.task("cg01", case_id, "handle")["due_at"] == end_of(date(2027, 1, 5))


def test_the_approval_page_shows_the_calendars_message_instead_of_an_error_page(api, units, client, clock):
    case_id = extension_asked_in_december(api, units, clock)
    approve = api.task("cgleader01", case_id, "approve_extension")
    Auth(client).login("cgleader01")
    token = csrf_token_of(client.get(f"/cases/{case_id}").get_data(as_text=True))
    response = client.post(f"/tasks/{approve['id']}", data={
        "csrf_token": token, "extension_decision": "approve", "approved_extension_days": "3",
        "extension_opinion": "同意"})
    assert response.status_code == 409
    assert MISSING_2027 in response.get_data(as_text=True)
    assert api.ready(case_id) == ["approve_extension"]


@pytest.mark.parametrize("named", [99999, "abc", 9223372036854775808, 0, True])
def test_a_dispatch_to_a_unit_that_does_not_exist_is_the_users_error_and_changes_nothing(api, named):
    case_id = accepted(api)
    dispatch = api.task("dispatch01", case_id, "dispatch")
    response = api.call("dispatch01", "POST", f"/tasks/{dispatch['id']}/complete", json={"data": {
        "dispatch_mode": "transfer", "lead_unit_id": named, "directly_designated": False}})
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["details"] == {"lead_unit_id": "承办单位不存在"}
    assert api.task("dispatch01", case_id, "dispatch")["id"] == dispatch["id"]
    assert api.call("sysadmin", "GET", "/incidents").get_json()["items"] == []
    assert "case.incident" not in [action for action, _ in api.actions(case_id)]


def test_an_assisting_unit_that_does_not_exist_is_named_in_the_refusal(api, units):
    case_id = accepted(api)
    response = api.complete("dispatch01", case_id, "dispatch", expect=422, dispatch_mode="co_handle",
                            lead_unit_id=units["cgj"], assisting_unit_ids=[units["zjj"], 99999],
                            directly_designated=False)
    assert response["details"] == {"assisting_unit_ids": "协办单位不存在"}
    assert api.ready(case_id) == ["dispatch"]


def test_a_unit_named_by_its_id_as_text_is_the_unit(api, units):
    case_id = accepted(api)
    api.complete("dispatch01", case_id, "dispatch", dispatch_mode="transfer", lead_unit_id=str(units["cgj"]),
                 directly_designated=False)
    assert api.task("cg01", case_id, "sign_for")["unit_id"] == units["cgj"]


def test_a_timer_that_opens_a_step_due_in_an_unconfirmed_year_fires_and_the_step_waits_for_the_year(
        api, demo, clock):
    ruled = timed_bpmn().replace(  # 催办 under the petition's 60-day rule: from 2026-11-27 that ends in 2027
        b'<spiffworkflow:property name="unitVariable" value="centre_unit_id" />\n      </spiffworkflow:properties>'
        b'</bpmn:extensionElements>\n      <bpmn:incoming>f4</bpmn:incoming>',
        b'<spiffworkflow:property name="unitVariable" value="centre_unit_id" />\n'
        b'        <spiffworkflow:property name="deadlineRule" value="petition.handle" />\n'
        b'      </spiffworkflow:properties></bpmn:extensionElements>\n      <bpmn:incoming>f4</bpmn:incoming>')
    assert ruled != timed_bpmn() and deploy(api, ruled).status_code == 201
    case_id = api.register(process="timed_order")["id"]
    clock.advance(days=2, seconds=1)
    swept = sweep_due_timers(demo, "sched-0")
    assert (swept.timers_fired, swept.incidents) == (1, 0)
    assert api.task("leader01", case_id, "escalate")["due_at"] is None
    confirm_year(demo, SYSADMIN, 2027, [DayEntry(date(2027, 1, 1), False, "元旦")], "国务院办公厅通知(测试)")
    deadline_repair.apply(demo, SYSADMIN, {"kind": "calendar_year", "year": 2027})  # the dates wait for the repair
    # 2026-11-27 + 60 日 = Tuesday 2027-01-26
    assert api.task("leader01", case_id, "escalate")["due_at"] == end_of(date(2027, 1, 26))


def test_a_timer_that_extends_into_an_unconfirmed_year_is_deferred_not_crashed_and_fires_once_it_is_confirmed(
        api, demo, clock):
    clock.at = datetime(2026, 12, 9, 9, 0)  # 受理 under the complaint rule: due 2026-12-30
    extending = timed_bpmn(script="lead_unit_id = centre_unit_id\nextension_days = 3\n"
                                  "handle_rule = 'hotline.complaint'").replace(
        b'<spiffworkflow:property name="caseStatus" value="registered" />',
        b'<spiffworkflow:property name="caseStatus" value="registered" />'
        b'<spiffworkflow:property name="deadlineRule" value="hotline.complaint" />')
    assert b"hotline.complaint\" />" in extending and deploy(api, extending).status_code == 201
    case_id = api.register(process="timed_order")["id"]
    assert api.task("dispatch01", case_id, "accept")["due_at"] == end_of(date(2026, 12, 30))
    clock.advance(days=2, seconds=1)
    swept = sweep_due_timers(demo, "sched-0")
    assert (swept.timers_fired, swept.incidents, swept.deferred) == (0, 0, 1)
    api = Api(api.client)  # two days on: sign in afresh
    assert api.ready(case_id) == ["accept"]
    confirm_year(demo, SYSADMIN, 2027, [DayEntry(date(2027, 1, 1), False, "元旦")], "国务院办公厅通知(测试)")
    assert sweep_due_timers(demo, "sched-0").timers_fired == 1
    assert api.task("dispatch01", case_id, "accept")["due_at"] == end_of(date(2027, 1, 5))
