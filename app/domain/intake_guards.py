"""Intake guards: what the hotline or a petition office must not take in as an ordinary appeal.

北京市接诉即办工作条例 art. 11: an emergency (fire, injury, a crime in progress, a traffic accident) goes to
110/119/120/122 at once; 信访工作条例 art. 22 ¶2: a matter for litigation, arbitration, 纪检监察, or one
already in a 信访 procedure is answered with the right channel. Such a registration is recorded — with the
answer given — and never dispatched.

The rules are data (the setting `intake.guards`, edited at /admin/settings): each has a `code`, an `action`
(`emergency` → status transferred, `other_channel` → status redirected), the keywords that trigger it and the
answer the requester is given. Nothing here compares a Chinese label; keywords are matched on the subject
and content after NFKC normalisation (full-width letters, spaces removed).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["ACTIONS", "ANSWERED_KINDS", "DEFAULT_RULES", "GuardRule", "guard_for", "rule_errors", "rules_from"]

ACTIONS = ("emergency", "other_channel")


@dataclass(frozen=True)
class GuardRule:
    code: str
    action: str  # one of ACTIONS
    keywords: tuple[str, ...]
    answer: str


def _norm(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split()).lower()


# Words that make what follows a risk or a supposition, not an event ("存在火灾隐患", "万一着火", "以免起火"):
# a keyword right after one of them, or right before 隐患, does not trigger an emergency.
_SUPPOSING = ("万一", "以免", "防止", "避免", "如果", "一旦", "容易", "可能", "担心", "预防", "防范", "存在")
_RISK_AFTER = ("隐患", "风险", "演练", "宣传")


def _occurs(text: str, keyword: str, *, factual: bool) -> bool:
    start = text.find(keyword)
    while start >= 0:
        before, after = text[max(0, start - 4):start], text[start + len(keyword):start + len(keyword) + 2]
        if not factual or not (any(w in before for w in _SUPPOSING) or after.startswith(_RISK_AFTER)):
            return True
        start = text.find(keyword, start + 1)
    return False


ANSWERED_KINDS = frozenset({"consultation"})  # a question about a court or an arbitration is answered, not redirected


def guard_for(texts: Iterable[str | None], rules: Sequence[GuardRule], kind: str | None = None) -> GuardRule | None:
    """The first rule (emergencies first) a keyword of which occurs in the texts, or None. An emergency
    keyword counts only as an event: not after 万一/以免/存在 …, nor before 隐患 (a fire *hazard* is an
    ordinary appeal for the fire brigade's inspection, not a 119 call). A 咨询 (`ANSWERED_KINDS`) meets only
    the emergency rules: "劳动仲裁要钱吗" is a question the hotline answers."""
    joined = _norm(" ".join(t for t in texts if t))
    ordered = sorted(rules, key=lambda r: ACTIONS.index(r.action) if r.action in ACTIONS else len(ACTIONS))
    for rule in ordered:
        factual = rule.action == "emergency"
        if not factual and kind in ANSWERED_KINDS:
            continue
        if any(k and _occurs(joined, _norm(k), factual=factual) for k in rule.keywords):
            return rule
    return None


def rules_from(value: Any) -> list[GuardRule]:
    """The setting's list as rules (the setting was checked by rule_errors when saved)."""
    return [GuardRule(code=str(r["code"]), action=str(r["action"]), keywords=tuple(str(k) for k in r["keywords"]),
                      answer=str(r["answer"])) for r in value or []]


def rule_errors(value: Any) -> str | None:
    """Why a value cannot be the setting (Chinese), or None."""
    if not isinstance(value, list) or len(value) > 50:
        return "应为至多 50 条规则的列表"
    codes = set()
    for rule in value:
        if not isinstance(rule, Mapping) or set(rule) != {"code", "action", "keywords", "answer"}:
            return "每条规则应为 {code, action, keywords, answer}"
        code = rule["code"]
        if not isinstance(code, str) or not code.isascii() or not 1 <= len(code) <= 30 or code in codes:
            return "每条规则的 code 应为 1–30 个英文字符且不重复"
        if rule["action"] not in ACTIONS:
            return f"「{code}」的 action 只能是 {'、'.join(ACTIONS)}"
        keywords = rule["keywords"]
        if (not isinstance(keywords, list) or not 1 <= len(keywords) <= 100
                or not all(isinstance(k, str) and 1 <= len(k.strip()) <= 30 for k in keywords)):
            return f"「{code}」的 keywords 应为 1–100 个、每个 1–30 字的关键词"
        if not isinstance(rule["answer"], str) or not 1 <= len(rule["answer"]) <= 500:
            return f"「{code}」的 answer 应为 1–500 字"
        codes.add(code)
    return None


DEFAULT_RULES: list[dict[str, Any]] = [
    {"code": "fire", "action": "emergency",
     "keywords": ["着火了", "失火了", "起火了", "烧起来了", "发生火灾", "火灾现场", "大火"],
     "answer": "您反映的是火警等紧急情况,请立即拨打 119 火警电话。本次诉求已记录为转紧急热线,不再派单办理。"},
    {"code": "injury", "action": "emergency",
     "keywords": ["有人受伤", "受伤流血", "昏迷", "晕倒在地", "心脏骤停", "急救", "救护车"],
     "answer": "您反映的是人身伤害或急病等紧急情况,请立即拨打 120 急救电话。本次诉求已记录为转紧急热线,不再派单办理。"},
    {"code": "crime", "action": "emergency",
     "keywords": ["正在打人", "正在打架", "抢劫", "持刀", "入室盗窃", "正在偷", "绑架", "有人行凶"],
     "answer": "您反映的是正在发生的违法犯罪,请立即拨打 110 报警电话。本次诉求已记录为转紧急热线,不再派单办理。"},
    {"code": "traffic", "action": "emergency", "keywords": ["车祸", "交通事故", "撞车", "撞人"],
     "answer": "您反映的是交通事故,请立即拨打 122 交通事故报警电话。本次诉求已记录为转紧急热线,不再派单办理。"},
    {"code": "litigation", "action": "other_channel",
     "keywords": ["起诉", "诉讼", "法院判决", "上诉", "申请再审", "申请强制执行"],
     "answer": "已经或者依法应当通过诉讼解决的事项,请向人民法院提出(《信访工作条例》第二十二条第二款)。"
               "本次诉求已记录,不再派单办理。"},
    {"code": "arbitration", "action": "other_channel", "keywords": ["仲裁"],
     "answer": "依法应当通过仲裁解决的事项,请向有管辖权的仲裁机构(劳动争议请向劳动人事争议仲裁委员会)申请。"
               "本次诉求已记录,不再派单办理。"},
    {"code": "discipline", "action": "other_channel", "keywords": ["纪委", "纪检", "监委", "监察委", "违纪"],
     "answer": "反映公职人员违纪违法的,请向纪检监察机关举报(12388)。本次诉求已记录,不再派单办理。"},
    {"code": "petition_pending", "action": "other_channel",
     "keywords": ["已在信访", "已经信访", "信访部门正在处理", "信访事项正在办理"],
     "answer": "已经进入信访程序的事项,请向正在办理的信访部门查询办理进度,不再重复受理。本次诉求已记录。"},
]
