"""三权分立 in role assignment, and who sees which case: out of scope looks exactly like not there."""

from __future__ import annotations

import pytest
from lifecycle_driver import Api, unit_ids
from sqlalchemy import select

from app.errors import Invalid, NotPermitted
from app.models import AuditEvent, Case, HumanTask, Unit, User
from app.services.auth import sign_in
from app.services.cases import RequesterInput, new_case_identity, new_requester
from app.services.users import add_user, assign_roles
from tests.conftest import DEMO_PASSWORD


def _user_id(platform, staff_no: str) -> int:  # type: ignore[no-untyped-def]
    with platform.db.reading() as session:
        return session.scalars(select(User.id).where(User.staff_no == staff_no)).one()


def _roles_of(platform, staff_no: str) -> set[str]:  # type: ignore[no-untyped-def]
    with platform.db.reading() as session:
        return session.scalars(select(User).where(User.staff_no == staff_no)).one().role_codes


def _signed_in(platform, staff_no: str):  # type: ignore[no-untyped-def]
    return sign_in(platform, staff_no, DEMO_PASSWORD)[1]


def _register_case(platform, lead_unit: str) -> int:  # type: ignore[no-untyped-def]
    """A case the hotline centre registered and handed to `lead_unit` (a unit code)."""
    with platform.db.unit_of_work() as session:
        units = {u.code: u.id for u in session.scalars(select(Unit))}
        requester = new_requester(session, platform, RequesterInput(name="钱女士", phone="13900001111"))
        number, query_code = new_case_identity(session, platform)
        case = Case(number=number, query_code=query_code, kind="complaint", channel="phone",
                    subject="小区门口占道经营", content="每天傍晚有摊贩占用人行道。", requester=requester,
                    status="handling", registering_unit_id=units["centre"], lead_unit_id=units[lead_unit],
                    created_at=platform.clock.now())
        session.add(case)
        session.commit()
        return case.id


def _add_handler(platform, staff_no: str, unit_code: str) -> None:  # type: ignore[no-untyped-def]
    with platform.db.unit_of_work() as session:
        unit = session.scalars(select(Unit).where(Unit.code == unit_code)).one()
        add_user(session, platform, staff_no=staff_no, name="街道经办", unit=unit, password=DEMO_PASSWORD,
                 roles={"handler"}, must_change_password=False)
        session.commit()


def _token(client, staff_no: str) -> str:  # type: ignore[no-untyped-def]
    response = client.post("/api/v1/auth/token", json={"staff_no": staff_no, "password": DEMO_PASSWORD})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["token"]


def _read(client, staff_no: str, case_id: int):  # type: ignore[no-untyped-def]
    return client.get(f"/api/v1/cases/{case_id}", headers={"Authorization": f"Bearer {_token(client, staff_no)}"})


def test_the_security_admin_cannot_give_one_person_powers_that_must_stay_apart(demo):
    secadmin = _signed_in(demo, "secadmin")
    agent = _user_id(demo, "agent01")

    for roles in ({"sysadmin", "auditor"}, {"secadmin", "sysadmin"}, {"auditor", "handler"}, {"sysadmin", "agent"}):
        with pytest.raises(Invalid, match="三权分立"):
            assign_roles(demo, secadmin, agent, roles)

    assert _roles_of(demo, "agent01") == {"agent"}
    with demo.db.reading() as session:
        assert session.scalar(select(AuditEvent.id).where(AuditEvent.action == "permission.changed")) is None


def test_only_the_security_admin_may_assign_roles(demo):
    sysadmin = _signed_in(demo, "sysadmin")

    with pytest.raises(NotPermitted):
        assign_roles(demo, sysadmin, _user_id(demo, "agent01"), {"dispatcher"})

    assert _roles_of(demo, "agent01") == {"agent"}


def test_a_role_assignment_is_recorded_in_the_audit_log(demo):
    secadmin = _signed_in(demo, "secadmin")

    assign_roles(demo, secadmin, _user_id(demo, "agent01"), {"agent", "dispatcher"})

    assert _roles_of(demo, "agent01") == {"agent", "dispatcher"}
    with demo.db.reading() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "permission.changed")).one()
        assert (event.actor, event.detail) == ("secadmin", {"user": "agent01", "before": ["agent"],
                                                            "after": ["agent", "dispatcher"]})


def test_a_bureau_handler_reads_a_case_their_bureau_leads(client, demo):
    case_id = _register_case(demo, "cgj")

    response = _read(client, "cg01", case_id)

    assert response.status_code == 200
    assert response.get_json()["lead_unit"] == "市城管局"


def test_another_bureaus_case_looks_exactly_like_a_case_that_does_not_exist(client, demo):
    other_bureau = _register_case(demo, "zjj")

    hidden = _read(client, "cg01", other_bureau)
    missing = _read(client, "cg01", other_bureau + 1000)

    assert hidden.status_code == missing.status_code == 404
    assert hidden.get_data() == missing.get_data()


def test_a_street_handler_sees_their_street_but_not_the_next_street_of_the_district(client, demo):
    _add_handler(demo, "hpl01", "dcq.hpl")
    own_street = _register_case(demo, "dcq.hpl")
    next_street = _register_case(demo, "dcq.jgh")

    assert _read(client, "hpl01", own_street).status_code == 200
    assert _read(client, "hpl01", next_street).status_code == 404


def test_a_district_handler_sees_the_cases_of_every_street_below(client, demo):
    _add_handler(demo, "dcq01", "dcq")
    cases = [_register_case(demo, "dcq.hpl"), _register_case(demo, "dcq.jgh")]

    assert [_read(client, "dcq01", c).status_code for c in cases] == [200, 200]


