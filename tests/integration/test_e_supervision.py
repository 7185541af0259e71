"""电子监察 flags on both databases, on the frozen clock: each flag appears on the case built to trip it and
on no other; the combined query's `flag` condition finds exactly the cases showing the flag, at every step;
the leaders' table and `flask supervision report` count them per unit and month."""

from __future__ import annotations

import pytest
from lifecycle_driver import Api, unit_ids

from app.domain import e_supervision as es
from app.services import admin
from app.services.actors import Actor


@pytest.fixture
def api(client, demo) -> Api:  # type: ignore[no-untyped-def]
    return Api(client)


@pytest.fixture
def units(demo) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return unit_ids(demo)


def later(api: Api, clock, days: int) -> None:  # type: ignore[no-untyped-def]
    """Move the frozen clock on; tokens expire meanwhile, so every user signs in again."""
    clock.advance(days=days)
    api.tokens.clear()


def flags(api: Api, case_id: int) -> list[str]:
    """The case's flags — and, each time, that `GET /api/v1/cases?flag=…` (SQL) agrees with them (Python)."""
    case = api.case(case_id)
    for code in es.QUERYABLE:
        found = api.call("leader01", "GET", f"/cases?flag={code}&number={case['number']}")
        assert found.status_code == 200, found.get_json()
        assert bool(found.get_json()["items"]) == (code in case["flags"]), (code, case["flags"])
    return list(case["flags"])


def test_the_query_refuses_late_return_in_chinese_naming_the_key(api):
    response = api.call("leader01", "GET", "/cases?flag=late_return")
    assert response.status_code == 422
    assert "flag" in response.get_json()["details"] and "退回超时" in response.get_json()["message"]
    assert api.call("leader01", "GET", "/cases?flag=late").status_code == 422


def dispatched(api: Api, units: dict[str, int]) -> int:
    """A complaint accepted and transferred to 市城管局 the same day: waiting for its 签收."""
    case_id = int(api.register()["id"])
    api.complete("dispatch01", case_id, "accept", accept_decision="accept", kind="complaint")
    api.complete("dispatch01", case_id, "dispatch", dispatch_mode="transfer", lead_unit_id=units["cgj"],
                 directly_designated=False)
    return case_id


def signed(api: Api, units: dict[str, int]) -> int:
    case_id = dispatched(api, units)
    api.complete("cg01", case_id, "sign_for", sign_note="已签收")
    return case_id


def test_a_case_handled_on_time_has_no_flag(api, units, clock):
    case_id = signed(api, units)
    later(api, clock, 2)
    api.complete("cg01", case_id, "handle", handle_action="reply", handling_notes="已处理")
    api.complete("cg01", case_id, "reply", reply_outcome="support", reply_opinion="已解决。")
    api.complete("agent01", case_id, "follow_up", satisfaction="satisfied", resolved=True, follow_up_method="phone")
    later(api, clock, 60)
    assert flags(api, case_id) == []


def test_a_case_nobody_signs_for_is_late_acceptance_only(api, units, clock):
    case_id = dispatched(api, units)
    assert flags(api, case_id) == []
    later(api, clock, 3)  # 签收 within 1 working day
    assert flags(api, case_id) == ["late_acceptance"]
    api.complete("cg01", case_id, "sign_for", sign_note="迟签")
    assert flags(api, case_id) == ["late_acceptance"], "a late sign-for stays on the record"


def test_a_case_not_closed_in_its_period_is_late_closing_only(api, units, clock):
    case_id = signed(api, units)
    later(api, clock, 20)  # 投诉 15 working days
    assert flags(api, case_id) == []
    later(api, clock, 10)
    assert flags(api, case_id) == ["late_closing"]


def test_a_return_asked_after_the_window_is_late_return_only(api, units, clock):
    on_time = signed(api, units)
    api.complete("cg01", on_time, "handle", handle_action="return", return_reason="不属于我局职责")
    assert flags(api, on_time) == []
    # the centre decides the on-time return at once (its own 审核 has a clock too: left waiting, it is late_return)
    api.complete("dispatch01", on_time, "review_return", return_review="refuse",
                 return_review_opinion="属于你单位职责。")
    late = signed(api, units)
    later(api, clock, 7)  # 退单 within 2 working days of sign-for
    api.complete("cg01", late, "handle", handle_action="return", return_reason="不属于我局职责")
    assert flags(api, late) == ["late_return"]
    assert flags(api, on_time) == []


