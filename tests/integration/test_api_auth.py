"""Bearer tokens for API clients, and errors that answer in Chinese JSON (or a Chinese page) without a stack trace."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import select

from app import create_app
from app.models import ApiToken, Unit
from app.services.auth import change_password, sign_in
from app.services.users import add_user
from tests.conftest import DEMO_PASSWORD, FAST_HASH, TEST_KEYS, Auth


def _issue(client, staff_no: str = "cg01", password: str = DEMO_PASSWORD):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/auth/token", json={"staff_no": staff_no, "password": password})


def _me(client, token: str):  # type: ignore[no-untyped-def]
    return client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})


def _has_no_internals(body: str) -> bool:
    return not any(word in body for word in ("Traceback", "File \"", "sqlite", "psycopg", "SELECT", "Error"))


def test_good_credentials_get_a_bearer_token_that_acts_as_the_user(client):
    response = _issue(client)

    assert response.status_code == 201
    body = response.get_json()
    assert body["token_type"] == "Bearer"
    assert _me(client, body["token"]).get_json() == {"staff_no": "cg01", "name": "刘志强",
                                                      "roles": ["handler", "knowledge_editor"],
                                                    "scope": "user"}


def test_a_user_who_must_change_their_password_gets_no_api_token_until_they_have(client, demo):
    with demo.db.unit_of_work() as session:
        unit = session.scalars(select(Unit).where(Unit.code == "centre")).one()
        add_user(session, demo, staff_no="admin2", name="钱管理", unit=unit, password="OneTime#2026",
                 roles={"sysadmin"}, must_change_password=True)
        session.commit()

    refused = _issue(client, "admin2", "OneTime#2026")

    assert refused.status_code in (403, 422), refused.get_json()
    assert "token" not in refused.get_json()
    _, actor = sign_in(demo, "admin2", "OneTime#2026")
    change_password(demo, actor, "OneTime#2026", "Chosen&Well9")
    assert _issue(client, "admin2", "Chosen&Well9").status_code == 201


def test_an_expired_password_gets_no_api_token(client, demo, clock):
    clock.advance(days=demo.settings.PASSWORD_MAX_AGE_DAYS + 1)

    refused = _issue(client, "cg01")

    assert refused.status_code in (403, 422), refused.get_json()
    assert "token" not in refused.get_json()


def test_a_token_request_without_a_staff_number_says_what_is_missing_in_chinese(client):
    response = client.post("/api/v1/auth/token", json={"password": DEMO_PASSWORD})

    assert response.status_code == 422
    assert response.get_json() == {"code": "invalid", "message": "提交的内容有误", "details": {"staff_no": "必填项"}}


def test_a_wrong_password_and_an_unknown_user_get_the_same_refusal_from_the_api(client):
    wrong_password = _issue(client, "cg01", "Wrong@2026x")
    unknown_user = _issue(client, "nobody99", "Wrong@2026x")

    assert wrong_password.status_code == unknown_user.status_code == 422
    assert wrong_password.get_json() == unknown_user.get_json()
    assert wrong_password.get_json()["message"] == "工号或密码错误"


def test_the_database_keeps_only_the_sha256_of_a_token(client, demo):
    token = _issue(client).get_json()["token"]

    with demo.db.reading() as session:
        row = session.scalars(select(ApiToken)).one()
        stored = [getattr(row, c.key) for c in ApiToken.__table__.columns]

    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert not any(token in str(value) for value in stored)


def test_a_token_works_for_twelve_hours_and_then_the_api_answers_401_in_json(client, clock):
    token = _issue(client).get_json()["token"]

    clock.advance(hours=11, minutes=50)
    assert _me(client, token).status_code == 200

    clock.advance(hours=1)
    response = _me(client, token)
    assert response.status_code == 401
    assert response.get_json() == {"code": "not_signed_in", "message": "令牌无效或已过期", "details": {}}
    assert client.get("/api/v1/me").get_json()["code"] == "not_signed_in"  # nor without any token


def test_an_api_path_that_does_not_exist_answers_404_in_json(client):
    response = client.get("/api/v1/cases/abc")

    assert response.status_code == 404
    assert response.get_json() == {"code": "http_404", "message": "页面或记录不存在", "details": {}}


def test_an_unknown_page_shows_a_chinese_404_page(client, auth):
    auth.login("cg01")

    response = client.get("/no-such-page")

    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "页面或记录不存在" in response.get_data(as_text=True)


@pytest.fixture
def broken_app(tmp_path: Path, clock):  # type: ignore[no-untyped-def]
    """The application on a database file nobody migrated: every query fails inside the server."""
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'unmigrated.db'}", "TESTING": True,
                      "INSTANCE_PATH": str(tmp_path / "instance"), **TEST_KEYS, **FAST_HASH}, clock=clock)
    yield app
    app.extensions["huiyin"].db.dispose()


def test_a_failure_inside_the_server_answers_the_api_with_json_and_no_stack_trace(broken_app):
    response = _issue(broken_app.test_client())

    assert response.status_code == 500
    assert response.get_json()["code"] == "internal"
    assert _has_no_internals(response.get_data(as_text=True))


def test_a_failure_inside_the_server_shows_the_browser_a_chinese_page_and_no_stack_trace(broken_app):
    response = Auth(broken_app.test_client()).login("cg01")

    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "系统内部错误" in body
    assert _has_no_internals(body)


def test_a_token_stops_working_once_its_user_must_change_the_password(client, demo):
    from app.models import User

    token = client.post("/api/v1/auth/token", json={"staff_no": "cg01", "password": "Huiyin@2026"}).get_json()
    headers = {"Authorization": f"Bearer {token['token']}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    with demo.db.unit_of_work() as session:  # e.g. a security administrator forces a reset
        session.query(User).filter_by(staff_no="cg01").one().must_change_password = True
        session.commit()
    refused = client.get("/api/v1/me", headers=headers)
    assert refused.status_code == 403 and "修改密码" in refused.get_json()["message"]


def _actor(platform, staff_no: str):  # type: ignore[no-untyped-def]
    from app.models import User
    from app.services.auth import actor_for

    with platform.db.reading() as session:
        return actor_for(session.scalar(select(User).where(User.staff_no == staff_no)))


def test_a_password_change_ends_every_token_of_the_user_and_only_theirs(client, demo):
    mine, theirs = _issue(client).get_json()["token"], _issue(client, "zj01").get_json()["token"]
    _, actor = sign_in(demo, "cg01", DEMO_PASSWORD)

    change_password(demo, actor, DEMO_PASSWORD, "Moved&On2026")

    assert _me(client, mine).status_code == 401
    assert _me(client, theirs).status_code == 200


def test_five_wrong_passwords_lock_the_account_and_end_its_tokens_but_not_its_web_session(client, auth):
    token = _issue(client).get_json()["token"]
    auth.login("cg01")
    for _ in range(5):
        _issue(client, "cg01", "Wrong@2026x")

    assert _me(client, token).status_code == 401
    assert client.get("/").status_code == 200  # five guesses do not throw an officer off their seat


def test_deactivating_an_account_ends_its_tokens_and_sessions(app, client, demo):
    from app.services.users import set_active

    token = _issue(client).get_json()["token"]
    browser = Auth(app.test_client())
    browser.login("cg01")
    user_id = _actor(demo, "cg01").user_id

    set_active(demo, _actor(demo, "secadmin"), user_id, False)

    assert _me(client, token).status_code == 401
    assert browser.client.get("/").status_code == 302
    with demo.db.reading() as session:
        assert session.scalars(select(ApiToken)).one().revoked_reason == "deactivated"


def test_only_a_security_administrator_deactivates_an_account(demo):
    from app.errors import NotPermitted
    from app.services.users import set_active

    with pytest.raises(NotPermitted):
        set_active(demo, _actor(demo, "sysadmin"), _actor(demo, "cg01").user_id, False)


def test_signing_out_of_the_browser_ends_that_session_only_and_leaves_api_tokens_alone(client, auth):
    token = _issue(client).get_json()["token"]
    auth.login("cg01")

    auth.logout()

    assert client.get("/").status_code == 302
    assert _me(client, token).status_code == 200  # a token is its own credential, asked for with the password


def test_sign_out_everywhere_ends_every_session_and_token_this_one_included(app, client):
    first, second = _issue(client).get_json()["token"], _issue(client).get_json()["token"]
    browser = Auth(app.test_client())
    browser.login("cg01")

    response = client.post("/api/v1/me/sign-out-everywhere", headers={"Authorization": f"Bearer {first}"})

    assert response.status_code == 200 and response.get_json() == {"tokens_revoked": 2}
    assert _me(client, first).status_code == _me(client, second).status_code == 401
    assert browser.client.get("/").status_code == 302


def test_a_user_lists_their_own_tokens_and_revokes_one_but_not_anothers(client):
    old, new = _issue(client).get_json()["token"], _issue(client).get_json()["token"]
    other = _issue(client, "zj01").get_json()["token"]
    headers = {"Authorization": f"Bearer {new}"}

    items = client.get("/api/v1/me/tokens", headers=headers).get_json()["items"]
    assert [t["active"] for t in items] == [True, True]
    assert all(old not in str(t) and new not in str(t) for t in items)  # the secrets are never shown
    assert items[0]["ip"] == "127.0.0.1" and items[0]["last_used_at"] is not None

    others = client.get("/api/v1/me/tokens", headers={"Authorization": f"Bearer {other}"}).get_json()["items"]
    assert client.delete(f"/api/v1/me/tokens/{others[0]['id']}", headers=headers).status_code == 404
    assert client.delete("/api/v1/me/tokens/99999999999999999999", headers=headers).status_code == 404
    assert client.delete(f"/api/v1/me/tokens/{items[1]['id']}", headers=headers).status_code == 204

    assert _me(client, old).status_code == 401
    assert _me(client, other).status_code == 200
    after = client.get("/api/v1/me/tokens", headers=headers).get_json()["items"]
    assert [(t["active"], t["revoked_reason"], t["status"]) for t in after] == [(True, None, "有效"),
                                                                             (False, "revoked", "已撤销")]


def test_the_password_page_lists_the_users_tokens_and_revokes_one_and_signs_out_everywhere(client, auth):
    from tests.conftest import csrf_token_of

    token = _issue(client).get_json()["token"]
    auth.login("cg01")
    page = client.get("/password").get_data(as_text=True)
    assert "我的 API 令牌" in page and "有效" in page and token not in page
    listed = client.get("/api/v1/me/tokens", headers={"Authorization": f"Bearer {token}"}).get_json()["items"]
    token_id = listed[0]["id"]

    revoked = client.post(f"/password/tokens/{token_id}/revoke", data={"csrf_token": csrf_token_of(page)})
    assert revoked.status_code == 302
    assert _me(client, token).status_code == 401
    assert "已撤销" in client.get("/password").get_data(as_text=True)

    page = client.get("/password").get_data(as_text=True)
    out = client.post("/password/sign-out-everywhere", data={"csrf_token": csrf_token_of(page)})
    assert out.headers["Location"].startswith("/login")
    assert client.get("/").status_code == 302


def test_the_openapi_document_describes_the_token_endpoints(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]

    assert set(paths["/api/v1/me/tokens"]) == {"get"}
    assert "204" in paths["/api/v1/me/tokens/{id}"]["delete"]["responses"]
    assert set(paths["/api/v1/me/sign-out-everywhere"]) == {"post"}
    assert "Retry-After" in paths["/api/v1/auth/token"]["post"]["responses"]["429"]["headers"]
