"""Channel keys: the 系统管理员 gives each integration a key; the key fixes the channel of what it submits, goes
through the one intake, is rate-limited, audited on every use, and refused on the request after it is revoked."""

from __future__ import annotations

from sqlalchemy import func, select

from app import create_app
from app.models import AuditEvent, Case, ChannelKey
from tests.conftest import Auth, csrf_token_of
from tests.integration.channel_driver import channel_key, flask_command

APPEAL = {"kind": "complaint", "category": "城乡建设/供水", "subject": "小区停水三天",
          "content": "幸福里小区 3 号楼停水三天,无人通知。", "requester": {"name": "张三", "phone": "13800138000"}}


def _flask(app, *args: str):  # type: ignore[no-untyped-def]
    return flask_command(app, *args)


def _key(app, name: str = "wechat-mini", channel: str = "wechat") -> str:  # type: ignore[no-untyped-def]
    return channel_key(app, name, channel)


def _submit(client, key: str | None, body=None, **headers: str):  # type: ignore[no-untyped-def]
    sent = {"X-Channel-Key": key} if key is not None else {}
    return client.post("/api/v1/channel/cases", json=APPEAL if body is None else body, headers={**sent, **headers})


def _actions(platform, action: str) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    with platform.db.reading() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def test_a_key_from_the_cli_registers_a_case_on_its_own_channel(app, client, demo):
    key = _key(app)

    answer = _submit(client, key)

    assert answer.status_code == 201, answer.get_json()
    body = answer.get_json()
    assert body["number"] and body["query_code"] and body["token"].startswith("t_")
    with demo.db.reading() as session:
        case = session.get_one(Case, body["id"])
        assert case.channel == "wechat"
        stored = session.scalar(select(ChannelKey.key_hash).where(ChannelKey.name == "wechat-mini"))
    assert stored and key not in stored  # kept only as its keyed hash
    registered = _actions(demo, "case.registered")[-1]
    assert registered.actor == "channel:wechat-mini" and registered.detail["channel"] == "wechat"
    assert [e.detail["use"] for e in _actions(demo, "channel_key.used")] == ["submit"]


def test_the_key_fixes_the_channel_a_body_naming_another_is_refused(app, client, demo):
    key = _key(app)

    other = _submit(client, key, {**APPEAL, "channel": "phone"})
    same = _submit(client, key, {**APPEAL, "channel": "wechat"})

    assert other.status_code == 422
    assert "渠道密钥" in other.get_json()["details"]["channel"]
    assert same.status_code == 201


def test_a_channel_submission_meets_the_same_validator_as_every_intake(app, client):
    key = _key(app)

    answer = _submit(client, key, {**APPEAL, "requester": {"name": "张三", "phone": "12345"}, "status": "closed"})

    assert answer.status_code == 422
    details = answer.get_json()["details"]
    assert "requester.phone" in details and details["status"] == "未知字段"


def test_a_retry_with_the_same_idempotency_key_answers_the_first_case(app, client, demo):
    key = _key(app)

    first = _submit(client, key, **{"Idempotency-Key": "wx-20261125-0001"})
    again = _submit(client, key, **{"Idempotency-Key": "wx-20261125-0001"})
    changed = _submit(client, key, {**APPEAL, "subject": "另一件事"}, **{"Idempotency-Key": "wx-20261125-0001"})

    assert first.status_code == again.status_code == 201
    assert again.get_json()["id"] == first.get_json()["id"]
    assert again.get_json()["token"] == first.get_json()["token"]
    assert changed.status_code == 422
    with demo.db.reading() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 1


def test_a_revoked_key_is_refused_on_its_next_request_and_the_try_is_audited(app, client, demo):
    key = _key(app)
    assert _submit(client, key).status_code == 201

    revoked = _flask(app, "channels", "revoke", "--name", "wechat-mini")
    answer = _submit(client, key)

    assert revoked.exit_code == 0 and "已吊销" in revoked.output
    assert answer.status_code == 403
    assert answer.get_json()["message"] == "渠道密钥无效或已吊销"
    assert [e.detail["reason"] for e in _actions(demo, "channel_key.refused")] == ["revoked"]
    assert len(_actions(demo, "channel_key.revoked")) == 1
    assert "已吊销" in _flask(app, "channels", "list").output


