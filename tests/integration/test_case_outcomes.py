"""What reports count is mirrored onto the case row as the real process runs (both databases): answered and
responded times, the 回访 result, returns, reopens and supervisions — from the process data, never labels."""

from __future__ import annotations

import pytest
from lifecycle_driver import Api, unit_ids

from app.models import Case


@pytest.fixture
def api(client, demo) -> Api:  # type: ignore[no-untyped-def]
    return Api(client)


def row(platform, case_id: int) -> Case:  # type: ignore[no-untyped-def]
    with platform.db.reading() as session:
        case = session.get(Case, case_id)
        assert case is not None
        session.expunge(case)
        return case


def test_a_returned_supervised_reopened_order_leaves_its_counts_and_rating_on_the_case(api, demo):
    units = unit_ids(demo)
    case_id = int(api.register()["id"])
    api.complete("dispatch01", case_id, "accept", accept_decision="accept", kind="complaint")
    api.complete("dispatch01", case_id, "dispatch", dispatch_mode="transfer", lead_unit_id=units["cgj"],
                 directly_designated=False)
    assert row(demo, case_id).accepted_on_time is True and row(demo, case_id).responded_at is None
    api.complete("cg01", case_id, "sign_for", sign_note="已签收")
    assert row(demo, case_id).responded_at is not None
    api.complete("cg01", case_id, "handle", handle_action="return", return_reason="属于市住建局职责")
    api.complete("dispatch01", case_id, "review_return", return_review="accept", return_review_opinion="同意改派。")
    api.complete("dispatch01", case_id, "dispatch", dispatch_mode="transfer", lead_unit_id=units["zjj"],
                 directly_designated=False)
    api.complete("zj01", case_id, "sign_for")
    api.supervise(case_id, "请加快办理")
    api.complete("zj01", case_id, "handle", handle_action="reply", handling_notes="已处理")
    api.complete("zj01", case_id, "reply", reply_outcome="support", reply_opinion="已解决。")
    case = row(demo, case_id)
    assert (case.replied_at is not None, case.replied_on_time, case.satisfaction) == (True, True, None)
    api.complete("agent01", case_id, "follow_up", satisfaction="unsatisfied", resolved=False)
    case = row(demo, case_id)
    assert (case.satisfaction, case.resolved, case.reopen_count, case.return_count) == ("unsatisfied", False, 1, 1)
    api.complete("zj01", case_id, "sign_for")
    api.complete("zj01", case_id, "handle", handle_action="reply", handling_notes="重办")
    api.complete("zj01", case_id, "reply", reply_outcome="support", reply_opinion="已解决。")
    api.complete("agent01", case_id, "follow_up", satisfaction="basically_satisfied", resolved=True)
    case = row(demo, case_id)
    assert (case.status, case.satisfaction, case.resolved, case.supervision_count) == \
        ("archived", "basically_satisfied", True, 1)
    assert case.closed_at is not None and case.followed_up_at is not None
