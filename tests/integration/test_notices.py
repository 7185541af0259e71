"""The written notices to the petitioner on both databases: each issued from the step it records, numbered
like the unit forms, read back from its PDF (number, petitioner, the article it cites, the outcome), its
送达 recorded and listed on `GET /api/v1/cases/{id}`; and the 15-day notice served late is 超期未告知."""

from __future__ import annotations

import subprocess
from datetime import date
from pathlib import Path

import pytest
from lifecycle_driver import Api, unit_ids

from app.services.actors import Actor
from app.services.admin import DayEntry, confirm_year

PETITIONER = {"name": "王五", "phone": "13700137000"}
SYSADMIN = Actor(label="sysadmin", permissions=frozenset({"calendar.edit"}))


@pytest.fixture
def api(client, demo) -> Api:  # type: ignore[no-untyped-def]
    confirm_year(demo, SYSADMIN, 2027, [DayEntry(date(2027, 1, 1), False, "元旦")], "国务院办公厅通知(测试)")
    return Api(client)


@pytest.fixture
def units(demo) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return unit_ids(demo)


def petition(api: Api) -> int:
    body = {"channel": "letter", "kind": "complaint", "category": "城乡建设/房屋质量", "subject": "新房漏水",
            "content": "新交付住房屋顶漏水,开发商拒不维修。", "requester": PETITIONER}
    return int(api.register("dispatch01", **body)["id"])


def pdf(client, case_id: int, slug: str, tmp_path: Path, expect: int = 200) -> str:  # type: ignore[no-untyped-def]
    response = client.get(f"/cases/{case_id}/documents/{slug}.pdf")
    assert response.status_code == expect, response.get_data(as_text=True)[:300]
    if expect != 200:
        return ""
    path = tmp_path / f"{slug}.pdf"
    path.write_bytes(response.data)
    out = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return "".join(out.split())


def documents(api: Api, case_id: int) -> dict[str, dict]:  # type: ignore[type-arg]
    return {d["kind"]: d for d in api.case(case_id)["documents"]}


def test_each_notice_follows_its_step_reads_back_from_its_pdf_and_records_its_service(api, units, auth, client,
                                                                                      tmp_path):
    case_id = petition(api)
    auth.login("dispatch01")
    pdf(client, case_id, "acceptance-notice", tmp_path, expect=409)  # not accepted yet: no number drawn
    api.complete("dispatch01", case_id, "accept", accept_decision="accept", kind="complaint")
    text = pdf(client, case_id, "acceptance-notice", tmp_path)
    number = documents(api, case_id)["acceptance_notice"]["number"]
    assert number == "市热线受告〔2026〕第1号"
    assert all(part in text for part in (number, "王五", "《信访工作条例》第二十三条", "决定受理"))
    assert pdf(client, case_id, "acceptance-notice", tmp_path) == text, "a re-download prints the same number"

    served = api.call("dispatch01", "POST", f"/cases/{case_id}/documents/acceptance-notice/served",
                      json={"method": "post"})
    assert served.status_code == 200, served.get_json()
    doc = documents(api, case_id)["acceptance_notice"]
    assert (doc["served_by"], doc["served_at"] is not None, doc["issued_at"] is not None) == ("dispatch01", True, True)
    assert api.call("dispatch01", "POST", f"/cases/{case_id}/documents/acceptance-notice/served",
                    json={"method": "pigeon"}).status_code == 422
    assert api.call("dispatch01", "POST", f"/cases/{case_id}/documents/handling-opinion/served",
                    json={"method": "sms"}).status_code == 409

    api.complete("dispatch01", case_id, "dispatch", dispatch_mode="transfer", lead_unit_id=units["cgj"],
                 directly_designated=False)
    api.complete("cg01", case_id, "sign_for")
    pdf(client, case_id, "extension-notice", tmp_path, expect=409)
    api.complete("cg01", case_id, "handle", handle_action="extend", requested_extension_days=20,
                 extension_reason="需委托房屋质量检测")
    api.complete("cgleader01", case_id, "approve_extension", extension_decision="approve",
                 approved_extension_days=20, extension_opinion="同意")
    text = pdf(client, case_id, "extension-notice", tmp_path)
    assert all(part in text for part in ("市热线延告〔2026〕第1号", "王五", "第三十四条", "需委托房屋质量检测", "20日"))

    api.complete("cg01", case_id, "handle", handle_action="reply", handling_notes="经现场核查,屋顶防水层破损")
    api.complete("cg01", case_id, "reply", reply_outcome="support", reply_opinion="责成开发商30日内维修。",
                 reply_basis="《商品房屋质量保证书》")
    text = pdf(client, case_id, "handling-opinion", tmp_path)
    assert all(part in text for part in ("市热线处意〔2026〕第1号", "王五", "第三十二条", "支持", "屋顶防水层破损",
                                         "责成开发商30日内维修", "30日内", "请求复查", "第三十五条"))
    api.complete("agent01", case_id, "follow_up", satisfaction="unsatisfied", resolved=False)
    api.complete("cg01", case_id, "sign_for")
    api.complete("cg01", case_id, "handle", handle_action="reply", handling_notes="复核")
    api.complete("cg01", case_id, "reply", reply_outcome="explain", reply_opinion="已解释。")
    api.complete("agent01", case_id, "follow_up", satisfaction="basically_satisfied", resolved=True)
    api.complete("dispatch01", case_id, "request_review", review_requested=True, review_unit_id=units["zjj"],
                 review_request_reason="不服处理意见")
    pdf(client, case_id, "review-opinion", tmp_path, expect=409)
    api.complete("zj01", case_id, "review_decision", review_result="uphold", review_opinion="维持原处理意见。")
    text = pdf(client, case_id, "review-opinion", tmp_path)
    assert all(part in text for part in ("市热线复查〔2026〕第1号", "王五", "第三十五条", "维持原处理意见",
                                         "请求复核", "第三十六条"))
    api.complete("dispatch01", case_id, "request_re_review", re_review_requested=True,
                 re_review_unit_id=units["cgj"], re_review_request_reason="对复查意见不服")
    api.complete("cg01", case_id, "re_review_decision", re_review_result="revise", re_review_opinion="变更。")
    text = pdf(client, case_id, "re-review-opinion", tmp_path)
    assert all(part in text for part in ("市热线复核〔2026〕第1号", "王五", "第三十六条", "撤销或者变更原处理意见",
                                         "不再受理"))
    assert set(documents(api, case_id)) == {"acceptance_notice", "extension_notice", "handling_opinion",
                                            "review_opinion", "re_review_opinion"}
    assert api.case(case_id)["flags"] == [], "the 15-day notice was served in time"


