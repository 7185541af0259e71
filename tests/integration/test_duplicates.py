"""判重 that finds the same matter (issue 13 item 5): the API, the intake hint, linking a 重复件, the labelled set.

Each test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import dataclasses
import importlib.util
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from app.models import Case, HumanTask, SmsMessage, Unit, User
from app.services import duplicates
from app.services.auth import actor_for
from tests.conftest import DEMO_PASSWORD, Auth, csrf_token_of

LIFT = {"kind": "complaint", "channel": "phone", "category": "城乡建设/物业管理", "subject": "5号楼电梯又坏了",
        "content": "北塘家园5号楼的电梯这个月已经坏了三次，今天又停了，楼里很多老人住高层，上下楼非常困难。",
        "location": "北塘区北塘街道北塘家园5号楼", "requester": {"name": "张三", "phone": "13901020001"}}
REPHRASED = {"subject": "电梯困人", "location": "北塘家园小区五号楼", "category": "城乡建设/物业管理",
             "content": "今天下午北塘家园五号楼电梯突然停在8层和9层之间，我和孩子被困了四十分钟，这部电梯经常出故障。",
             "requester": {"phone": "13901020002"}}


def token(client: Any, staff_no: str = "agent01") -> dict[str, str]:
    response = client.post("/api/v1/auth/token", json={"staff_no": staff_no, "password": DEMO_PASSWORD})
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def registered(client: Any, headers: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/api/v1/cases", headers=headers, json=body)
    assert response.status_code == 201, response.get_json()
    return dict(response.get_json())


def test_a_rephrased_appeal_about_the_same_place_and_problem_is_found_with_its_reasons(client, demo, clock):
    agent = token(client)
    first = registered(client, agent, LIFT)
    clock.advance(days=2)
    agent = token(client)  # a token lives hours, not days
    answer = client.post("/api/v1/duplicates", headers=agent, json=REPHRASED)
    assert answer.status_code == 200
    found = answer.get_json()
    assert found["is_duplicate"] is True
    top = found["candidates"][0]
    assert (top["case_id"], top["number"]) == (first["id"], first["number"])
    assert top["reasons"][:2] == ["同一地点 北塘家园5号楼", "同一问题 电梯"]
    assert any(r.startswith("内容相似 ") for r in top["reasons"]) and 0.62 <= top["score"] <= 1


def test_the_same_requester_is_a_reason_of_its_own(client, demo, clock):
    agent = token(client)
    first = registered(client, agent, LIFT)
    clock.advance(days=1)
    agent = token(client)  # a token lives hours, not days
    found = client.post("/api/v1/duplicates", headers=agent, json={
        "content": "之前反映的电梯问题一直没有解决", "requester": {"phone": "+86 139 0102 0001"}}).get_json()
    assert found["candidates"][0]["case_id"] == first["id"]
    assert found["candidates"][0]["reasons"][0] == "同一诉求人"


def test_hard_negatives_are_not_flagged(client, demo, clock):
    agent = token(client)
    registered(client, agent, LIFT)
    registered(client, agent, {**LIFT, "subject": "超市卖过期牛奶", "category": "市场监管/食品安全",
                               "content": "在幸福路88号华联超市买的纯牛奶已经过期五天了，货架上还有同一批次的。",
                               "location": "幸福路88号华联超市", "requester": {"name": "李四", "phone": "13901040001"}})
    clock.advance(days=3)
    agent = token(client)  # a token lives hours, not days
    others = {
        "same building, other problem": {"subject": "楼道堆满杂物", "location": "北塘家园5号楼",
                                         "content": "北塘家园5号楼楼道里堆满了纸箱和旧家具，把消防通道都堵住了。"},
        "same problem, other building": {"subject": "7号楼电梯故障", "location": "北塘家园7号楼",
                                         "content": "北塘家园7号楼电梯今天早上坏了，停在一楼不动，楼里老人多。"},
        "same shop, other issue": {"subject": "华联超市价签不符", "location": "幸福路88号华联超市",
                                   "content": "幸福路88号华联超市的鸡蛋标价5.9元一斤，结账按7.9元收，多收钱。"},
        "same problem, other shop": {"subject": "物美超市卖过期面包", "location": "幸福路120号物美超市",
                                     "content": "幸福路120号物美超市出售过期面包，保质期只有七天。"},
    }
    for what, body in others.items():
        found = client.post("/api/v1/duplicates", headers=agent, json=body).get_json()
        assert found["is_duplicate"] is False, (what, found)


def test_the_api_contract(client, demo, clock):
    agent = token(client)
    assert client.post("/api/v1/duplicates", json={"content": "电梯坏了"}).status_code == 401
    refused = client.post("/api/v1/duplicates", headers=agent, json={"subject": "电梯坏了"})
    assert refused.status_code == 422 and refused.get_json()["details"] == {"content": "请填写诉求内容"}
    bad_phone = client.post("/api/v1/duplicates", headers=agent, json={"content": "电梯坏了",
                                                                       "requester": {"phone": "123"}})
    assert bad_phone.status_code == 422 and "requester.phone" in bad_phone.get_json()["details"]
    assert client.post("/api/v1/duplicates", headers=token(client, "cg01"),
                       json={"content": "电梯坏了"}).status_code == 403  # a handler registers nothing
    empty = client.post("/api/v1/duplicates", headers=agent, json={"content": "电梯坏了"}).get_json()
    assert empty == {"candidates": [], "is_duplicate": False, "days": 90}
    registered(client, agent, LIFT)
    found = client.post("/api/v1/duplicates", headers=agent, json=REPHRASED).get_json()
    assert set(found["candidates"][0]) == {"case_id", "number", "score", "reasons"}


def test_the_registration_answers_its_candidates_and_audits_the_best(client, demo, clock):
    agent = token(client)
    first = registered(client, agent, LIFT)
    clock.advance(hours=5)
    agent = token(client)  # a token lives hours, not days
    second = registered(client, agent, {**LIFT, **REPHRASED, "requester": {"name": "王五", "phone": "13901020002"}})
    assert second["duplicates"]["is_duplicate"] is True
    assert second["duplicates"]["candidates"][0]["case_id"] == first["id"]


def test_a_caller_sees_only_candidates_they_may_see(client, demo, clock):
    registered(client, token(client), LIFT)
    with demo.db.reading() as session:
        user = session.scalars(select(User).where(User.staff_no == "agent01")).one()
        district = session.scalars(select(Unit).where(Unit.kind == "district")).first()
        seated_elsewhere = dataclasses.replace(actor_for(user), unit_id=district.id, unit_path=district.path)
    found = duplicates.check(demo, seated_elsewhere, REPHRASED)
    assert found == {"candidates": [], "is_duplicate": False, "days": 90}


def test_linking_a_duplicate_keeps_both_tells_the_requester_and_does_not_dispatch(client, demo, clock):
    agent = token(client)
    first = registered(client, agent, LIFT)
    clock.advance(days=1)
    agent = token(client)  # a token lives hours, not days
    linked = registered(client, agent, {**LIFT, **REPHRASED, "requester": {"name": "王五", "phone": "13901020002"},
                                        "duplicate_of": first["id"]})
    assert linked["id"] != first["id"] and linked["status"] == "closed"
    with demo.db.reading() as session:
        ready = session.scalars(select(HumanTask.case_id).where(HumanTask.state == "ready")).all()
        assert ready == [first["id"]], "the original goes on; the 重复件 starts no task of its own"
        message = session.scalars(select(SmsMessage).where(SmsMessage.case_id == linked["id"])).one()
        assert message.template == "duplicate"
        assert first["number"] in message.body and "待受理" in message.body and linked["query_code"] in message.body
        counted = session.scalar(select(func.count()).select_from(Case).where(duplicates.counted_once()))
        assert (session.scalar(select(func.count()).select_from(Case)), counted) == (2, 1)
    shown = client.get(f"/api/v1/cases/{linked['id']}", headers=agent).get_json()
    assert shown["status"] == "closed"


def test_the_intake_hint_lists_the_same_matter_with_reasons(client, demo, auth: Auth, clock):
    registered(client, token(client), LIFT)
    clock.advance(days=1)
    auth.login("agent01")
    csrf = csrf_token_of(client.get("/intake").get_data(as_text=True))
    typed = {"phone": "", "id_number": "", "subject": REPHRASED["subject"], "content": REPHRASED["content"],
             "location": REPHRASED["location"], "category": REPHRASED["category"]}
    hint = client.post("/intake/duplicates", json=typed, headers={"X-CSRFToken": csrf}).get_json()
    assert hint["is_duplicate"] is True
    assert hint["items"][0]["reasons"][0] == "同一地点 北塘家园5号楼"


def test_an_appeal_outside_the_window_is_not_a_candidate(client, demo, clock):
    now = clock.at
    clock.at = now - timedelta(days=91)
    registered(client, token(client), LIFT)
    clock.at = now
    assert client.post("/api/v1/duplicates", headers=token(client), json=REPHRASED).get_json()["candidates"] == []


def _bench() -> Any:
    path = Path(__file__).resolve().parents[2] / "bench" / "duplicates.py"
    spec = importlib.util.spec_from_file_location("bench_duplicates", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_precision_and_recall_on_the_labelled_set_stay_above_the_aims(demo):
    result = _bench().labelled(demo)
    assert result["appeals"] >= 200 and result["positives"] >= 80
    assert result["precision"] >= 0.9 and result["recall"] >= 0.85, result
