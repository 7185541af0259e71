"""Every word of the dictionary renamed by an administrator, then the hotline order and the petition run their
whole lifecycle: codes, paths, SMS and the 三级终结 refusal are unchanged; pages and the API show the new words."""

from __future__ import annotations

import re

import pytest
from lifecycle_driver import Api, unit_ids
from sqlalchemy import select
from test_lifecycle_hotline import archived, transferred
from test_lifecycle_petition import PETITIONER, replied_and_followed_up, year_2027  # noqa: F401  (a fixture)

from app.domain.statuses import STOCK_LABELS
from app.models import DictionaryEntry, SmsMessage
from tests.conftest import Auth

RENAMED_KINDS = ("case_status", "kind", "channel", "reject_reason")


def renamed(words: str) -> str:
    return f"〈{words}〉"


@pytest.fixture
def api(client, demo) -> Api:  # type: ignore[no-untyped-def]
    """The API after sysadmin renamed every entry of the fixed lists through PATCH /api/v1/dictionary/…"""
    api = Api(client)
    for kind in RENAMED_KINDS:
        listed = api.call("sysadmin", "GET", f"/dictionary/{kind}")
        assert listed.status_code == 200, listed.get_json()
        for entry in listed.get_json()["items"]:
            response = api.call("sysadmin", "PATCH", f"/dictionary/{kind}/{entry['code']}",
                                json={"label": renamed(entry["label"])})
            assert response.status_code == 200, response.get_json()
    return api


@pytest.fixture
def units(demo) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return unit_ids(demo)


def words(demo, kind: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    with demo.db.reading() as session:
        rows = session.execute(select(DictionaryEntry.code, DictionaryEntry.label)
                               .where(DictionaryEntry.kind == kind))
        return {code: label for code, label in rows}


def shown(api: Api, case_id: int) -> tuple[str, str]:
    case = api.case(case_id)
    return case["status"], case["status_label"]


def test_every_status_has_its_words_in_the_dictionary_and_the_rename_took(api, demo):
    assert words(demo, "case_status") == {code: renamed(label) for code, label in STOCK_LABELS.items()}
    assert all(label.startswith("〈") for label in words(demo, "kind").values())


def test_a_renamed_dictionary_changes_only_the_words_of_the_hotline_lifecycle(api, units, demo, client):
    case_id = transferred(api, units)
    assert shown(api, case_id) == ("handling", renamed("办理中"))
    api.complete("cg01", case_id, "handle", handle_action="reply", handling_notes="已现场处理")
    api.complete("cg01", case_id, "reply", reply_outcome="support", reply_opinion="问题已解决。")
    assert shown(api, case_id) == ("follow_up", renamed("待回访"))
    with demo.db.reading() as session:  # the reply SMS keys on the code, not on the words
        assert session.scalar(select(SmsMessage.template).where(SmsMessage.case_id == case_id,
                                                                SmsMessage.template == "reply")) == "reply"
    case = archived(api, case_id)
    assert case["status_label"] == renamed("已归档")

    Auth(client).login("dispatch01")
    page = re.sub(r"\s+", " ", client.get(f"/cases/{case_id}").get_data(as_text=True))
    assert f"<strong>{renamed('已归档')}</strong>" in page
    assert renamed("投诉") in page and renamed("电话") in page
    assert "<strong>已归档</strong>" not in page


@pytest.mark.usefixtures("year_2027")
def test_a_renamed_dictionary_changes_only_the_words_of_the_petition_lifecycle(api, units):
    case_id = replied_and_followed_up(api, units)
    assert shown(api, case_id) == ("replied", renamed("已答复"))
    api.complete("dispatch01", case_id, "request_review", review_requested=True, review_unit_id=units["cgj"],
                 review_request_reason="对处理意见不服")
    assert shown(api, case_id) == ("reviewing", renamed("复查中"))
    api.complete("cg01", case_id, "review_decision", review_result="uphold", review_opinion="维持。")
    api.complete("dispatch01", case_id, "request_re_review", re_review_requested=True,
                 re_review_unit_id=units["zjj"], re_review_request_reason="对复查意见不服")
    assert shown(api, case_id) == ("re_reviewing", renamed("复核中"))
    api.complete("zj01", case_id, "re_review_decision", re_review_result="uphold", re_review_opinion="维持。")
    assert shown(api, case_id) == ("terminated", renamed("已终结"))

    refused = api.call("dispatch01", "POST", "/cases", json={
        "channel": "visit", "kind": "complaint", "category": "城乡建设/房屋质量", "subject": "还是漏水",
        "content": "再次反映漏水问题。", "requester": {**PETITIONER, "phone": None}})
    assert refused.status_code == 422 and "第三十六条" in refused.get_json()["details"]["category"]


def test_a_renamed_dictionary_changes_only_the_words_of_a_rejection(api):
    case = api.register()
    assert (case["status"], case["status_label"]) == ("registered", renamed("待受理"))
    api.complete("dispatch01", case["id"], "accept", accept_decision="reject", kind="complaint",
                 rejection_reason="litigation", rejection_note="已进入诉讼程序。")
    assert shown(api, case["id"]) == ("approving", renamed("待审批"))
    api.complete("leader01", case["id"], "approve_rejection", rejection_approval="approve", approval_opinion="同意")
    assert shown(api, case["id"]) == ("rejected", renamed("不予受理"))


def test_renaming_needs_the_dictionary_permission_and_words(api):
    refused = api.call("dispatch01", "PATCH", "/dictionary/case_status/handling", json={"label": "处理中"})
    assert refused.status_code == 403
    empty = api.call("sysadmin", "PATCH", "/dictionary/case_status/handling", json={"label": "  "})
    assert empty.status_code == 422 and "label" in empty.get_json()["details"]
    unknown = api.call("sysadmin", "PATCH", "/dictionary/case_status/flying", json={"label": "飞走"})
    assert unknown.status_code == 404