def test_the_centre_dispatcher_sees_the_cases_of_every_bureau(client, demo):
    cases = [_register_case(demo, "cgj"), _register_case(demo, "zjj")]

    assert [_read(client, "dispatch01", c).status_code for c in cases] == [200, 200]


def test_the_administrators_read_no_case_at_all(client, demo):
    cases = [_register_case(demo, "cgj"), _register_case(demo, "zjj")]

    for admin in ("sysadmin", "secadmin", "auditor"):
        assert [_read(client, admin, c).status_code for c in cases] == [404, 404], admin


# Seeing is not working: a task is worked by its own unit (or its assignee), never by a unit above it.

def _dispatched_to(api, units: dict[str, int], unit: str = "cgj") -> int:  # type: ignore[no-untyped-def]
    """A complaint accepted and 转送 to `unit`: waiting there for 签收."""
    case_id = int(api.register()["id"])
    api.complete("dispatch01", case_id, "accept", accept_decision="accept", kind="complaint")
    api.complete("dispatch01", case_id, "dispatch", dispatch_mode="transfer", lead_unit_id=units[unit],
                 directly_designated=False)
    return case_id


def _ready_task(platform, case_id: int, spec: str) -> str:  # type: ignore[no-untyped-def]
    with platform.db.reading() as session:
        return session.scalars(select(HumanTask.id).where(HumanTask.case_id == case_id, HumanTask.spec_name == spec,
                                                          HumanTask.state == "ready")).one()


def test_a_centre_handler_may_not_sign_for_a_task_of_a_bureau_below_the_centre(client, demo):
    api = Api(client)
    case_id = _dispatched_to(api, unit_ids(demo))
    task_id = _ready_task(demo, case_id, "sign_for")

    refused = api.call("zx01", "POST", f"/tasks/{task_id}/complete", json={"data": {"sign_note": "已签收"}})

    assert refused.status_code == 403
    assert "不属于您的岗位或单位" in refused.get_json()["message"]
    assert api.case(case_id)["tasks"][0]["task"] == "sign_for"  # nothing moved
    assert api.call("zx01", "GET", f"/tasks/{task_id}").get_json()["may_complete"] is False
    api.complete_id("cg01", task_id, sign_note="已签收")  # the bureau's own handler does it


def test_a_centre_handlers_worklist_holds_only_the_centres_own_tasks(client, demo):
    api = Api(client)
    units = unit_ids(demo)
    bureau_cases = [_dispatched_to(api, units, "cgj"), _dispatched_to(api, units, "zjj")]
    own = _dispatched_to(api, units, "cgj")
    api.complete("dispatch01", int(api.register()["id"]), "accept", accept_decision="accept", kind="complaint")
    self_handled = int(api.register()["id"])
    api.complete("dispatch01", self_handled, "accept", accept_decision="accept", kind="complaint")
    api.complete("dispatch01", self_handled, "dispatch", dispatch_mode="self_handle", directly_designated=True)

    items = api.worklist("zx01")["items"]

    assert {t["unit_id"] for t in items} == {units["centre"]}
    assert [t["case_id"] for t in items] == [self_handled]
    assert not {t["case_id"] for t in api.worklist("zx01")["items"]} & {*bureau_cases, own}
    assert sorted(t["case_id"] for t in api.worklist("cg01", task="sign_for")["items"]) == [bureau_cases[0], own]


def test_a_district_handler_reads_a_streets_case_but_may_not_work_its_task(client, demo):
    api = Api(client)
    _add_handler(demo, "dcq01", "dcq")
    _add_handler(demo, "hpl01", "dcq.hpl")
    case_id = _dispatched_to(api, unit_ids(demo), "dcq.hpl")
    task_id = _ready_task(demo, case_id, "sign_for")

    assert api.call("dcq01", "GET", f"/cases/{case_id}").status_code == 200
    assert api.call("dcq01", "POST", f"/tasks/{task_id}/complete", json={"data": {}}).status_code == 403
    assert api.worklist("dcq01")["items"] == []
    api.complete_id("hpl01", task_id, sign_note="已签收")


def test_leaders_above_still_see_and_supervise_a_bureaus_case(client, demo):
    api = Api(client)
    case_id = _dispatched_to(api, unit_ids(demo))
    api.complete("cg01", case_id, "sign_for", sign_note="已签收")

    assert api.case(case_id, user="leader01")["lead_unit"] == "市城管局"
    api.supervise(case_id, "请尽快办理", user="leader01")  # a message the process receives, not a unit's step
    feedback = _ready_task(demo, case_id, "supervision_feedback")
    assert api.call("leader01", "POST", f"/tasks/{feedback}/complete",
                    json={"data": {"supervision_feedback": "已办"}}).status_code == 403
    assert [t["case_id"] for t in api.worklist("cg01", task="supervision_feedback")["items"]] == [case_id]


def test_an_explicit_assignee_may_work_a_task_outside_their_unit_with_its_role(client, demo):
    api = Api(client)
    case_id = _dispatched_to(api, unit_ids(demo))
    task_id = _ready_task(demo, case_id, "sign_for")
    with demo.db.unit_of_work() as session:
        session.get(HumanTask, task_id).assignee_id = _user_id(demo, "zj01")
        session.commit()

    assert [t["id"] for t in api.worklist("zj01")["items"]] == [task_id]
    api.complete_id("zj01", task_id, sign_note="代为签收")
