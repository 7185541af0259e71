"""The door of the platform: one intake validator for the API and the page, text hygiene, JSON depth,
integers a database holds, Chinese messages, capped error lists, Idempotency-Key with its body.

Issue 8 items 3, 5, 8, 11; issue 9 item 4. Each test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

from sqlalchemy import func, select

from app.domain.identity import id_number_check_char
from app.models import AuditEvent, Case, IdempotentRequest
from tests.conftest import DEMO_PASSWORD, Auth, csrf_token_of

FUTURE_ID = "11010520300101001" + id_number_check_char("11010520300101001")  # born 2030-01-01
VALID = {"kind": "complaint", "channel": "phone", "category": "城乡建设/供水", "subject": "小区停水三天",
         "content": "幸福里小区 3 号楼停水三天。", "name": "张三", "phone": "13800138000", "id_number": "",
         "address": ""}
REQUESTER = ("name", "phone", "id_number", "address", "anonymous")


def token(client: Any, staff_no: str = "agent01") -> dict[str, str]:
    response = client.post("/api/v1/auth/token", json={"staff_no": staff_no, "password": DEMO_PASSWORD})
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def as_body(flat: dict[str, Any]) -> dict[str, Any]:
    """The page's flat fields in the API's JSON shape (empty fields left out, as the page leaves them)."""
    body = {k: v for k, v in flat.items() if k not in REQUESTER and v != ""}
    body["requester"] = {k: v for k, v in flat.items() if k in REQUESTER and v != ""}
    return body


def page_errors(page: str) -> dict[str, str]:
    found = re.findall(r'<div class="field-error" id="err-(\w+)" role="alert">(.*?)</div>', page)
    return {k: html.unescape(v) for k, v in found}


def count(demo: Any, model: Any = Case) -> int:
    with demo.db.reading() as session:
        return int(session.scalar(select(func.count()).select_from(model)))


def post_page(client: Any, flat: dict[str, Any]) -> Any:
    form = {k: ("1" if v is True else v) for k, v in flat.items() if v is not False}
    csrf = csrf_token_of(client.get("/intake").get_data(as_text=True))
    return client.post("/intake", data={**form, "request_key": "", "csrf_token": csrf})


SAME_ANSWER = [  # (what it shows, fields as the agent types them, accepted?)
    ("a plain complaint", {}, True),
    ("a category that is not a leaf", {"category": "城乡建设"}, False),
    ("a category not in the dictionary", {"category": "城乡建设/不存在"}, False),
    ("a future birth date in the ID number", {"id_number": FUTURE_ID}, False),
    ("a 15-digit ID number", {"id_number": "110105491231002"}, False),
    ("an impossible birth date", {"id_number": "11010519491331002X"}, False),
    ("a wrong check digit", {"id_number": "110105194912310021"}, False),
    ("a full-width ID number with a lower-case x", {"id_number": "１１０１０５１９４９１２３１００２ｘ"}, True),
    ("a landline with its area code in full-width brackets", {"phone": "（0531）87654321"}, True),
    ("a landline with its area code in brackets", {"phone": "(010)62345678"}, True),
    ("a 95xxx service number", {"phone": "95588"}, True),
    ("a 400 number", {"phone": "400-123-4567"}, True),
    ("a phone too short for anything", {"phone": "12345"}, False),
    ("no phone from a named requester", {"phone": ""}, True),
    ("an anonymous report", {"kind": "report", "name": "", "phone": "", "anonymous": True}, True),
    ("an anonymous complaint", {"name": "", "anonymous": True}, False),
    ("a name given with anonymity", {"kind": "suggestion", "anonymous": True}, False),
    ("no name and no subject", {"name": " ", "subject": ""}, False),
    ("an unknown kind", {"kind": "gossip"}, False),
    ("a subject over 200 characters", {"subject": "长" * 201}, False),
    ("an address over 200 characters", {"address": "路" * 201}, False),
]


def test_the_api_and_the_intake_page_give_the_same_answer_for_the_same_input(client, demo, auth: Auth):
    headers = token(client)
    auth.login("agent01")
    for shows, changes, accepted in SAME_ANSWER:
        flat = {**VALID, **changes}
        before = count(demo)
        api = client.post("/api/v1/cases", headers=headers, json=as_body(flat))
        page = post_page(client, flat)
        text = page.get_data(as_text=True)
        if accepted:
            assert (api.status_code, page.status_code) == (201, 200), (shows, api.get_json(), page_errors(text))
            assert "登记成功" in text and count(demo) == before + 2, shows
            for notice in api.get_json()["notices"].values():
                assert notice in text, shows  # a service number's notice, on both
        else:
            assert (api.status_code, page.status_code) == (422, 422), shows
            api_errors = {k.removeprefix("requester."): v for k, v in api.get_json()["details"].items()}
            assert api_errors == page_errors(text) and api_errors, shows
            assert count(demo) == before, shows
    assert client.post("/api/v1/cases", headers=headers, json=as_body({**VALID, "phone": "95588"})).get_json()[
        "notices"] == {"requester.phone": "这是服务号码(95xxx/96xxx、400/800),已登记,但无法接收短信"}


def test_the_messages_name_the_rule_that_was_broken(client, demo):
    headers = token(client)
    answers = {shows: client.post("/api/v1/cases", headers=headers, json=as_body({**VALID, **changes})).get_json()
               for shows, changes, accepted in SAME_ANSWER if not accepted}
    assert answers["a category that is not a leaf"]["details"] == {
        "category": "请选择到最末一级事项分类:城乡建设 之下还有分类"}
    assert answers["a future birth date in the ID number"]["details"] == {
        "requester.id_number": "身份证号中的出生日期无效"}
    assert answers["an anonymous complaint"]["details"] == {
        "requester.anonymous": "投诉不能匿名登记,只有咨询、举报、建议可以匿名"}
    assert answers["no name and no subject"]["details"] == {"requester.name": "请填写诉求人姓名",
                                                           "subject": "请填写诉求标题"}


def test_an_anonymous_report_is_stored_without_a_name(client, demo):
    headers = token(client)
    body = as_body({**VALID, "kind": "report", "name": "", "phone": "", "anonymous": True})
    case_id = client.post("/api/v1/cases", headers=headers, json=body).get_json()["id"]
    case = client.get(f"/api/v1/cases/{case_id}", headers=token(client, "dispatch01")).get_json()
    assert case["kind"] == "report" and case["requester"]["name"] == "匿*" and case["requester"]["phone"] is None


# — text hygiene (issue 8 item 3, FAULT-TABLE row 37) ——————————————————————————————————————

FAITHFUL = "零\u200b宽·\u202eRTL\u202c·\u200f标记·😀🇨🇳·𠀀𪚥·䶮·〾"  # zero-width, bidi marks, emoji, Ext-B, GB18030


def test_zero_width_bidi_marks_emoji_and_ext_b_round_trip_on_the_api(client, demo):
    headers = token(client)
    body = as_body({**VALID, "subject": FAITHFUL, "content": FAITHFUL * 3, "name": "𠀀明", "address": FAITHFUL})
    case_id = client.post("/api/v1/cases", headers=headers, json=body).get_json()["id"]
    case = client.get(f"/api/v1/cases/{case_id}?reveal=1", headers=token(client, "dispatch01")).get_json()
    assert (case["subject"], case["content"]) == (FAITHFUL, FAITHFUL * 3)
    assert (case["requester"]["name"], case["requester"]["address"]) == ("𠀀明", FAITHFUL)


def test_zero_width_and_ext_b_round_trip_through_the_intake_page(client, demo, auth: Auth):
    auth.login("agent01")
    assert post_page(client, {**VALID, "subject": FAITHFUL, "name": "𠀀明"}).status_code == 200
    with demo.db.reading() as session:
        case = session.scalars(select(Case)).one()
        assert (case.subject, case.requester.name) == (FAITHFUL, "𠀀明")


def test_nul_and_lone_surrogates_are_refused_naming_the_field(client, demo, auth: Auth):
    headers = token(client)
    for field, value in (("subject", "噪声\x00"), ("content", "夜间\x00施工"), ("name", "张\x00三"),
                         ("address", "\x00"), ("subject", "\ud800"), ("name", "李\udfff")):
        response = client.post("/api/v1/cases", headers=headers, json=as_body({**VALID, field: value}))
        assert response.status_code == 422, (field, value)
        details = response.get_json()["details"]
        assert list(details) == [f"requester.{field}" if field in REQUESTER else field], details
    surrogate_text = '{"kind": "complaint", "channel": "phone", "subject": "\\ud800", "content": "x",' \
                     ' "requester": {"name": "张三"}}'
    raw = client.post("/api/v1/cases", headers={**headers, "Content-Type": "application/json"}, data=surrogate_text)
    assert raw.status_code == 422 and "subject" in raw.get_json()["details"]
    assert client.get("/api/v1/tasks?kind=%00", headers=headers).status_code == 422

    auth.login("agent01")
    for field in ("subject", "content", "name", "address"):
        page = post_page(client, {**VALID, field: "有\x00空字符"})
        assert page.status_code == 422 and f"「{field}」含有空字符(NUL)" in page.get_data(as_text=True)
    assert count(demo) == 0


# — JSON depth (issue 8 item 3) ————————————————————————————————————————————————————————————

def test_json_nested_beyond_32_levels_is_refused_with_400_signed_in_or_not(client, demo):
    deep = "[" * 5000 + "]" * 5000
    for headers, url in (({}, "/api/v1/auth/token"), (token(client), "/api/v1/cases"),
                         (token(client), "/api/v1/calls/events")):
        response = client.post(url, headers={**headers, "Content-Type": "application/json"}, data=deep)
        assert response.status_code == 400, url
        assert response.get_json()["message"] == "JSON 嵌套不能超过 32 层"
    nested = '{"staff_no": "agent01", "password": ' + "[" * 40 + '"x"' + "]" * 40 + "}"
    assert client.post("/api/v1/auth/token", data=nested, content_type="application/json").status_code == 400
    brackets_in_text = json.dumps({"staff_no": "[" * 5000, "password": "{" * 5000})
    assert client.post("/api/v1/auth/token", data=brackets_in_text, content_type="application/json"
                       ).status_code in (401, 422), "brackets inside strings are text, not nesting"
    shallow = {"kind": "complaint", "requester": {"name": [[[[["x"]]]]]}}
    assert client.post("/api/v1/cases", headers=token(client), json=shallow).status_code == 422


# — integers a database holds; Chinese messages; capped error lists (issue 8 items 8, 11) ———————

def test_integers_beyond_64_bits_answer_404_in_paths_and_422_in_bodies_and_queries(client, demo, auth: Auth):
    agent, admin = token(client), token(client, "sysadmin")
    assert client.get("/api/v1/cases/9223372036854775808", headers=agent).status_code == 404
    assert client.get("/api/v1/cases/9223372036854775807", headers=agent).status_code == 404
    assert client.get("/api/v1/cases/2147483648", headers=agent).status_code == 404  # past an INTEGER column
    assert client.get("/api/v1/cases/2147483647", headers=agent).status_code == 404
    refused = client.post("/api/v1/cases", headers=agent, json={**as_body(VALID), "duplicate_of": 2**64})
    assert refused.status_code == 422 and refused.get_json()["details"] == {"duplicate_of": "重复件关联无效"}
    listed = client.get("/api/v1/messages?before_id=99999999999999999999", headers=admin)
    assert listed.status_code == 422 and "before_id" in listed.get_json()["details"]
    paged = client.get("/api/v1/tasks?page=99999999999999999999", headers=agent)
    assert paged.status_code == 422 and "page" in paged.get_json()["details"]
    calendar = client.put("/api/v1/calendar/99999", headers=admin, json={"entries": []})
    assert calendar.status_code in (404, 422)
    auth.login("agent01")
    for path in ("/cases/99999999999999999999", "/cases/99999999999999999999/diagram",
                 "/intake?call=99999999999999999999"):
        assert client.get(path).status_code == 404, path
    assert count(demo) == 0


def test_every_refusal_speaks_chinese(client, demo):
    agent = token(client)
    answers = [
        client.post("/api/v1/cases", headers=agent, json={**as_body(VALID), "requester": "张三"}),
        client.post("/api/v1/cases", headers=agent, json={**as_body(VALID), "subject": 5, "content": ["x"]}),
        client.post("/api/v1/cases", headers=agent, json=[1, 2]),
        client.post("/api/v1/auth/token", json={"staff_no": 5, "password": {"a": 1}}),
        client.post("/api/v1/auth/token", data='{"staff_no": 1e400}', content_type="application/json"),
        client.post(f"/api/v1/cases/{2**40}/supervise", headers=agent, json={"note": 1}),
    ]
    for response in answers:
        assert response.status_code in (401, 404, 422), response.get_json()
        body = response.get_json()
        for message in [body["message"], *body["details"].values()]:
            assert re.search(r"[\u4e00-\u9fff]", str(message)), body
            assert not re.search(r"Invalid|Not a valid|too large|not supported", str(message)), body


def test_a_request_with_100000_unknown_keys_gets_a_short_answer(client, demo):
    body = {**as_body(VALID), **{f"k{i}": i for i in range(100_000)}}
    response = client.post("/api/v1/cases", headers=token(client), json=body)
    assert response.status_code == 422
    details = response.get_json()["details"]
    assert len(response.data) < 4000 and len(details) == 21 and details["_more"] == "另有 99980 处错误未列出"
    assert count(demo) == 0


# — Idempotency-Key with its body (issue 8 item 5) —————————————————————————————————————————

def test_an_idempotency_key_answers_the_same_case_for_the_same_body_and_refuses_another_body(client, demo):
    agent = token(client)
    body = as_body(VALID)
    first = client.post("/api/v1/cases", headers={**agent, "Idempotency-Key": "k-1"}, json=body)
    reordered = json.dumps(dict(reversed(list(body.items()))), ensure_ascii=False, indent=2)
    again = client.post("/api/v1/cases", headers={**agent, "Idempotency-Key": "k-1",
                                                  "Content-Type": "application/json"}, data=reordered)
    other = client.post("/api/v1/cases", headers={**agent, "Idempotency-Key": "k-1"},
                        json={**body, "subject": "另一个人的投诉"})
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.get_json()["id"] == first.get_json()["id"]
    assert other.status_code == 422 and other.get_json()["message"] == "Idempotency-Key 已用于另一份诉求"
    assert other.get_json()["details"] == {"Idempotency-Key": "Idempotency-Key 已用于另一份诉求"}
    assert count(demo) == 1
    with demo.db.reading() as session:
        assert len(session.scalars(select(IdempotentRequest.body_hash)).one()) == 64


def test_an_over_long_idempotency_key_is_refused_not_cut(client, demo, auth: Auth):
    agent, body = token(client), as_body(VALID)
    long_a, long_b = "k" * 100 + "a" * 29, "k" * 100 + "b" * 29
    for key in (long_a, long_b):
        response = client.post("/api/v1/cases", headers={**agent, "Idempotency-Key": key}, json=body)
        assert response.status_code == 422 and response.get_json()["details"] == {
            "Idempotency-Key": "Idempotency-Key 最长 128 个字符"}
    at_limit = [client.post("/api/v1/cases", headers={**agent, "Idempotency-Key": "k" * 100 + x * 28},
                            json=body).get_json()["id"] for x in "ab"]
    assert at_limit[0] != at_limit[1], "two keys alike in their first 100 characters are two keys"
    auth.login("agent01")
    csrf = csrf_token_of(client.get("/intake").get_data(as_text=True))
    form = {**VALID, "request_key": "page-key", "csrf_token": csrf}
    assert client.post("/intake", data=form).status_code == 200
    reused = client.post("/intake", data={**form, "subject": "另一件事"})
    assert reused.status_code == 422 and "Idempotency-Key 已用于另一份诉求" in reused.get_data(as_text=True)
    assert count(demo) == 3


# — FAULT-TABLE rows 21, 22, 23, 25 ——————————————————————————————————————————————————————————

def test_row_21_huge_fields_are_refused_whole_and_no_case_is_made(client, demo, auth: Auth):
    agent = token(client)
    huge = "长" * (10 * 1024 * 1024 // 3)  # 10 MB of 诉求内容
    assert client.post("/api/v1/cases", headers=agent, json=as_body({**VALID, "content": huge})).status_code == 413
    over = client.post("/api/v1/cases", headers=agent, json=as_body({**VALID, "content": "长" * 20001}))
    assert over.status_code == 422 and over.get_json()["details"] == {"content": "诉求内容最多 20000 个字"}
    listy = client.post("/api/v1/cases", headers=agent, json=as_body({**VALID, "subject": ["x"] * 10_000}))
    assert listy.status_code == 422 and listy.get_json()["details"] == {"subject": "诉求标题应为文本"}
    auth.login("agent01")
    csrf = csrf_token_of(client.get("/intake").get_data(as_text=True))
    assert client.post("/intake", data={**VALID, "content": huge, "csrf_token": csrf}).status_code == 413
    many = {**VALID, "csrf_token": csrf, **{f"f{i}": "x" for i in range(100_000)}}
    assert client.post("/intake", data=many).status_code == 413
    assert count(demo) == 0


def test_row_22_id_number_variants(client, demo):
    agent = token(client)
    for typed, stored in (("１１０１０５１９４９１２３１００２ｘ", "11010519491231002X"),
                          ("11010519491231002x", "11010519491231002X"),
                          (" 110105 19491231 002X ", "11010519491231002X")):
        case_id = client.post("/api/v1/cases", headers=agent, json=as_body({**VALID, "id_number": typed})
                              ).get_json()["id"]
        shown = client.get(f"/api/v1/cases/{case_id}?reveal=1", headers=token(client, "dispatch01")).get_json()
        assert shown["requester"]["id_number"] == stored
    for typed, message in (("110105491231002", "身份证号应为18位，当前为15位"),
                           ("110105194912310021", "身份证号校验位错误"),
                           ("110105194902300021", "身份证号中的出生日期无效"),
                           (FUTURE_ID, "身份证号中的出生日期无效")):
        refused = client.post("/api/v1/cases", headers=agent, json=as_body({**VALID, "id_number": typed}))
        assert refused.get_json()["details"] == {"requester.id_number": message}
    assert client.post("/api/v1/cases", headers=agent, json=as_body({**VALID, "id_number": ""})).status_code == 201


def test_row_23_phone_writings_are_one_number_for_the_duplicate_hint(client, demo, auth: Auth):
    agent = token(client)
    for typed in ("+86 138 0013 8000", "138-0013-8000", "１３８００１３８０００", "0086 13800138000"):
        assert client.post("/api/v1/cases", headers=agent, json=as_body({**VALID, "phone": typed})).status_code == 201
    for typed in ("(010)62345678", "010 6234 5678", "95588", "400 123 4567"):
        assert client.post("/api/v1/cases", headers=agent, json=as_body({**VALID, "phone": typed})).status_code == 201
    auth.login("agent01")
    csrf = csrf_token_of(client.get("/intake").get_data(as_text=True))
    hint = client.post("/intake/duplicates", json={"phone": "13800138000"}, headers={"X-CSRFToken": csrf}).get_json()
    assert len(hint["items"]) == 4, "the blind index is on the normalised number"
    landline = client.post("/intake/duplicates", json={"phone": "（010）62345678"}, headers={"X-CSRFToken": csrf})
    assert len(landline.get_json()["items"]) == 2


def test_row_25_extra_fields_are_refused_and_change_nothing(client, demo):
    agent = token(client)
    body = {**as_body(VALID), "status": "closed", "handler_id": 1, "unit_id": 2}
    body["requester"]["id"] = 7
    refused = client.post("/api/v1/cases", headers=agent, json=body)
    assert refused.status_code == 422
    assert refused.get_json()["details"] == {"status": "未知字段", "handler_id": "未知字段", "unit_id": "未知字段",
                                             "requester.id": "未知字段"}
    assert count(demo) == 0
    with demo.db.reading() as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "case.registered")) == 0
