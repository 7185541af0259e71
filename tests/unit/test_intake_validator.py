"""The one intake validator (app.domain.intake.check_intake) without a database: its rules, one each."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from app.domain.intake import ANONYMOUS_NAME, IntakeDictionary, IntakeRefused, check_intake

TODAY = date(2026, 11, 25)
DICTIONARY = IntakeDictionary(
    kinds={"complaint": "投诉", "report": "举报", "suggestion": "建议", "consultation": "咨询", "help": "求助"},
    channels={"phone": "电话", "letter": "来信"},
    categories={"城乡建设": False, "城乡建设/供水": True, "其他": True})


def raw(**changes: Any) -> dict[str, Any]:
    requester = {"name": "张三", "phone": "13800138000", **changes.pop("requester", {})}
    return {"kind": "complaint", "channel": "phone", "category": "城乡建设/供水", "subject": "停水",
            "content": "三天没水。", "requester": requester, **changes}


def errors_of(data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(IntakeRefused) as refused:
        check_intake(data, DICTIONARY, TODAY)
    return refused.value.errors


def test_a_plain_registration_is_normalised() -> None:
    case = check_intake(raw(subject="  停水  ", requester={"phone": "+86 138 0013 8000",
                                                          "id_number": "11010519491231002x"}), DICTIONARY, TODAY)
    assert (case.subject, case.requester.phone, case.requester.id_number) == ("停水", "13800138000",
                                                                              "11010519491231002X")
    assert case.notices == {} and case.requester.anonymous is False


def test_only_a_leaf_of_the_category_tree_is_chosen() -> None:
    assert errors_of(raw(category="城乡建设")) == {"category": "请选择到最末一级事项分类:城乡建设 之下还有分类"}
    assert check_intake(raw(category="其他"), DICTIONARY, TODAY).category == "其他"  # a top level without children
    assert check_intake(raw(category=""), DICTIONARY, TODAY).category is None


def test_a_service_number_is_accepted_with_a_notice() -> None:
    case = check_intake(raw(requester={"phone": "95588"}), DICTIONARY, TODAY)
    assert case.requester.phone == "95588" and "无法接收短信" in case.notices["requester.phone"]


@pytest.mark.parametrize("kind", ["report", "suggestion", "consultation"])
def test_report_suggestion_and_consultation_may_be_anonymous(kind: str) -> None:
    case = check_intake(raw(kind=kind, requester={"name": "", "phone": "", "anonymous": True}), DICTIONARY, TODAY)
    assert case.requester.name == ANONYMOUS_NAME and case.requester.phone is None


def test_other_kinds_may_not_be_anonymous_and_anonymity_gives_no_name_or_id() -> None:
    assert errors_of(raw(kind="help", requester={"name": "", "anonymous": True})) == {
        "requester.anonymous": "求助不能匿名登记,只有咨询、举报、建议可以匿名"}
    assert errors_of(raw(kind="report", requester={"anonymous": True, "id_number": "11010519491231002X"})) == {
        "requester.name": "匿名登记不填姓名", "requester.id_number": "匿名登记不填身份证号"}
    assert errors_of(raw(requester={"anonymous": "yes"}))["requester.anonymous"] == "是否匿名应为 true 或 false"


def test_a_named_requester_needs_a_name_but_no_phone() -> None:
    assert check_intake(raw(channel="letter", requester={"phone": None}), DICTIONARY, TODAY).requester.phone is None
    assert errors_of(raw(requester={"name": "  "})) == {"requester.name": "请填写诉求人姓名"}


def test_types_lengths_references_and_unknown_fields_are_field_errors() -> None:
    assert errors_of({**raw(subject=5, content=None), "requester": "张三"}) == {
        "subject": "诉求标题应为文本", "content": "请填写诉求内容",
        "requester": "诉求人应为对象,如 {\"name\": …, \"phone\": …}"}
    assert errors_of(raw(subject="长" * 201)) == {"subject": "诉求标题最多 200 个字"}
    assert errors_of(raw(duplicate_of=2**31, call_id=True)) == {"duplicate_of": "重复件关联无效",
                                                                "call_id": "来电关联无效"}
    assert check_intake(raw(duplicate_of="12"), DICTIONARY, TODAY).duplicate_of == 12  # the page sends text
    assert errors_of(raw(status="closed", requester={"unit_id": 3})) == {"status": "未知字段",
                                                                         "requester.unit_id": "未知字段"}


def test_dictionary_codes_are_checked_with_the_code_in_the_message() -> None:
    assert errors_of(raw(kind="gossip", channel="", category="无此分类")) == {
        "kind": "诉求类型无效:gossip", "channel": "请选择来源渠道", "category": "事项分类无效:无此分类"}


def test_the_location_is_kept_apart_from_the_requesters_address() -> None:
    case = check_intake(raw(location=" 北塘区北塘街道北塘家园5号楼 ", lat="31.5", lng=120.3,
                            requester={"address": "滨湖区蠡湖街道1号"}), DICTIONARY, TODAY)
    assert (case.location, case.point, case.requester.address) == ("北塘区北塘街道北塘家园5号楼", (31.5, 120.3),
                                                                   "滨湖区蠡湖街道1号")
    assert check_intake(raw(), DICTIONARY, TODAY).location is None
    assert errors_of(raw(location="楼" * 201)) == {"location": "事发地点最多 200 个字"}


@pytest.mark.parametrize(("point", "field"), [
    ({"lat": 31.5}, "lng"), ({"lng": 120.3}, "lat"), ({"lat": 91, "lng": 0}, "lat"),
    ({"lat": 0, "lng": "东经120"}, "lng"), ({"lat": "nan", "lng": 1}, "lat"), ({"lat": True, "lng": 1}, "lat"),
])
def test_a_map_point_is_both_coordinates_in_range_or_none(point: dict[str, Any], field: str) -> None:
    assert list(errors_of(raw(**point))) == [field]