def test_a_supervision_left_unanswered_when_the_unit_replies_is_flagged_only_there(api, units):
    answered, unanswered = signed(api, units), signed(api, units)
    for case_id in (answered, unanswered):
        api.supervise(case_id, "请加快办理")
    api.complete("cg01", answered, "supervision_feedback", supervision_feedback="已安排人员现场处理")
    for case_id in (answered, unanswered):
        api.complete("cg01", case_id, "handle", handle_action="reply", handling_notes="已处理")
        assert flags(api, case_id) == []  # still handling: the feedback may yet come
        api.complete("cg01", case_id, "reply", reply_outcome="support", reply_opinion="已解决。")
    assert flags(api, unanswered) == ["supervision_unanswered"]
    assert flags(api, answered) == []


def test_an_extension_past_the_rules_limit_is_flagged(api, units, demo):
    case_id = signed(api, units)
    api.complete("cg01", case_id, "handle", handle_action="extend", requested_extension_days=8,
                 extension_reason="需现场勘查")
    api.complete("cgleader01", case_id, "approve_extension", extension_decision="approve",
                 approved_extension_days=8, extension_opinion="同意")
    assert flags(api, case_id) == []
    admin.update_rule(demo, Actor(label="admin", permissions=frozenset({"settings.edit"})), "hotline.complaint",
                      {"max_extension": 5})
    assert flags(api, case_id) == ["extension_over_limit"]


def test_a_petition_whose_written_notice_is_not_served_in_15_days_is_late_notice_only(api, clock):
    case_id = int(api.register(channel="letter", kind="complaint")["id"])
    api.complete("dispatch01", case_id, "accept", accept_decision="accept", kind="complaint")
    later(api, clock, 14)
    assert flags(api, case_id) == []
    later(api, clock, 2)
    assert flags(api, case_id) == ["late_notice"]


def test_the_leaders_table_and_the_cli_count_flags_per_unit_for_the_month(app, api, units, clock):
    late_sign = dispatched(api, units)
    signed(api, units)  # on time
    later(api, clock, 3)
    assert flags(api, late_sign) == ["late_acceptance"]
    table = api.call("leader01", "GET", "/supervision", query_string={"month": "2026-11"}).get_json()
    rows = {r["unit"]: r for r in table["units"]}
    assert rows["市城管局"]["counts"]["late_acceptance"] == 1 and rows["市城管局"]["total"] == 1
    assert table["flags"]["late_acceptance"] == "超期未受理/未签收"
    assert sum(r["total"] for r in table["units"]) == 1
    assert api.call("leader01", "GET", "/supervision", query_string={"month": "2026-12"}).get_json()[
        "units"][0]["total"] == 0
    assert api.call("leader01", "GET", "/supervision", query_string={"month": "11/2026"}).status_code == 422
    assert api.call("agent01", "GET", "/supervision", query_string={"month": "2026-11"}).status_code == 403

    result = app.test_cli_runner().invoke(args=["supervision", "report", "--month", "2026-11"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[0].split("\t")[:2] == ["单位", "超期未受理/未签收"]
    cgj = next(line.split("\t") for line in lines if line.startswith("市城管局\t"))
    assert cgj[1] == "1" and cgj[-1] == "1"
    assert len(lines) - 1 == len(units), "one row per unit"
    bad = app.test_cli_runner().invoke(args=["supervision", "report", "--month", "2026-13"])
    assert bad.exit_code != 0


def test_the_supervision_page_shows_the_table_to_leaders_only(api, units, auth, client, clock):
    dispatched(api, units)
    later(api, clock, 3)
    auth.login("leader01")
    page = client.get("/supervision?month=2026-11").get_data(as_text=True)
    assert "超期未受理/未签收" in page and "市城管局" in page
    assert client.get("/supervision?month=bad").status_code == 422
    auth.logout()
    auth.login("agent01")
    assert client.get("/supervision").status_code == 403
