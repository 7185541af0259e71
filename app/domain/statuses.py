"""Case status codes: what a BPMN step's `caseStatus` names and what Python compares.

The words users read live in the data dictionary (kind `case_status`, seeded from STOCK_LABELS and
renamable by administrators); no code compares them. LEGACY_CODES is history, not a second home:
definitions deployed before migration 0004_status_codes emit the old Chinese words, and running cases stay on them.
"""

from __future__ import annotations

DICTIONARY_KIND = "case_status"

REGISTERED = "registered"
DISPATCHING = "dispatching"
HANDLING = "handling"
APPROVING = "approving"
REPLIED = "replied"
FOLLOW_UP = "follow_up"
REVIEWING = "reviewing"
RE_REVIEWING = "re_reviewing"
CLOSED = "closed"
ARCHIVED = "archived"
REJECTED = "rejected"
TERMINATED = "terminated"
# Intake guards (北京接诉即办条例 art. 11, 信访工作条例 art. 22 ¶2): recorded, never dispatched.
TRANSFERRED = "transferred"  # an emergency: the requester was told to call 110/119/120/122
REDIRECTED = "redirected"  # litigation, arbitration, 纪检监察, an item already in 信访: told the right channel

# The seed words, in the order lists show them; administrators rename them in the dictionary.
STOCK_LABELS: dict[str, str] = {
    REGISTERED: "待受理", DISPATCHING: "待派单", HANDLING: "办理中", APPROVING: "待审批",
    REPLIED: "已答复", FOLLOW_UP: "待回访", REVIEWING: "复查中", RE_REVIEWING: "复核中",
    CLOSED: "已办结", ARCHIVED: "已归档", REJECTED: "不予受理", TERMINATED: "已终结",
    TRANSFERRED: "已转紧急热线", REDIRECTED: "已告知其他渠道",
}

# Frozen: the words the definitions deployed before codes carried (kept even if the seed words change).
LEGACY_CODES: dict[str, str] = {
    "待受理": REGISTERED, "待派单": DISPATCHING, "办理中": HANDLING, "待审批": APPROVING,
    "已答复": REPLIED, "待回访": FOLLOW_UP, "复查中": REVIEWING, "复核中": RE_REVIEWING,
    "已办结": CLOSED, "已归档": ARCHIVED, "不予受理": REJECTED, "已终结": TERMINATED,
}

# The requester has been answered: reaching one of these (from neither) sends the reply SMS.
ANSWERED = frozenset({FOLLOW_UP, REPLIED})

# Nothing more will be done: the case is over (a 回访 or 复查 can still follow an answered one, so those stay open).
FINISHED = frozenset({CLOSED, ARCHIVED, REJECTED, TERMINATED, TRANSFERRED, REDIRECTED})


def status_code(value: str) -> str:
    """The code for what a run reports: a code as it is, an old definition's word as its code."""
    return LEGACY_CODES.get(value, value)


def open311_status(value: str) -> str:
    """GeoReport v2 knows two states: `closed` once the case is finished, `open` until then."""
    return "closed" if status_code(value) in FINISHED else "open"
