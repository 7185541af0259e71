"""The intake guards (app.domain.intake_guards) on the stock rules: events trigger, risks and questions do not."""

from __future__ import annotations

import pytest

from app.domain.intake_guards import DEFAULT_RULES, guard_for, rule_errors, rules_from

RULES = rules_from(DEFAULT_RULES)


@pytest.mark.parametrize(("text", "code"), [
    ("楼下饭店厨房着火了,浓烟很大", "fire"), ("仓库发生火灾了", "fire"), ("路口有人受伤流血", "injury"),
    ("有人持刀抢劫", "crime"), ("十字路口发生车祸", "traffic"), ("我想起诉开发商", "litigation"),
    ("要申请劳动仲裁", "arbitration"), ("举报某科长违纪,请纪委查处", "discipline"),
    ("这件事已经信访过,信访部门正在处理", "petition_pending"), ("ｆｕｌｌ 着 火 了", "fire"),
])
def test_an_event_or_a_matter_for_another_channel_is_caught(text: str, code: str) -> None:
    found = guard_for([text], RULES, "complaint")
    assert found is not None and found.code == code


@pytest.mark.parametrize("text", [
    "楼道堆满杂物,存在火灾隐患", "万一着火后果不堪设想", "热水器打不着火", "请清理杂物以免发生火灾",
    "露天烧烤浓烟滚滚,油烟呛人", "小区停水三天",
])
def test_a_risk_or_an_ordinary_appeal_is_not_an_emergency(text: str) -> None:
    assert guard_for([text], RULES, "complaint") is None


def test_a_question_about_arbitration_is_answered_but_an_emergency_is_still_one() -> None:
    assert guard_for(["劳动仲裁要钱吗"], RULES, "consultation") is None
    assert guard_for(["家里着火了怎么办"], RULES, "consultation").code == "fire"  # type: ignore[union-attr]


def test_the_setting_refuses_malformed_rules() -> None:
    assert rule_errors(DEFAULT_RULES) is None
    assert rule_errors([{"code": "x", "action": "ignore", "keywords": ["a"], "answer": "b"}]) == (
        "「x」的 action 只能是 emergency、other_channel")
    assert rule_errors("nope") == "应为至多 50 条规则的列表"
