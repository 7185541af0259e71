"""矛盾纠纷排查 on both databases: intake screens every case's text against the keywords, flags exactly the
crafted cases with their words (shown on the case page and the leaders' list), a 重大 word queues an SMS to
the centre's leader at once; the rules are a setting; staff fill a 排查表; the risk trends read."""

from __future__ import annotations

import pytest
from lifecycle_driver import Api
from sqlalchemy import select

from app.domain.screening import DEFAULT_RULES, rule_errors
from app.models import CaseFlag, SmsMessage
from tests.conftest import csrf_token_of

CRAFTED = {
    "跳楼": ("工资拖欠半年", "老板拖欠工资半年，工人情绪激动，扬言要跳楼。", {"扬言", "跳楼"}),
    "讨薪": ("讨薪无门", "工地欠薪，我们多次讨薪无门。", {"讨薪"}),
    "none": ("路灯不亮", "幸福里小区路灯不亮已经一周。", set()),
    "latin": ("噪声", "夜间施工噪声，已向媒体曝光。", {"媒体曝光"}),
}


@pytest.fixture
def api(client) -> Api:  # type: ignore[no-untyped-def]
    return Api(client)


def test_intake_flags_exactly_the_crafted_cases_and_tells_the_centre_leader(api, demo, auth):
    ids = {name: api.register(subject=s, content=c)["id"] for name, (s, c, _) in CRAFTED.items()}
    with demo.db.reading() as session:
        flags = {(f.case_id, f.word): f.level for f in session.scalars(select(CaseFlag))}
        sms = [m for m in session.scalars(select(SmsMessage)) if m.template == "screening"]
    assert {(c, w) for c, w in flags} == {(ids[n], w) for n, (_, _, words) in CRAFTED.items() for w in words}
    assert flags[(ids["跳楼"], "跳楼")] == "high" and flags[(ids["讨薪"], "讨薪")] == "medium"
    assert [m.case_id for m in sms] == [ids["跳楼"]]  # one leader at the centre with a work phone: leader01
    assert "扬言、跳楼" in sms[0].body and "重大" in sms[0].body

    auth.login("leader01")
    page = auth.client.get("/screening").get_data(as_text=True)
    assert "工资拖欠半年" in page and "讨薪无门" in page and "路灯不亮" not in page
    assert page.index("工资拖欠半年") < page.index("讨薪无门")  # the strongest first
    case_page = auth.client.get(f"/cases/{ids['跳楼']}").get_data(as_text=True)
    assert "矛盾纠纷排查" in case_page and "<mark>扬言</mark>" in case_page
    assert "<mark>" not in auth.client.get(f"/cases/{ids['none']}").get_data(as_text=True).split("诉求内容")[1][:2000]
    high = auth.client.get("/screening?level=high").get_data(as_text=True)
    assert "工资拖欠半年" in high and "讨薪无门" not in high


def test_the_keywords_are_a_setting_an_administrator_edits(api, demo):
    assert rule_errors(DEFAULT_RULES) is None
    assert rule_errors([{"word": "上访", "level": "severe"}]) is not None
    rules = [{"word": "路灯", "level": "low"}]
    response = api.call("sysadmin", "PUT", "/settings/screening.rules", json={"value": rules})
    assert response.status_code == 200, response.get_json()
    case_id = api.register(subject="路灯不亮", content="扬言要跳楼")["id"]  # the old words no longer count
    with demo.db.reading() as session:
        assert [(f.word, f.level) for f in session.scalars(select(CaseFlag).where(CaseFlag.case_id == case_id))] \
            == [("路灯", "low")]


def test_staff_fill_a_screening_form_and_a_wrong_one_names_its_fields(auth, demo):
    auth.login("cg01")
    page = auth.client.get("/screening")
    assert page.status_code == 200 and "关键字预警件" not in page.get_data(as_text=True)  # a handler: no list
    token = csrf_token_of(page.get_data(as_text=True))
    form = {"csrf_token": token, "found_on": "2026-11-20", "place": "幸福里小区", "dispute_type": "物业",
            "parties": "业主与物业公司", "summary": "物业费上涨引发纠纷,约30户业主聚集。", "level": "medium",
            "people_involved": "30", "measures": "街道约谈物业,暂缓上涨。", "case_number": ""}
    assert auth.client.post("/screening/forms", data=form).status_code == 302
    listed = auth.client.get("/screening").get_data(as_text=True)
    assert "物业费上涨引发纠纷" in listed and "市城管局" in listed
    wrong = auth.client.post("/screening/forms", data={**form, "place": "", "level": "x", "case_number": "NOPE"})
    assert wrong.status_code == 422
    text = wrong.get_data(as_text=True)
    assert "请填写地点" in text and "请选择风险等级" in text and "受理号不存在或不在您的范围内" in text


def test_risk_trends_show_for_leaders(api, auth, demo):
    first = api.register(subject="停水", content="小区停水。")["id"]
    api.register(subject="停水", content="小区又停水。", duplicate_of=first)
    auth.login("leader01")
    page = auth.client.get("/screening").get_data(as_text=True)
    assert "风险研判" in page and "城乡建设/供水" in page and "各区域同比" in page
