"""The unit tree (/admin/units, GET /api/v1/units): a merge moves open work and keeps history; moves
rewrite the subtree; a bad import row stores nothing; only the 系统管理员 may change it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.errors import Conflict, Invalid, NotPermitted
from app.models import AuditEvent, Case, HumanTask, Unit, User
from app.services import units
from app.services.auth import actor_for
from app.services.cases import RequesterInput, new_case_identity, new_requester
from tests.conftest import DEMO_PASSWORD, csrf_token_of


def _actor(platform, staff_no: str):  # type: ignore[no-untyped-def]
    with platform.db.reading() as session:
        return actor_for(session.scalar(select(User).where(User.staff_no == staff_no)))


def _units(platform) -> dict[str, Unit]:  # type: ignore[no-untyped-def]
    with platform.db.reading() as session:
        return {u.code: u for u in session.scalars(select(Unit))}


def _case_with_tasks(platform, unit_code: str, *, closed: bool = False) -> int:  # type: ignore[no-untyped-def]
    with platform.db.unit_of_work() as session:
        by_code = {u.code: u for u in session.scalars(select(Unit))}
        requester = new_requester(session, platform, RequesterInput(name="钱女士", phone="13900001111"))
        number, query_code = new_case_identity(session, platform)
        now = platform.clock.now()
        case = Case(number=number, query_code=query_code, kind="complaint", channel="phone", subject="占道经营",
                    content="每天傍晚有摊贩占用人行道。", requester=requester, status="handling",
                    registering_unit_id=by_code["centre"].id, lead_unit_id=by_code[unit_code].id, created_at=now,
                    closed_at=now if closed else None, assisting_units=[by_code["sthjj"]])
        session.add(case)
        session.flush()
        for n, state in enumerate(("done", "ready")):
            if closed and state == "ready":
                continue
            session.add(HumanTask(id=f"{case.id}-{n}", case_id=case.id, spec_name="handle", title="办理",
                                  role="handler", unit_id=by_code[unit_code].id, state=state, created_at=now))
        session.commit()
        return case.id


def test_a_merge_moves_open_tasks_cases_and_users_and_keeps_history(demo):
    open_case, closed_case = _case_with_tasks(demo, "cgj"), _case_with_tasks(demo, "cgj", closed=True)
    before = _units(demo)
    moved = units.merge_unit(demo, _actor(demo, "sysadmin"), before["cgj"].id, before["zjj"].id)
    assert moved["tasks"] == 1 and moved["lead_cases"] == 1 and moved["users"] == 2
    zjj, cgj = before["zjj"].id, before["cgj"].id
    with demo.db.reading() as session:
        tasks = {t.id: t.unit_id for t in session.scalars(select(HumanTask))}
        assert tasks == {f"{open_case}-0": cgj, f"{open_case}-1": zjj, f"{closed_case}-0": cgj}
        assert session.get(Case, open_case).lead_unit_id == zjj
        assert session.get(Case, closed_case).lead_unit_id == cgj  # history as it happened
        assert session.scalar(select(User).where(User.staff_no == "cg01")).unit_id == zjj
        merged = session.get(Unit, cgj)
        assert not merged.active and merged.merged_into_id == zjj
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "unit.merged")).one()
        assert event.detail["after"] == {"active": False, "merged_into": "zjj"}


def test_a_merged_assisting_unit_is_replaced_by_the_one_it_went_into(demo):
    case_id = _case_with_tasks(demo, "cgj")
    u = _units(demo)
    units.merge_unit(demo, _actor(demo, "sysadmin"), u["sthjj"].id, u["rsj"].id)
    with demo.db.reading() as session:
        assert [a.code for a in session.get(Case, case_id).assisting_units] == ["rsj"]


def test_moving_a_subtree_rewrites_its_paths_and_never_under_itself(demo):
    sysadmin, u = _actor(demo, "sysadmin"), _units(demo)
    with pytest.raises(Invalid):
        units.move_unit(demo, sysadmin, u["dcq"].id, u["dcq.hpl"].id)
    units.move_unit(demo, sysadmin, u["dcq"].id, u["xcq"].id)
    after = _units(demo)
    assert after["dcq.hpl"].path == f"{after['xcq'].path}{after['dcq'].id}/{after['dcq.hpl'].id}/"
    units.rename_unit(demo, sysadmin, u["dcq"].id, "东城片区")
    assert _units(demo)["dcq"].name == "东城片区"


def test_a_unit_with_open_work_is_not_deactivated_and_an_empty_one_is(demo):
    sysadmin, u = _actor(demo, "sysadmin"), _units(demo)
    with pytest.raises(Conflict):
        units.set_unit_active(demo, sysadmin, u["cgj"].id, False)  # it has active users
    units.set_unit_active(demo, sysadmin, u["dcq.hpl"].id, False)
    assert not _units(demo)["dcq.hpl"].active
    with pytest.raises(NotPermitted):
        units.set_unit_active(demo, _actor(demo, "secadmin"), u["dcq.jgh"].id, False)


def test_a_bad_import_row_stores_nothing_and_names_the_row(demo):
    sysadmin = _actor(demo, "sysadmin")
    rows = "编码,名称,类型,上级编码\nsw,市水务局,bureau,centre\nsw.gs,供水科,section,sw\n"
    with pytest.raises(Invalid) as e:
        units.import_units(demo, sysadmin, (rows + "bad,坏,planet,sw\n").encode())
    assert "第 4 行 类型" in e.value.message and "sw" not in _units(demo)  # row 1 is the header
    assert units.import_units(demo, sysadmin, rows.encode())["added"] == 2
    assert _units(demo)["sw.gs"].parent_id == _units(demo)["sw"].id


def test_the_units_page_and_api(client, auth, demo):
    token = client.post("/api/v1/auth/token", json={"staff_no": "cg01", "password": DEMO_PASSWORD}).get_json()["token"]
    items = client.get("/api/v1/units", headers={"Authorization": f"Bearer {token}"}).get_json()["items"]
    centre = next(i for i in items if i["name"] == "市12345热线中心")
    assert centre["parent_id"] is None and centre["kind"] == "centre"
    assert next(i for i in items if i["name"] == "市城管局")["parent_id"] == centre["id"]
    assert client.get("/api/v1/units").status_code == 401

    auth.login("secadmin")
    assert client.get("/admin/units").status_code == 403
    auth.logout()
    auth.login("sysadmin")
    page = client.get("/admin/units")
    assert page.status_code == 200 and "市城管局" in page.get_data(as_text=True)
    form = {"code": "sw", "name": "市水务局", "kind": "bureau", "parent": str(centre["id"]),
            "csrf_token": csrf_token_of(page.get_data(as_text=True))}
    assert client.post("/admin/units", data=form).status_code == 302
    again = client.post("/admin/units", data=form)
    assert again.status_code == 422 and "编码已存在" in again.get_data(as_text=True)


def test_a_merged_units_running_case_goes_on_at_the_new_unit_with_its_rules_and_deadline(demo):
    """A real process: the next steps after the merge are given to the new unit (the engine's unit variables
    follow), the 派单目录 rules naming the old unit now name the new one, the deadline period goes on."""
    from app.models import CaseDeadline, RoutingRule
    from tests.integration.test_pages import complete, ready, transferred

    u = _units(demo)
    cgj, zjj, sthjj = u["cgj"].id, u["zjj"].id, u["sthjj"].id
    with demo.db.unit_of_work() as session:
        session.add(RoutingRule(category="城市管理", area_unit_id=u["dcq"].id, lead_unit_id=cgj, mode="direct",
                                assisting_unit_ids=[sthjj, cgj], valid_from=None, valid_to=None))
        session.commit()
    running, finished = transferred(demo), _case_with_tasks(demo, "cgj", closed=True)
    with demo.db.reading() as session:
        periods = {p.rule_key: p.due_at for p in session.scalars(
            select(CaseDeadline).where(CaseDeadline.case_id == running, CaseDeadline.unit_id == cgj))}
    assert list(periods) == ["hotline.accept"]  # 签收's period at 市城管局

    moved = units.merge_unit(demo, _actor(demo, "sysadmin"), cgj, zjj)
    assert (moved["processes"], moved["rules"], moved["deadlines"]) == (1, 1, len(periods))
    assert ready(demo, running, "sign_for").unit_id == zjj
    complete(demo, "zj01", running, "sign_for")  # the next run leaves the work where it now is
    assert ready(demo, running, "handle").unit_id == zjj
    with demo.db.reading() as session:
        assert session.get(Case, running).lead_unit_id == zjj
        rule = session.scalars(select(RoutingRule)).one()
        assert (rule.lead_unit_id, rule.assisting_unit_ids) == (zjj, [sthjj])
        after = {p.rule_key: (p.unit_id, p.due_at) for p in session.scalars(
            select(CaseDeadline).where(CaseDeadline.case_id == running, CaseDeadline.rule_key.in_(periods)))}
        assert after == {k: (zjj, due) for k, due in periods.items()}  # goes on, not afresh
        assert session.get(Case, finished).lead_unit_id == cgj  # history as it happened, under the old name
        assert session.get(Unit, cgj).name == "市城管局"
