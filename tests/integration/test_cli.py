"""The administrator's `flask` commands: demo seed, machine tokens, deadline arithmetic."""

from __future__ import annotations

import pytest

from app import create_app
from app.services.seed import DEMO_USERS
from tests.conftest import csrf_token_of


def _flask(app, *args: str):  # type: ignore[no-untyped-def]
    """`flask …` against this app."""
    return app.test_cli_runner().invoke(args=list(args))


@pytest.fixture
def bare_app(test_config, clock):  # type: ignore[no-untyped-def]
    """The application on a migrated database nobody has seeded yet."""
    app = create_app(test_config, clock=clock)
    yield app
    app.extensions["huiyin"].db.dispose()


def test_seed_demo_creates_the_demo_city_once_and_lists_every_account(bare_app):
    first = _flask(bare_app, "seed-demo")
    again = _flask(bare_app, "seed-demo")

    assert first.exit_code == 0, first.output
    assert "已创建演示数据" in first.output
    assert "演示数据已存在" in again.output
    for staff_no, name, _, _ in DEMO_USERS:
        assert staff_no in first.output and name in first.output
    assert "Huiyin@2026" in first.output


def test_a_machine_token_from_the_cli_authenticates_until_it_is_revoked(app, client):
    created = _flask(app, "tokens", "create", "--name", "pbx-1", "--scope", "calls")
    token = created.output.strip()
    headers = {"Authorization": f"Bearer {token}"}

    assert created.exit_code == 0, created.output
    assert client.get("/api/v1/me", headers=headers).get_json()["scope"] == "calls"

    revoked = _flask(app, "tokens", "revoke", "--name", "pbx-1")

    assert "已吊销 1 个令牌" in revoked.output
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_the_petition_notice_deadline_skips_the_national_day_holiday(app):
    result = _flask(app, "deadline", "petition.notify", "2026-09-16")

    assert result.exit_code == 0, result.output
    assert result.output.strip() == "2026-10-08"


def test_a_deadline_in_a_year_without_a_confirmed_calendar_is_refused(app):
    result = _flask(app, "deadline", "hotline.accept", "2027-03-01")

    assert result.exit_code == 1
    assert "2027 年的工作日历尚未确认" in result.output


def test_an_unknown_deadline_rule_is_named_in_the_refusal(app):
    result = _flask(app, "deadline", "no.such.rule", "2026-09-16")

    assert result.exit_code == 1
    assert "时限规则不存在:no.such.rule" in result.output



def test_a_production_install_can_create_its_first_security_administrator_who_manages_users(bare_app):
    assert _flask(bare_app, "seed-reference").exit_code == 0
    created = _flask(bare_app, "init-admin", "--role", "secadmin")
    assert created.exit_code == 0 and "secadmin(安全管理员)" in created.output, created.output
    password = created.output.split("一次性密码:")[1].split("(首次")[0].strip()

    client = bare_app.test_client()
    token = csrf_token_of(client.get("/login").get_data(as_text=True))
    client.post("/login", data={"staff_no": "secadmin", "password": password, "csrf_token": token})
    token = csrf_token_of(client.get("/password").get_data(as_text=True))
    changed = client.post("/password", data={"old_password": password, "new_password": "Anqu@Guanli-2027",
                                             "confirm_password": "Anqu@Guanli-2027", "csrf_token": token})
    assert changed.status_code in (200, 302)
    page = client.get("/admin/users")
    assert page.status_code == 200 and "用户" in page.get_data(as_text=True)


def test_a_production_install_gets_one_administrator_who_must_change_the_one_time_password(bare_app):
    assert _flask(bare_app, "seed-reference").exit_code == 0
    created = _flask(bare_app, "init-admin", "--staff-no", "admin1")
    assert created.exit_code == 0, created.output
    password = created.output.split("一次性密码:")[1].split("(首次")[0].strip()
    assert _flask(bare_app, "init-admin", "--staff-no", "admin1").exit_code != 0  # never twice

    client = bare_app.test_client()
    token = csrf_token_of(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"staff_no": "admin1", "password": password, "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"].endswith("/password")
    assert client.get("/").headers["Location"].endswith("/password")
    refused = client.post("/api/v1/auth/token", json={"staff_no": "admin1", "password": password})
    assert refused.status_code == 403, "no API token before the one-time password is changed"
