"""Signing in with 工号 and password: one answer for every bad credential, lockout, forced and expiring passwords."""

from __future__ import annotations

import re

from sqlalchemy import select

from app import create_app
from app.models import AuditEvent, Unit, User
from app.services.users import add_user
from tests.conftest import DEMO_PASSWORD, Auth, csrf_token_of

WRONG = "Wrong@2026x"


def _error_of(response) -> str:  # type: ignore[no-untyped-def]
    """The message the sign-in page shows above the form."""
    match = re.search(r'<p class="error" role="alert">([^<]*)</p>', response.get_data(as_text=True))
    return match.group(1) if match else ""


def _field_errors(response) -> list[str]:  # type: ignore[no-untyped-def]
    return re.findall(r'<div class="field-error" role="alert">([^<]*)</div>', response.get_data(as_text=True))


def _change_password(client, old: str, new: str, confirm: str | None = None):  # type: ignore[no-untyped-def]
    token = csrf_token_of(client.get("/password").get_data(as_text=True))
    return client.post("/password", data={"old_password": old, "new_password": new,
                                          "confirm_password": new if confirm is None else confirm,
                                          "csrf_token": token})


def _stored(platform, staff_no: str, column):  # type: ignore[no-untyped-def]
    """One column of the user's row as the database holds it now."""
    with platform.db.reading() as session:
        return session.scalar(select(column).where(User.staff_no == staff_no))


def _actions(platform, actor: str) -> list[str]:  # type: ignore[no-untyped-def]
    with platform.db.reading() as session:
        return list(session.scalars(select(AuditEvent.action).where(AuditEvent.actor == actor)
                                    .order_by(AuditEvent.id)))


def test_a_user_with_the_right_password_is_signed_in_and_sees_the_workstation(client, auth):
    response = auth.login("dispatch01")

    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    page = client.get("/")
    assert page.status_code == 200
    assert "李建国" in page.get_data(as_text=True)


def test_a_wrong_password_and_an_unknown_staff_number_get_the_same_answer(auth):
    wrong_password = auth.login("cg01", WRONG)
    unknown_user = auth.login("nobody99", WRONG)

    assert wrong_password.status_code == unknown_user.status_code == 401
    assert _error_of(wrong_password) == _error_of(unknown_user) == "工号或密码错误"


def test_five_failures_across_two_app_instances_lock_the_account_for_thirty_minutes(app, test_config, clock, demo):
    other_app = create_app(test_config, clock=clock)
    try:
        browsers = [Auth(app.test_client()), Auth(other_app.test_client())]
        for attempt in range(4):
            assert _error_of(browsers[attempt % 2].login("cg01", WRONG)) == "工号或密码错误"
        assert _stored(demo, "cg01", User.failed_logins) == 4

        browsers[0].login("cg01", WRONG)
        refused = browsers[1].login("cg01", DEMO_PASSWORD)
        assert refused.status_code == 401
        assert _error_of(refused).startswith("账号已锁定")
        assert "09:30" in _error_of(refused)

        clock.advance(minutes=29)
        assert _error_of(browsers[0].login("cg01", DEMO_PASSWORD)).startswith("账号已锁定")
        # A wrong password while locked answers like an unknown 工号: locking cannot reveal an account.
        assert _error_of(browsers[0].login("cg01", WRONG)) == _error_of(browsers[0].login("nobody99", WRONG))

        clock.advance(minutes=2)
        assert browsers[0].login("cg01", DEMO_PASSWORD).status_code == 302
        assert browsers[0].client.get("/").status_code == 200
    finally:
        other_app.extensions["huiyin"].db.dispose()


def test_failed_and_locking_sign_ins_are_audited(auth, demo):
    for _ in range(5):
        auth.login("cg01", WRONG)
    auth.login("cg01", DEMO_PASSWORD)

    actions = _actions(demo, "cg01")
    assert actions.count("login.failed") == 5
    assert actions.count("login.locked") == 1
    assert "login.ok" not in actions
    assert actions[-1] == "login.refused_locked"


def test_a_user_who_must_change_their_password_sees_only_the_password_page_until_they_do(client, auth, demo):
    with demo.db.unit_of_work() as session:
        unit = session.scalars(select(Unit).where(Unit.code == "cgj")).one()
        add_user(session, demo, staff_no="cg02", name="孙新人", unit=unit, password="Initial#2026",
                 roles={"handler"}, must_change_password=True)
        session.commit()

    assert auth.login("cg02", "Initial#2026").headers["Location"] == "/password"
    assert client.get("/").headers["Location"] == "/password"
    assert "请先修改密码" in client.get("/password").get_data(as_text=True)

    assert _change_password(client, "Initial#2026", "Fresh&Start9").headers["Location"] == "/"
    assert client.get("/").status_code == 200
    assert _stored(demo, "cg02", User.must_change_password) is False


