"""Hot words of a period: what people are calling about, from the cases' subjects and contents (jieba, precise
mode, no HMM), without the words every appeal says (the stop list) and single characters."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from app.domain.knowledge import segmenter

STOP_WORDS = frozenset("""
反映 问题 希望 请求 要求 处理 解决 尽快 相关 部门 有关 核实 协调 情况 进行 已经 多次
一直 目前 现在 没有 无人 不能 影响 正常 生活 居民 市民 来电 诉求 反应 称 表示 认为
我们 他们 自己 这个 那个 一下 可以 需要 是否 还是 因为 所以 如果 但是 而且 以及 或者
持续 天 号 楼 小区 街道 社区 附近 门口 周边 区域 地方 时间 今天 昨天 每天 现场 原因
方面
""".split())  # noqa: SIM905 — a word list reads better as text


def hot_words(texts: Iterable[str], top: int = 30, stop: frozenset[str] = STOP_WORDS) -> list[tuple[str, int]]:
    """The most frequent words of the texts (each text counts a word once), most frequent first."""
    jieba = segmenter()
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update({w for w in jieba.lcut(text, HMM=False) if len(w) > 1 and w not in stop
                       and not w.isdigit() and any("\u4e00" <= ch <= "\u9fff" for ch in w)})
    return counts.most_common(top)
