"""/admin/users under 三权分立: the 安全管理员 creates, resets, unlocks, deactivates; the 系统管理员 is refused;
the 审计员 reads and changes nothing; every change is audited with before/after."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.errors import Invalid, NotPermitted
from app.models import ApiToken, AuditEvent, User
from app.services import users
from app.services.auth import actor_for
from tests.conftest import DEMO_PASSWORD, csrf_token_of


def _actor(platform, staff_no: str):  # type: ignore[no-untyped-def]
    with platform.db.reading() as session:
        return actor_for(session.scalar(select(User).where(User.staff_no == staff_no)))


def _user(platform, staff_no: str) -> User:  # type: ignore[no-untyped-def]
    with platform.db.reading() as session:
        return session.scalar(select(User).where(User.staff_no == staff_no))


def _last_audit(platform, action: str) -> AuditEvent:  # type: ignore[no-untyped-def]
    with platform.db.reading() as session:
        return session.scalars(select(AuditEvent).where(AuditEvent.action == action)
                               .order_by(AuditEvent.id.desc())).first()


def _post(client, path: str, data: dict[str, object], page: str = "/admin/users"):  # type: ignore[no-untyped-def]
    token = csrf_token_of(client.get(page).get_data(as_text=True))
    return client.post(path, data={**data, "csrf_token": token})


def test_the_security_admin_creates_a_handler_who_must_change_the_one_time_password(app, client, auth, demo):
    auth.login("secadmin")
    page = _post(client, "/admin/users", {"staff_no": "cg02", "name": "黄新", "unit": "cgj", "roles": ["handler"]})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    password = re.search(r"<td>cg02</td><td><code>([^<]+)</code>", html).group(1)  # type: ignore[union-attr]
    assert _user(demo, "cg02").unit.code == "cgj" and _user(demo, "cg02").must_change_password
    event = _last_audit(demo, "user.created")
    assert event.detail["after"] == {"name": "黄新", "unit": "cgj", "roles": ["handler"]}
    assert password not in str(event.detail)
    auth.logout()

    auth.login("cg02", password)
    assert client.get("/").headers["Location"].endswith("/password")  # forced change at first sign-in


def test_a_bad_user_form_answers_422_naming_the_field_and_the_admin_role_conflict(client, auth, demo):
    auth.login("secadmin")
    page = _post(client, "/admin/users", {"staff_no": "x9", "name": "某", "unit": "cgj",
                                          "roles": ["sysadmin", "auditor"]})
    assert page.status_code == 422 and "三权分立" in page.get_data(as_text=True)
    page = _post(client, "/admin/users", {"staff_no": "agent01", "name": "某", "unit": "nowhere", "roles": ["agent"]})
    html = page.get_data(as_text=True)
    assert page.status_code == 422 and "工号已存在" in html and "单位不存在" in html
    assert _user(demo, "x9") is None


def test_the_system_admin_cannot_open_the_user_pages_and_the_auditor_changes_nothing(client, auth, demo):
    auth.login("sysadmin")
    assert client.get("/admin/users").status_code == 403
    token = csrf_token_of(client.get("/admin/units").get_data(as_text=True))
    assert client.post("/admin/users", data={"staff_no": "s2", "name": "某", "unit": "cgj", "roles": ["agent"],
                                             "csrf_token": token}).status_code == 403
    auth.logout()
    auth.login("auditor")
    page = client.get("/admin/users")
    assert page.status_code == 200 and "agent01" in page.get_data(as_text=True)
    assert "新建用户" not in page.get_data(as_text=True)
    token = csrf_token_of(page.get_data(as_text=True))
    cg01 = _user(demo, "cg01").id
    assert client.post(f"/admin/users/{cg01}/deactivate", data={"csrf_token": token}).status_code == 403
    assert _user(demo, "cg01").active
    with pytest.raises(NotPermitted):
        users.reset_password(demo, _actor(demo, "sysadmin"), cg01)


def test_deactivated_users_stay_readable_and_reset_unlock_and_end_sign_ins_are_audited(client, demo, clock):
    secadmin, cg01 = _actor(demo, "secadmin"), _user(demo, "cg01").id
    client.post("/api/v1/auth/token", json={"staff_no": "cg01", "password": DEMO_PASSWORD})
    assert users.end_user_sign_ins(demo, secadmin, cg01) == 1
    with demo.db.unit_of_work() as session:
        user = session.get(User, cg01)
        user.failed_logins, user.locked_until = 5, clock.now() + timedelta(minutes=30)
        session.commit()
    assert any(u.locked for u in users.list_users(demo, secadmin) if u.staff_no == "cg01")
    users.unlock(demo, secadmin, cg01)
    assert _user(demo, "cg01").locked_until is None
    assert _last_audit(demo, "user.unlocked").detail["after"] == {"failed_logins": 0, "locked_until": None}
    assert _last_audit(demo, "user.unlocked").detail["before"]["failed_logins"] == 5

    once = users.reset_password(demo, secadmin, cg01)
    assert _user(demo, "cg01").must_change_password and demo.hasher.verify(_user(demo, "cg01").password_hash, once)
    users.set_active(demo, secadmin, cg01, False)
    listed = {u.staff_no: u for u in users.list_users(demo, secadmin)}
    assert listed["cg01"].active is False  # kept, never deleted
    with demo.db.reading() as session:
        assert all(t.revoked_at is not None for t in session.scalars(select(ApiToken)))
    assert _last_audit(demo, "user.deactivated").detail["after"] == {"active": False}


def test_a_bad_csv_row_stores_nothing_and_names_the_row(demo):
    secadmin = _actor(demo, "secadmin")
    good = "工号,姓名,单位编码,角色\nimp01,甲,cgj,handler\nimp02,乙,zjj,handler|leader\n"
    with pytest.raises(Invalid) as e:
        users.import_users(demo, secadmin, (good + "imp03,丙,nowhere,handler\n").encode())
    assert "第 4 行 单位编码" in e.value.message  # row 1 is the header
    assert _user(demo, "imp01") is None
    issued = users.import_users(demo, secadmin, good.encode()).issued
    assert sorted(issued) == ["imp01", "imp02"] and _user(demo, "imp02").role_codes == {"handler", "leader"}
