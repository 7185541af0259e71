"""电子监察 flags: what each code means and the one rule of lateness; the words live in the dictionary.

A flag is derived, never typed in: from the task projection (a step's due date and when it was done),
the case's running periods and the audit trail (信访工作条例 arts. 43–45, 北京市接诉即办工作条例 art. 35).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

DICTIONARY_KIND = "e_supervision_flag"

LATE_ACCEPTANCE = "late_acceptance"  # 超期未受理/未签收
LATE_NOTICE = "late_notice"  # 超期未告知 (the written notice within 15 days, 条例 art. 23)
LATE_CLOSING = "late_closing"  # 超期未办结
LATE_RETURN = "late_return"  # 退回超时 (asked after the return window, or its review late)
SUPERVISION_UNANSWERED = "supervision_unanswered"  # 督办未反馈
EXTENSION_OVER_LIMIT = "extension_over_limit"  # 延期超过上限

# The seed words, in the order the report prints them; administrators rename them in the dictionary.
STOCK_LABELS: dict[str, str] = {
    LATE_ACCEPTANCE: "超期未受理/未签收", LATE_NOTICE: "超期未告知", LATE_CLOSING: "超期未办结",
    LATE_RETURN: "退回超时", SUPERVISION_UNANSWERED: "督办未反馈", EXTENSION_OVER_LIMIT: "延期超过上限",
}
CODES = tuple(STOCK_LABELS)
# The flags the combined query can ask for in SQL. A 退回超时 is judged against a window of working days from
# the unit's sign-for (the working calendar, in Python): it shows on the case and in the monthly table only.
QUERYABLE = tuple(c for c in CODES if c != LATE_RETURN)

# Which steps (BPMN user task ids of the stock processes) a late completion flags, by flag.
STEP_FLAGS: dict[str, str] = {
    "accept": LATE_ACCEPTANCE, "sign_for": LATE_ACCEPTANCE,
    "handle": LATE_CLOSING, "consolidate": LATE_CLOSING, "assisting_input": LATE_CLOSING,
    "report": LATE_CLOSING, "reply": LATE_CLOSING,
    "review_decision": LATE_CLOSING, "re_review_decision": LATE_CLOSING,
    "review_return": LATE_RETURN,
    "supervision_feedback": SUPERVISION_UNANSWERED,
}
FEEDBACK_STEP = "supervision_feedback"  # cancelled unanswered (the handling ended) is itself a flag
NOTICE_RULE = "petition.notify"  # the 15-day written notice's period (条例 art. 23)
RETURN_RULE = "hotline.return"  # the window after sign-for in which a unit may ask to return a case


@dataclass(frozen=True)
class Flag:
    """One flag of one case: which, the unit answerable for it and when it tripped."""

    code: str
    case_id: int
    unit_id: int | None
    at: datetime


def late(due_at: datetime | None, done_at: datetime | None, now: datetime) -> bool:
    """A step is late when it was done after its due time, or is still not done and the time has passed."""
    if due_at is None:
        return False
    return (done_at or now) > due_at