def test_no_key_is_401_and_an_unknown_key_403_and_nothing_is_registered(app, client, demo):
    _key(app)

    assert _submit(client, None).status_code == 401
    assert _submit(client, "hyc_" + "x" * 43).status_code == 403
    with demo.db.reading() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 0


def test_a_key_is_only_for_a_channel_of_the_dictionary_and_a_name_once(app):
    unknown = _flask(app, "channels", "create", "--name", "x", "--channel", "carrier-pigeon")
    _key(app)
    twice = _flask(app, "channels", "create", "--name", "wechat-mini", "--channel", "app")

    assert unknown.exit_code != 0 and "来源渠道无效" in unknown.output
    assert twice.exit_code != 0 and "名称已被使用" in twice.output


def test_requests_over_the_keys_limit_get_429_with_retry_after(test_config, clock, demo):
    app = create_app({**test_config, "RATE_LIMIT_CHANNEL_KEY": "2/60"}, clock=clock)
    client = app.test_client()
    key = _key(app)

    statuses = [_submit(client, key, {**APPEAL, "subject": f"停水 {i}"}).status_code for i in range(3)]
    refused = _submit(client, key)

    assert statuses == [201, 201, 429]
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert "该渠道密钥的请求过于频繁" in refused.get_json()["message"]
    app.extensions["huiyin"].db.dispose()


def test_the_limit_holds_across_two_app_instances_sharing_the_database(test_config, clock, demo):
    config = {**test_config, "RATE_LIMIT_CHANNEL_KEY": "2/60"}
    one, two = create_app(config, clock=clock), create_app(config, clock=clock)
    key = _key(one)

    statuses = [_submit(app.test_client(), key, {**APPEAL, "subject": f"停水 {i}"}).status_code
                for i, app in enumerate((one, two, two))]

    assert statuses == [201, 201, 429]
    for app in (one, two):
        app.extensions["huiyin"].db.dispose()


def test_the_system_administrator_creates_sees_once_and_revokes_a_key_on_the_admin_page(client, auth: Auth, demo):
    auth.login("sysadmin")
    page = client.get("/admin/channels").get_data(as_text=True)

    created = client.post("/admin/channels", data={"name": "mayor-mailbox", "channel": "mailbox",
                                                   "csrf_token": csrf_token_of(page)})
    html = created.get_data(as_text=True)
    key = html.split('<code id="key-value">')[1].split("</code>")[0]

    assert created.status_code == 200 and key.startswith("hyc_")
    assert created.headers["Cache-Control"] == "no-store"
    listed = client.get("/admin/channels").get_data(as_text=True)
    assert "mayor-mailbox" in listed and "市长信箱" in listed and key not in listed
    with demo.db.reading() as session:
        key_id = session.scalar(select(ChannelKey.id).where(ChannelKey.name == "mayor-mailbox"))
    assert _submit(client, key).status_code == 201
    revoked = client.post(f"/admin/channels/{key_id}/revoke", data={"csrf_token": csrf_token_of(listed)},
                          follow_redirects=True)
    assert "已吊销渠道密钥 mayor-mailbox" in revoked.get_data(as_text=True)
    assert _submit(client, key).status_code == 403


def test_a_bad_name_is_shown_on_the_admin_page_naming_the_field(client, auth: Auth):
    auth.login("sysadmin")
    page = client.get("/admin/channels").get_data(as_text=True)

    answer = client.post("/admin/channels", data={"name": "", "channel": "wechat", "csrf_token": csrf_token_of(page)})

    assert answer.status_code == 422
    assert "名称必填" in answer.get_data(as_text=True)


def test_only_the_system_administrator_manages_channel_keys(client, auth: Auth):
    auth.login("agent01")

    assert client.get("/admin/channels").status_code == 403
