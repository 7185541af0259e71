"""The official rates of a report, as pure arithmetic over counts, each with the words that define it.

国信发〔2022〕11号 practice: 及时受理率, 按期办结率 (按期答复率), 重复信访, 群众参评率, 参评群众满意率.
北京接诉即办 practice: 响应率, 解决率, 满意率 = (满意 + 0.9 × 基本满意) / 有效回访 and the weighted score
0.1 × 响应率 + 0.5 × 解决率 + 0.4 × 满意率 — the factor and the weights are settings (`reports.*`).
The balance (平衡校验): carried over + new = closed + returned + terminated + open at the end.
A rate whose denominator is zero is None ("—" on the page), never 0 or 100 %.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass(frozen=True)
class Counts:
    """What a period's cases add up to (app/services/reports.py counts them)."""

    new: int = 0  # registered in the period
    accepted: int = 0  # given a lead unit in the period
    accepted_on_time: int = 0
    dispatched: int = 0  # of those, cases with a lead unit that had to respond (= accepted)
    responded: int = 0  # the lead unit acted on it (签收/办理) — of the accepted in the period
    replied: int = 0  # answered in the period
    replied_on_time: int = 0
    repeat: int = 0  # registered in the period as a repeat of an earlier appeal (重复件)
    rated: int = 0  # 回访 in the period with a satisfaction given (有效回访)
    satisfied: int = 0
    basically_satisfied: int = 0
    unsatisfied: int = 0
    resolved: int = 0  # of the rated, the requester says it was solved
    extensions: int = 0  # of the cases finished in the period
    returns: int = 0
    reopens: int = 0
    supervisions: int = 0
    pauses: int = 0  # pauses started in the period
    knowledge_hits: int = 0  # 知识库命中: cases answered with an entry (用此答复) in the period, for the entry's owner


@dataclass(frozen=True)
class Balance:
    carried_over: int  # open when the period began
    new: int
    closed: int  # 办结/归档 in the period
    returned: int  # 不予受理, 转紧急热线, 告知其他渠道 in the period
    terminated: int  # 终结 in the period
    open_at_end: int

    @property
    def ok(self) -> bool:
        return self.carried_over + self.new == self.closed + self.returned + self.terminated + self.open_at_end

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


@dataclass(frozen=True)
class Weights:
    """北京 practice; settings `reports.basic_satisfaction_factor` and `reports.score_weights`."""

    basic_factor: float = 0.9
    response: float = 0.1
    resolution: float = 0.5
    satisfaction: float = 0.4


def ratio(part: int | float, whole: int | float) -> float | None:
    return None if not whole else part / whole


# code → (Chinese name, definition shown on the report)
DEFINITIONS: dict[str, tuple[str, str]] = {
    "timely_acceptance_rate": ("及时受理率", "按时限受理(交办)的件数 ÷ 本期受理的件数"),
    "on_time_reply_rate": ("按期办结率(按期答复率)", "在办理时限内答复的件数 ÷ 本期答复的件数"),
    "repeat_count": ("重复信访", "本期登记的重复件数(同一诉求人就同一事项再次反映)"),
    "repeat_rate": ("重复信访率", "重复件数 ÷ 本期新登记的件数"),
    "participation_rate": ("群众参评率", "本期有效回访(作出满意度评价)的件数 ÷ 本期答复的件数"),
    "participant_satisfaction_rate": ("参评群众满意率", "(满意 + 基本满意) ÷ 有效回访件数"),
    "response_rate": ("响应率", "承办单位已签收或办理的件数 ÷ 本期交办给承办单位的件数"),
    "resolution_rate": ("解决率", "回访中诉求人认为已解决的件数 ÷ 有效回访件数"),
    "satisfaction_rate": ("满意率", "(满意 + 系数 × 基本满意) ÷ 有效回访件数"),
    "score": ("综合得分", "权重 × 响应率 + 权重 × 解决率 + 权重 × 满意率(× 100)"),
}


def rates(c: Counts, w: Weights) -> dict[str, float | int | None]:
    """Every named rate of a period (fractions 0–1; `score` 0–100; `repeat_count` a count)."""
    response = ratio(c.responded, c.dispatched)
    resolution = ratio(c.resolved, c.rated)
    satisfaction = ratio(c.satisfied + w.basic_factor * c.basically_satisfied, c.rated)
    parts = [(w.response, response), (w.resolution, resolution), (w.satisfaction, satisfaction)]
    score = None if any(v is None for _, v in parts) else 100 * sum(k * (v or 0) for k, v in parts)
    return {
        "timely_acceptance_rate": ratio(c.accepted_on_time, c.accepted),
        "on_time_reply_rate": ratio(c.replied_on_time, c.replied),
        "repeat_count": c.repeat,
        "repeat_rate": ratio(c.repeat, c.new),
        "participation_rate": ratio(c.rated, c.replied),
        "participant_satisfaction_rate": ratio(c.satisfied + c.basically_satisfied, c.rated),
        "response_rate": response,
        "resolution_rate": resolution,
        "satisfaction_rate": satisfaction,
        "score": score,
    }


def definitions(w: Weights) -> list[dict[str, str]]:
    """The definitions with the configured factor and weights written in."""
    words = dict(DEFINITIONS)
    words["satisfaction_rate"] = ("满意率", f"(满意 + {w.basic_factor:g} × 基本满意) ÷ 有效回访件数")
    words["score"] = ("综合得分", f"({w.response:g} × 响应率 + {w.resolution:g} × 解决率 + "
                               f"{w.satisfaction:g} × 满意率) × 100")
    return [{"code": code, "name": name, "definition": text} for code, (name, text) in words.items()]


def counts_from(values: dict[str, Any]) -> Counts:
    """Counts from a row of sums (None, as SQL sums of nothing are, reads 0)."""
    return Counts(**{f.name: int(values.get(f.name) or 0) for f in fields(Counts)})
