"""职责分离: whoever asked for an extension, a 不予受理 or a return never approves it, even holding both roles
(fault table row 4): 403 with a Chinese message, the refusal audited, the request still waiting for another."""

from __future__ import annotations

from lifecycle_driver import Api, unit_ids
from sqlalchemy import select

from app.models import AuditEvent, Unit
from app.services.platform import Platform
from app.services.users import add_user
from tests.conftest import DEMO_PASSWORD


def _add_user(platform: Platform, staff_no: str, unit_code: str, roles: set[str]) -> None:
    with platform.db.unit_of_work() as session:
        unit = session.scalars(select(Unit).where(Unit.code == unit_code)).one()
        add_user(session, platform, staff_no=staff_no, name="兼岗人员", unit=unit, password=DEMO_PASSWORD,
                 roles=roles, must_change_password=False)
        session.commit()


def _refusals(platform: Platform, case_id: int) -> list[tuple[str, dict]]:  # type: ignore[type-arg]
    with platform.db.reading() as session:
        return [(e.actor, e.detail) for e in session.scalars(
            select(AuditEvent).where(AuditEvent.case_id == case_id, AuditEvent.action == "task.refused_own_request"))]


def _refused(api: Api, user: str, case_id: int, spec: str, **answers) -> None:  # type: ignore[no-untyped-def]
    task = api.task(user, case_id, spec)
    assert task  # it is on their worklist: they hold the role at the task's unit
    detail = api.call(user, "GET", f"/tasks/{task['id']}").get_json()
    assert detail["may_complete"] is False
    response = api.call(user, "POST", f"/tasks/{task['id']}/complete", json={"data": answers})
    assert response.status_code == 403, response.get_json()
    assert "职责分离" in response.get_json()["message"] and "本人提出的申请" in response.get_json()["message"]
    assert spec in api.ready(case_id)


def test_a_handler_who_is_also_the_leader_may_not_approve_their_own_extension(client, demo):
    api = Api(client)
    _add_user(demo, "cg02", "cgj", {"handler", "leader"})
    case_id = int(api.register()["id"])
    api.complete("dispatch01", case_id, "accept", accept_decision="accept", kind="complaint")
    api.complete("dispatch01", case_id, "dispatch", dispatch_mode="transfer", lead_unit_id=unit_ids(demo)["cgj"],
                 directly_designated=False)
    api.complete("cg02", case_id, "sign_for", sign_note="已签收")
    due = api.task("cg02", case_id, "handle")["due_at"]
    api.complete("cg02", case_id, "handle", handle_action="extend", requested_extension_days=5,
                 extension_reason="需现场勘查")

    _refused(api, "cg02", case_id, "approve_extension", extension_decision="approve", approved_extension_days=5,
             extension_opinion="同意")

    assert api.ready(case_id) == ["approve_extension"]  # no extended 办理: the due date did not move
    assert _refusals(demo, case_id) == [("cg02", {"task": "approve_extension", "title": "延期审批",
                                                  "requested_by_task": "handle"})]
    api.complete("cgleader01", case_id, "approve_extension", extension_decision="approve",
                 approved_extension_days=5, extension_opinion="同意")
    assert api.task("cg02", case_id, "handle")["due_at"] > due


def test_a_dispatcher_who_is_also_the_leader_may_not_approve_their_own_rejection(client, demo):
    api = Api(client)
    _add_user(demo, "zx02", "centre", {"dispatcher", "leader"})
    case_id = int(api.register()["id"])
    api.complete("zx02", case_id, "accept", accept_decision="reject", kind="complaint",
                 rejection_reason="out_of_scope",
                 rejection_note="不属于受理范围")

    _refused(api, "zx02", case_id, "approve_rejection", rejection_approval="approve", approval_opinion="同意")

    assert [d["task"] for _, d in _refusals(demo, case_id)] == ["approve_rejection"]
    api.complete("leader01", case_id, "approve_rejection", rejection_approval="approve", approval_opinion="同意")
    assert api.ready(case_id) == []


def test_a_handler_who_is_also_the_dispatcher_may_not_approve_their_own_return(client, demo):
    api = Api(client)
    units = unit_ids(demo)
    _add_user(demo, "zx03", "centre", {"dispatcher", "handler"})
    case_id = int(api.register()["id"])
    api.complete("dispatch01", case_id, "accept", accept_decision="accept", kind="complaint")
    api.complete("dispatch01", case_id, "dispatch", dispatch_mode="transfer", lead_unit_id=units["centre"],
                 directly_designated=False)
    api.complete("zx03", case_id, "sign_for", sign_note="已签收")
    api.complete("zx03", case_id, "handle", handle_action="return", return_reason="不属于本单位职责")

    _refused(api, "zx03", case_id, "review_return", return_review="accept", return_review_opinion="同意")

    assert [d["requested_by_task"] for _, d in _refusals(demo, case_id)] == ["handle"]
    api.complete("dispatch01", case_id, "review_return", return_review="accept", return_review_opinion="同意改派")
    assert api.ready(case_id) == ["dispatch"]


def test_a_petition_rejection_is_not_approved_by_the_officer_who_proposed_it(client, demo):
    api = Api(client)
    _add_user(demo, "zx04", "centre", {"dispatcher", "leader"})
    case_id = int(api.register("dispatch01", channel="letter")["id"])
    api.complete("zx04", case_id, "accept", accept_decision="reject", kind="complaint",
                 rejection_reason="litigation",
                 rejection_note="涉法涉诉")

    _refused(api, "zx04", case_id, "approve_rejection", rejection_approval="approve", approval_opinion="同意")

    api.complete("leader01", case_id, "approve_rejection", rejection_approval="approve", approval_opinion="同意")


def test_an_approver_who_did_not_ask_decides_as_before_even_holding_the_askers_role(client, demo):
    api = Api(client)
    _add_user(demo, "zx05", "centre", {"dispatcher", "leader"})
    case_id = int(api.register()["id"])
    api.complete("dispatch01", case_id, "accept", accept_decision="reject", kind="complaint",
                 rejection_reason="out_of_scope",
                 rejection_note="不属于受理范围")

    assert api.task("zx05", case_id, "approve_rejection")["id"]
    api.complete("zx05", case_id, "approve_rejection", rejection_approval="refuse", approval_opinion="应受理")
    assert _refusals(demo, case_id) == []
