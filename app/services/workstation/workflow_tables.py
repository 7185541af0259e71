"""What the workstation knows about the stock workflows/*.bpmn without asking the engine.

These tables mirror the BPMN files (and forms/dispatch.json) by hand: change them together. A unit test
(tests/unit/workflows/test_workflow_tables.py) fails when a rule key, mode or task id named here is no
longer used by the stock definitions.
"""

from __future__ import annotations

# The 办理方式 a dispatcher chooses (the dispatch_mode options of forms/dispatch.json).
MODE_LABELS = {"self_handle": "自办", "transfer": "转送", "assign": "交办", "co_handle": "协办"}

# What the first timed step after 派单 is, per process and mode: (step, deadline rule key), the keys as
# the BPMN's deadlineRule / deadlineRuleExpression name them; '{kind}' is the case's kind. The handling
# period starts when the unit signs for the case.
AFTER_DISPATCH: dict[str, dict[str, list[tuple[str, str]]]] = {
    "hotline_order": {
        "self_handle": [("办理", "hotline.{kind}")],
        "transfer": [("签收", "hotline.accept"), ("办理", "hotline.{kind}")],
        "assign": [("领导批示后签收", "hotline.accept"), ("办理", "hotline.{kind}")],
        "co_handle": [("签收", "hotline.accept"), ("办理", "hotline.{kind}")],
    },
    "petition": {
        "self_handle": [("办理", "petition.handle")],
        "transfer": [("签收", "petition.objection"), ("办理", "petition.handle")],
        "assign": [("领导批示后签收", "petition.objection"), ("办理", "petition.handle")],
        "co_handle": [("签收", "petition.objection"), ("办理", "petition.handle")],
    },
}

# The leader's approval queues: user task id → queue title.
LEADER_QUEUES = {"approve_extension": "延期审批", "approve_rejection": "不予受理审批",
                 "review_return": "退回审核", "instruct": "交办批示"}

PINNED_TASK = "supervision_feedback"  # 督办反馈: a leader is waiting, so it tops the worklist