def test_a_rejection_notice_states_its_grounds(api, auth, client, tmp_path):
    case_id = petition(api)
    api.complete("dispatch01", case_id, "accept", accept_decision="reject", kind="complaint",
                 rejection_reason="litigation", rejection_note="已进入诉讼程序")
    auth.login("dispatch01")
    pdf(client, case_id, "rejection-notice", tmp_path, expect=409)  # the leader has not approved yet
    api.complete("leader01", case_id, "approve_rejection", rejection_approval="approve", approval_opinion="同意")
    text = pdf(client, case_id, "rejection-notice", tmp_path)
    assert all(part in text for part in ("市热线不受告〔2026〕第1号", "王五", "第二十三条", "不予受理", "涉法涉诉",
                                         "已进入诉讼程序"))
    pdf(client, case_id, "acceptance-notice", tmp_path, expect=409)


def test_the_15_day_notice_served_after_its_period_is_late_notice(api, auth, client, clock, tmp_path):
    case_id = petition(api)
    api.complete("dispatch01", case_id, "accept", accept_decision="accept", kind="complaint")
    auth.login("dispatch01")
    pdf(client, case_id, "acceptance-notice", tmp_path)
    clock.advance(days=20)
    api.tokens.clear()
    served = api.call("dispatch01", "POST", f"/cases/{case_id}/documents/acceptance-notice/served",
                      json={"method": "in_person"})
    assert served.status_code == 200, served.get_json()
    assert api.case(case_id)["flags"] == ["late_notice"]


def test_the_case_page_records_a_notices_service(api, auth, client, tmp_path):
    from tests.conftest import csrf_token_of

    case_id = petition(api)
    api.complete("dispatch01", case_id, "accept", accept_decision="accept", kind="complaint")
    auth.login("dispatch01")
    pdf(client, case_id, "acceptance-notice", tmp_path)
    page = client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "市热线受告〔2026〕第1号" in page and "登记送达" in page
    response = client.post(f"/cases/{case_id}/documents/acceptance-notice/served",
                           data={"csrf_token": csrf_token_of(page), "method": "sms"})
    assert response.status_code == 302
    assert documents(api, case_id)["acceptance_notice"]["served_by"] == "dispatch01"
