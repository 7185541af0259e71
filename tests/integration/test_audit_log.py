"""The auditor (审计员) reads the audit log, filtered and paged, and verifies the chain; nobody else reads it."""

from __future__ import annotations

import pytest

from app.services.audit import masked_detail
from tests.conftest import DEMO_PASSWORD, Auth, csrf_token_of
from tests.integration.test_audit import unguarded_log  # noqa: F401  (the fixture)

PHONE = "13812345678"
ID_NUMBER = "11010519491231002X"


def _token(client, staff_no: str) -> str:  # type: ignore[no-untyped-def]
    return client.post("/api/v1/auth/token", json={"staff_no": staff_no, "password": DEMO_PASSWORD}).get_json()["token"]


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _register(client, subject: str = "夜间施工噪声") -> dict:  # type: ignore[no-untyped-def,type-arg]
    body = {"kind": "complaint", "channel": "phone", "subject": subject, "content": "工地每晚施工到凌晨。",
            "requester": {"name": "孙先生", "phone": PHONE, "id_number": ID_NUMBER, "address": "东城区和平里七区"}}
    response = client.post("/api/v1/cases", json=body, headers=_bearer(_token(client, "agent01")))
    assert response.status_code == 201, response.get_json()
    return response.get_json()  # type: ignore[no-any-return]


def _events(client, token: str, **query: str):  # type: ignore[no-untyped-def]
    return client.get("/api/v1/audit-events", query_string=query, headers=_bearer(token))


def test_the_auditor_filters_the_log_by_actor_action_case_and_time(client, clock):
    first = _register(client)
    clock.advance(days=2)
    second = _register(client, "路灯不亮")
    token = _token(client, "auditor")

    everything = _events(client, token).get_json()["items"]
    by_case = _events(client, token, case_id=second["number"]).get_json()["items"]
    by_id = _events(client, token, case_id=str(first["id"])).get_json()["items"]
    by_actor = _events(client, token, actor="agent01").get_json()["items"]
    registered = _events(client, token, action="case.registered").get_json()["items"]
    later = _events(client, token, action="case.registered", since=f"{clock.now():%Y-%m-%d}").get_json()["items"]
    earlier = _events(client, token, action="case.registered", until="2026-11-25").get_json()["items"]

    assert [e["id"] for e in everything] == sorted((e["id"] for e in everything), reverse=True)  # newest first
    assert {e["case_id"] for e in by_case} == {second["id"]}
    assert {e["case_number"] for e in by_id} == {first["number"]}
    assert "case.registered" in {e["action"] for e in by_id}
    assert {e["actor"] for e in by_actor} == {"agent01"}
    assert {e["action"] for e in by_actor} >= {"token.issued", "case.registered"}
    assert [e["case_id"] for e in registered] == [second["id"], first["id"]]
    assert [e["case_id"] for e in later] == [second["id"]]
    assert [e["case_id"] for e in earlier] == [first["id"]]
    assert _events(client, token, case_id="12345-19990101-000001").get_json()["items"] == []


def test_the_log_pages_back_by_record_number_without_gaps_or_repeats(client):
    for i in range(3):
        _register(client, f"第{i}件")
    token = _token(client, "auditor")
    whole = [e["id"] for e in _events(client, token).get_json()["items"]]

    seen: list[int] = []
    query: dict[str, str] = {"limit": "2"}
    while True:
        page = _events(client, token, **query).get_json()
        seen += [e["id"] for e in page["items"]]
        if page["next_before_id"] is None:
            break
        query["before_id"] = str(page["next_before_id"])

    assert len(whole) > 4
    assert seen == whole


def test_a_bad_filter_is_refused_naming_the_field(client):
    token = _token(client, "auditor")

    response = _events(client, token, since="yesterday", limit="0", before_id=str(2**40))

    assert response.status_code == 422
    assert set(response.get_json()["details"]) == {"since", "limit", "before_id"}
    assert "YYYY-MM-DD" in response.get_json()["details"]["since"]


def test_no_role_but_the_auditor_reads_the_log(client, auth: Auth):
    for staff_no in ("cg01", "sysadmin", "secadmin", "dispatch01"):
        assert _events(client, _token(client, staff_no)).status_code == 403
    assert client.get("/api/v1/audit-events").status_code == 401
    auth.login("sysadmin")
    assert client.get("/audit").status_code == 403
    assert "审计日志" not in client.get("/").get_data(as_text=True)


def test_personal_data_in_the_log_never_shows_whole(client):
    _register(client)

    body = _events(client, _token(client, "auditor"), limit="200").get_data(as_text=True)

    assert PHONE not in body and ID_NUMBER not in body and "和平里七区" not in body
    nested = masked_detail({"data": {"phone": PHONE, "items": [{"id_number": ID_NUMBER}]}, "note": "无"})
    assert nested == {"data": {"phone": "138****5678", "items": [{"id_number": "110105********002X"}]}, "note": "无"}


def test_the_auditors_page_lists_filters_and_verifies_the_chain(client, auth: Auth):
    case = _register(client)
    auth.login("auditor")

    page = client.get("/audit", query_string={"case": case["number"]})
    html = page.get_data(as_text=True)
    verified = client.post("/audit/verify", data={"csrf_token": csrf_token_of(html)})

    assert page.status_code == 200
    assert "审计日志" in html and "登记" in html and case["number"] in html
    assert "token.issued" not in html.split("<tbody>")[1]  # only the case's rows are listed
    assert verified.status_code == 200
    assert "审计链完整" in verified.get_data(as_text=True)
    events = _events(client, _token(client, "auditor"), action="audit.verified").get_json()["items"]
    assert [e["actor"] for e in events] == ["auditor"]


def test_a_bad_filter_on_the_page_is_named_in_chinese(client, auth: Auth):
    auth.login("auditor")

    page = client.get("/audit", query_string={"until": "明天"})

    assert page.status_code == 422
    assert "截止时间" in page.get_data(as_text=True)


@pytest.mark.usefixtures("unguarded_log")
def test_verifying_from_the_page_names_a_tampered_row(client, auth: Auth, demo):
    case = _register(client)
    with demo.db.engine.begin() as conn:
        conn.exec_driver_sql(f"UPDATE audit_event SET actor = 'someone' WHERE case_id = {case['id']}")
    auth.login("auditor")

    html = client.get("/audit").get_data(as_text=True)
    answer = client.post("/audit/verify", data={"csrf_token": csrf_token_of(html)}).get_data(as_text=True)
    refused = client.post("/audit/verify", data={"csrf_token": csrf_token_of(html), "head": "x:y"})

    assert "审计链异常" in answer and "内容与校验码不符(记录被篡改)" in answer
    assert refused.status_code == 422 and "未校验" in refused.get_data(as_text=True)