def test_an_expired_password_must_be_changed_before_anything_else(client, auth, demo, clock):
    clock.advance(days=demo.settings.PASSWORD_MAX_AGE_DAYS + 1)

    assert auth.login("cg01").headers["Location"] == "/password"
    assert client.get("/").headers["Location"] == "/password"

    _change_password(client, DEMO_PASSWORD, "Renewed&Key9")
    assert client.get("/").status_code == 200


def test_a_new_password_against_the_policy_is_refused_with_the_reason_and_the_old_one_stays(client, auth):
    auth.login("cg01")
    refusals = {
        "Ab1!x": "密码至少需要8位",
        "onlylower123": "密码需包含小写字母、大写字母、数字、符号中的至少3类",
        "My-CG01-Pass": "密码不能包含工号",
    }

    for weak, reason in refusals.items():
        response = _change_password(client, DEMO_PASSWORD, weak)
        assert (response.status_code, _field_errors(response)) == (422, [reason]), weak

    auth.logout()
    assert auth.login("cg01", DEMO_PASSWORD).status_code == 302


def test_after_a_change_only_the_new_password_signs_in(client, auth):
    auth.login("cg01")
    assert _change_password(client, DEMO_PASSWORD, "Brand&New2026").status_code == 302
    auth.logout()

    assert _error_of(auth.login("cg01", DEMO_PASSWORD)) == "工号或密码错误"
    assert auth.login("cg01", "Brand&New2026").status_code == 302


def test_the_documented_demo_password_is_refused_as_a_new_password_whatever_its_case(client, auth, demo):
    with demo.db.unit_of_work() as session:
        unit = session.scalars(select(Unit).where(Unit.code == "cgj")).one()
        add_user(session, demo, staff_no="cg03", name="周新人", unit=unit, password="Initial#2026",
                 roles={"handler"}, must_change_password=True)
        session.commit()
    auth.login("cg03", "Initial#2026")

    for demo_default in (DEMO_PASSWORD, "HUIYIN@2026"):
        response = _change_password(client, "Initial#2026", demo_default)
        assert (response.status_code, _field_errors(response)) == (422, ["不能使用演示或公开的默认密码"])

    assert client.get("/").headers["Location"] == "/password"  # still must change it


def test_none_of_the_last_five_passwords_may_come_back(client, auth):
    auth.login("cg01")
    history = [DEMO_PASSWORD, "First&Pass01", "Second&Pass02", "Third&Pass03", "Fourth&Pass04"]
    for old, new in zip(history, history[1:], strict=False):
        assert _change_password(client, old, new).status_code == 302, new

    for earlier in history[1:4]:  # the demo default is refused for its own reason
        response = _change_password(client, "Fourth&Pass04", earlier)
        assert response.status_code == 422, earlier
        assert _field_errors(response) == ["新密码不能与最近5次使用过的密码相同"], earlier
    assert _field_errors(_change_password(client, "Fourth&Pass04", "Fourth&Pass04")) == ["新密码不能与原密码相同"]

    assert _change_password(client, "Fourth&Pass04", "Fifth&Pass05").status_code == 302
    assert _change_password(client, "Fifth&Pass05", "First&Pass01").status_code == 422  # 5th most recent
    assert _change_password(client, "Fifth&Pass05", "Sixth&Pass06").status_code == 302
    # Now the last five are Second … Sixth: the first chosen one has left the window and may come back.
    assert _change_password(client, "Sixth&Pass06", "First&Pass01").status_code == 302


def test_only_the_last_n_hashes_are_kept_and_n_is_a_setting(test_config, clock, demo):
    from app.models import PasswordHistory

    strict = create_app({**test_config, "PASSWORD_HISTORY": 2}, clock=clock)
    try:
        browser = Auth(strict.test_client())
        browser.login("cg01")
        assert _change_password(browser.client, DEMO_PASSWORD, "First&Pass01").status_code == 302
        assert _change_password(browser.client, "First&Pass01", "Second&Pass02").status_code == 302
        # With N = 2 only the current and the one before are refused; the one before that is allowed.
        assert _field_errors(_change_password(browser.client, "Second&Pass02", "First&Pass01")) == \
            ["新密码不能与最近2次使用过的密码相同"]
        assert _change_password(browser.client, "Second&Pass02", "Third&Pass03").status_code == 302
        assert _change_password(browser.client, "Third&Pass03", "First&Pass01").status_code == 302
    finally:
        strict.extensions["huiyin"].db.dispose()
    with demo.db.reading() as session:
        kept = session.scalars(select(PasswordHistory.password_hash)).all()
    assert len(kept) == 1 and all(h.startswith("$argon2id$") for h in kept)
