"""矛盾纠纷排查 by keywords: the words an administrator lists (setting `screening.rules`), each with a level;
a case's subject and content are screened at intake (and on any later change of its text). Pure: no database.

Levels: `high` (重大: 扬言自杀、跳楼, 群体, 堵路 — the centre's leader is told at once by SMS), `medium` (较大),
`low` (一般). A word matches as written (case-insensitively for Latin letters); the strongest level wins.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

LEVELS = {"high": "重大", "medium": "较大", "low": "一般"}
RANK = {"high": 3, "medium": 2, "low": 1}

DEFAULT_RULES: list[dict[str, str]] = [
    {"word": "扬言", "level": "high"}, {"word": "自杀", "level": "high"}, {"word": "跳楼", "level": "high"},
    {"word": "自焚", "level": "high"}, {"word": "同归于尽", "level": "high"}, {"word": "群体", "level": "high"},
    {"word": "堵路", "level": "high"}, {"word": "围堵", "level": "high"}, {"word": "讨薪", "level": "medium"},
    {"word": "上访", "level": "medium"}, {"word": "进京", "level": "medium"}, {"word": "媒体曝光", "level": "medium"},
    {"word": "拉横幅", "level": "medium"}, {"word": "打架", "level": "low"}, {"word": "纠纷", "level": "low"},
]


@dataclass(frozen=True)
class Match:
    word: str
    level: str


def rules_from(value: Any) -> list[Match]:
    """The stored setting as rules (anything malformed is skipped: the setting's check refuses it anyway)."""
    return [Match(str(r["word"]), str(r["level"])) for r in value or []
            if isinstance(r, dict) and r.get("word") and r.get("level") in LEVELS]


def screen(texts: Iterable[str | None], rules: Iterable[Match]) -> list[Match]:
    """The rules whose word occurs in any of the texts, strongest first, each word once."""
    joined = "\n".join(t for t in texts if t).casefold()
    found = {r.word: r for r in rules if r.word.casefold() in joined}
    return sorted(found.values(), key=lambda m: (-RANK[m.level], m.word))


def top_level(matches: Iterable[Match]) -> str | None:
    return max((m.level for m in matches), key=RANK.__getitem__, default=None)


def rule_errors(value: Any) -> str | None:
    """Why a rule list may not be stored (Chinese), or None."""
    message = '应为 [{"word": "扬言", "level": "high"}, …] 这样的列表,level 为 high、medium 或 low'
    if not isinstance(value, list) or len(value) > 500:
        return message
    words = set()
    for rule in value:
        if not isinstance(rule, dict) or set(rule) != {"word", "level"} or rule["level"] not in LEVELS:
            return message
        word = rule["word"]
        if not isinstance(word, str) or not 1 <= len(word.strip()) <= 20 or word != word.strip():
            return "每个关键字应为 1 到 20 个字(前后不留空格)"
        if word in words:
            return f"关键字重复:{word}"
        words.add(word)
    return None
