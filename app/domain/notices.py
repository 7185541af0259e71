"""The written notices to the requester the 信访工作条例 requires: which step each follows, the article it
cites, and the codes of outcomes and of the ways a notice is served (送达); the words are the dictionary's."""

from __future__ import annotations

from dataclasses import dataclass

SERVE_METHOD_KIND = "serve_method"
SERVE_METHODS: dict[str, str] = {"sms": "短信", "post": "邮寄", "in_person": "直接送达", "portal": "网上送达"}
REPLY_OUTCOME_KIND = "reply_outcome"
REPLY_OUTCOMES: dict[str, str] = {"support": "支持", "explain": "解释说明", "not_support": "不予支持"}
REVIEW_RESULT_KIND = "review_result"
REVIEW_RESULTS: dict[str, str] = {"uphold": "维持原处理意见", "revise": "撤销或者变更原处理意见"}


@dataclass(frozen=True)
class NoticeStep:
    """The step a notice records: the task whose completion it follows, the answer that must have been given
    (field, value) and where its outcome is read from (a field, or a fixed outcome code)."""

    task: str
    field: str | None
    value: str | None
    article: str
    outcome_field: str | None = None
    outcome_kind: str | None = None
    fixed_outcome: str | None = None


NOTICE_STEPS: dict[str, NoticeStep] = {
    "acceptance_notice": NoticeStep("accept", "accept_decision", "accept", "《信访工作条例》第二十三条",
                                    fixed_outcome="受理"),
    "rejection_notice": NoticeStep("approve_rejection", "rejection_approval", "approve",
                                   "《信访工作条例》第二十三条", fixed_outcome="不予受理"),
    "extension_notice": NoticeStep("approve_extension", "extension_decision", "approve",
                                   "《信访工作条例》第三十四条", fixed_outcome="延长办理期限"),
    "handling_opinion": NoticeStep("reply", None, None, "《信访工作条例》第三十二条", "reply_outcome",
                                   REPLY_OUTCOME_KIND),
    "review_opinion": NoticeStep("review_decision", None, None, "《信访工作条例》第三十五条", "review_result",
                                 REVIEW_RESULT_KIND),
    "re_review_opinion": NoticeStep("re_review_decision", None, None, "《信访工作条例》第三十六条",
                                    "re_review_result", REVIEW_RESULT_KIND),
}
