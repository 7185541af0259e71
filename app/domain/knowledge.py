"""The knowledge base (知识库): an entry's states and who moves it, and how Chinese text becomes search tokens.

States are codes (`STATES`); their words are the dictionary kind `knowledge_state`. A unit's editors
(knowledge.edit) write and submit their own unit's entries; the centre's reviewers (knowledge.review)
publish, send back and take offline. Only a published entry inside its validity answers at the desk
and on the portal.

Tokens: text is folded (NFKC, lower case, 繁体 → 简体), synonyms are rewritten to the first word of
their group (居住证 = 暂住证), then segmented by jieba (search mode) and cut into character bigrams, so
a phrasing that shares no word literally (another word order, a split compound) still meets the entry.
jieba loads its dictionary once per process, on the first use (~1 s).
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from html.parser import HTMLParser
from typing import Any

DICTIONARY_KIND = "knowledge_state"
DRAFT, PENDING, PUBLISHED, OFFLINE = "draft", "pending", "published", "offline"
STATES: dict[str, str] = {DRAFT: "草稿", PENDING: "待审核", PUBLISHED: "已发布", OFFLINE: "已下线"}

# action → (states it starts from, state it reaches, permission it needs)
TRANSITIONS: dict[str, tuple[frozenset[str], str, str]] = {
    "submit": (frozenset({DRAFT}), PENDING, "knowledge.edit"),
    "publish": (frozenset({PENDING}), PUBLISHED, "knowledge.review"),
    "return": (frozenset({PENDING}), DRAFT, "knowledge.review"),
    "offline": (frozenset({PUBLISHED}), OFFLINE, "knowledge.review"),
    "reopen": (frozenset({OFFLINE}), DRAFT, "knowledge.edit"),
}
ACTION_WORDS = {"submit": "提交审核", "publish": "审核发布", "return": "退回修改", "offline": "下线",
                "reopen": "重新编辑"}

# field → (title, maximum length)
LIMITS: dict[str, tuple[str, int]] = {
    "title": ("标题", 200), "questions": ("常见问法", 4000), "answer": ("答复口径", 8000),
    "legal_basis": ("政策依据/来源", 2000), "keywords": ("关键词", 500), "internal_note": ("内部备注", 2000),
    "category": ("事项分类", 80),
}
MAX_QUESTIONS = 20

# Words that carry no matter in a question (how people ask, not what they ask about).
STOPWORDS = frozenset([
    "的", "了", "吗", "呢", "吧", "啊", "呀", "么", "嘛", "哦", "和", "与", "及", "或",
    "在", "是", "有", "我", "你", "他", "她", "它", "我们", "你们", "他们", "这", "那",
    "这个", "那个", "一个", "个", "也", "都", "就", "请问", "请", "想", "想问", "问", "问下",
    "问一下", "一下", "咨询", "怎么", "怎么办", "怎样", "怎么样", "如何", "什么", "哪里", "哪儿",
    "哪些", "哪个", "多少", "多久", "能否", "能不能", "可以", "可不可以", "需要", "要", "要求",
    "是否", "还", "该", "应该", "去", "到", "给", "对", "把", "被", "让", "从", "为",
    "为什么", "吗?", "谢谢", "您好", "你好", "现在", "已经", "没有", "不", "没", "办", "办理",
    "相关", "方面", "问题", "情况", "事情", "一些", "有关", "关于",
])
_WORD = re.compile(r"[\w]+")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef]+")

_jieba_lock = threading.Lock()
_jieba: Any = None


def _segmenter() -> Any:
    """jieba, initialised once per process (its dictionary takes about a second to load)."""
    global _jieba
    if _jieba is None:
        with _jieba_lock:
            if _jieba is None:
                import jieba

                jieba.setLogLevel(60)
                jieba.initialize()
                _jieba = jieba
    return _jieba


segmenter = _segmenter  # the same jieba for other readers of Chinese text (hot words of a report)


def fold(text: str) -> str:
    """One spelling for the same words: full-width → half-width, lower case, 繁体 → 简体."""
    import zhconv

    return zhconv.convert(unicodedata.normalize("NFKC", text).lower(), "zh-hans")


def synonym_map(groups: Iterable[str]) -> dict[str, str]:
    """Each word of a group (written 居住证=暂住证, or with commas) → the group's first word, folded."""
    return dict(_synonym_map(tuple(groups)))


@lru_cache(maxsize=8)
def _synonym_map(groups: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """Kept per process for the same groups: folding every word costs ~1 ms a search otherwise."""
    found: dict[str, str] = {}
    for group in groups:
        words = [fold(w).strip() for w in re.split(r"[=,，、;；\s]+", group) if w.strip()]
        for word in words[1:]:
            if word != words[0]:
                found[word] = words[0]
    return tuple(found.items())


def _apply_synonyms(text: str, synonyms: Mapping[str, str]) -> str:
    if not synonyms:
        return text
    pattern = _pattern(tuple(sorted(synonyms, key=lambda w: (-len(w), w))))
    return pattern.sub(lambda m: synonyms[m.group(0)], text)


@lru_cache(maxsize=8)
def _pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(re.escape(w) for w in words))


def tokens(text: str, synonyms: Mapping[str, str] | None = None) -> list[str]:
    """The search tokens of a text, in order of first appearance, each once: jieba's words, then the bigrams
    of each stretch between stopwords (which also give search mode's sub-words: 居住证 → 居住, 住证), so
    「怎么」 does not join 户口 to 办."""
    folded = _apply_synonyms(fold(text), synonyms or {})
    seen: dict[str, None] = {}
    singles: dict[str, None] = {}
    runs, current = [], ""
    for word in _segmenter().cut(folded, HMM=False):
        for part in _WORD.findall(word):
            if part not in STOPWORDS:
                (seen if len(part) > 1 else singles).setdefault(part, None)
        if word in STOPWORDS or not _CJK.fullmatch(word):
            runs.append(current)
            current = ""
        else:
            current += word
    runs.append(current)
    for run in runs:
        for i in range(len(run) - 1):
            if (pair := run[i:i + 2]) not in STOPWORDS:
                seen.setdefault(pair, None)
    # Single characters match too much to rank by; they count only when a text has nothing longer (「税」).
    return list(seen or singles)


def token_string(text: str, synonyms: Mapping[str, str] | None = None) -> str:
    """The tokens joined by spaces: what the index stores for an entry."""
    return " ".join(tokens(text, synonyms))


def questions_of(raw: str | Sequence[str]) -> list[str]:
    """The phrasings of an entry: one a line (or a list), blank lines dropped, each once, in order."""
    lines = raw.splitlines() if isinstance(raw, str) else list(raw)
    return list(dict.fromkeys(q.strip() for q in lines if isinstance(q, str) and q.strip()))


def keywords_of(raw: str) -> list[str]:
    return list(dict.fromkeys(k.strip() for k in re.split(r"[,，、;；\s]+", raw or "") if k.strip()))


@dataclass(frozen=True)
class Candidate:
    """An entry the index found, with what ranking needs to know about it."""

    entry_id: int
    text_score: float  # the index's own relevance, larger is better
    category: str | None
    reviewed_at: datetime | None
    use_count: int


SAME_CATEGORY, SAME_BRANCH = 0.3, 0.1  # the draft's category: the same leaf, the same top-level branch
FRESHNESS = 0.15  # a just-confirmed entry; nothing once past its review date
USE_CAP = 50  # uses that count, each 0.001
SCALE = 1.5  # 1 + SAME_CATEGORY + FRESHNESS + USE_CAP / 1000: the best possible score is 1


def rank(found: Sequence[Candidate], *, category: str | None, today: date, review_days: int) -> list[tuple[int, float]]:
    """Order by match, then the draft's category (same leaf, same branch) and freshness; scores in 0–1.

    Match dominates: the best text score is 1, category adds up to 0.3, freshness up to 0.15 (an entry past
    its review date gets none), and how often an entry answered a case a little (≤ 0.05). The search runs
    this in SQL (`knowledge_index._score`, term by term the same); the tests hold the two to each other."""
    if not found:
        return []
    best = max(c.text_score for c in found) or 1.0
    scored = []
    for c in found:
        score = c.text_score / best
        if category and c.category:
            if c.category == category:
                score += SAME_CATEGORY
            elif c.category.split("/")[0] == category.split("/")[0]:
                score += SAME_BRANCH
        if c.reviewed_at is not None:
            age = (today - c.reviewed_at.date()).days
            score += FRESHNESS * max(0.0, 1 - age / max(review_days, 1))
        score += min(c.use_count, USE_CAP) / 1000
        scored.append((c.entry_id, score / SCALE))
    return sorted(scored, key=lambda s: (-s[1], s[0]))


def review_due(reviewed_at: datetime | None, created_at: datetime, today: date, review_days: int) -> bool:
    """An entry whose answer nobody confirmed for `review_days` days is owed a review by its unit."""
    last = (reviewed_at or created_at).date()
    return (today - last).days >= review_days


def currently_valid(valid_from: date | None, valid_until: date | None, today: date) -> bool:
    return (valid_from is None or valid_from <= today) and (valid_until is None or today <= valid_until)


# The rich answer's safe subset: paragraphs, lists, bold, links. Anything else is dropped on the server (nh3).
RICH_TAGS = frozenset({"p", "br", "ul", "ol", "li", "strong", "b", "a"})
LINK_SCHEMES = frozenset({"http", "https", "mailto", "tel"})
_TAG = re.compile(r"<\s*/?\s*[a-zA-Z][^<>]*>")


def safe_html(raw: str) -> str:
    """The rich answer with only RICH_TAGS kept (links: http(s), mailto, tel; rel=noopener), scripts and their text
    gone. Applied when an entry is saved and again when it is shown."""
    import nh3

    return str(nh3.clean(raw, tags=set(RICH_TAGS), attributes={"a": {"href"}}, url_schemes=set(LINK_SCHEMES),
                         link_rel="noopener noreferrer nofollow")).strip()


class _PlainText(HTMLParser):
    """Rich text → what the agent reads aloud: a paragraph a line, list items numbered or dotted, a link's
    address after its words."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.lists: list[list[int]] = []  # per open list: [numbered?, count]
        self.href: str | None = None
        self.link_text = ""

    def _break(self) -> None:
        if self.out and not self.out[-1].endswith("\n"):
            self.out.append("\n")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("p", "ul", "ol"):
            self._break()
        if tag in ("ul", "ol"):
            self.lists.append([int(tag == "ol"), 0])
        elif tag == "br":
            self.out.append("\n")
        elif tag == "li":
            self._break()
            if self.lists:
                self.lists[-1][1] += 1
                numbered, count = self.lists[-1]
                self.out.append(f"{count}. " if numbered else "· ")
        elif tag == "a":
            self.href, self.link_text = dict(attrs).get("href"), ""

    def handle_endtag(self, tag: str) -> None:
        if tag in ("p", "li"):
            self._break()
        elif tag in ("ul", "ol") and self.lists:
            self.lists.pop()
            self._break()
        elif tag == "a":
            href = (self.href or "").removeprefix("mailto:").removeprefix("tel:")
            if href and href not in self.link_text:
                self.out.append(f"({href})")
            self.href = None

    def handle_data(self, data: str) -> None:
        text = re.sub(r"\s+", " ", data)
        if not self.out or self.out[-1].endswith("\n"):
            text = text.lstrip()
        if self.href is not None:
            self.link_text += text
        self.out.append(text)


def plain_text(html: str) -> str:
    """The plain-text reading of a (safe) rich answer."""
    parser = _PlainText()
    parser.feed(html)
    parser.close()
    lines = [line.strip() for line in "".join(parser.out).split("\n")]
    return "\n".join(line for line in lines if line)


def rich_answer(raw: str) -> tuple[str, str]:
    """An answer as typed → (plain text, safe rich text). Text without tags stays plain (rich text ""), kept
    as typed with its line breaks; text with tags is sanitised and read aloud as its plain reading."""
    if not _TAG.search(raw):
        return raw.strip(), ""
    html = safe_html(raw)
    return plain_text(html), html


class EntryRefused(ValueError):
    """The input does not make an entry; `errors` maps each field at fault to a Chinese message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("；".join(errors.values()))
        self.errors = errors


@dataclass(frozen=True)
class EntryInput:
    """An entry as checked: trimmed, the phrasings split, the dates parsed."""

    title: str
    questions: list[str]
    answer: str  # plain text: read aloud, sent by SMS, indexed
    answer_html: str  # the safe rich text, "" when the answer was typed plain
    category: str | None
    unit_id: int | None
    area_unit_id: int | None
    legal_basis: str
    keywords: str
    internal_note: str
    valid_from: date | None
    valid_until: date | None


def _date(raw: Any, field: str, errors: dict[str, str], title: str) -> date | None:
    if raw in (None, ""):
        return None
    try:
        return date.fromisoformat(str(raw).strip())
    except ValueError:
        errors[field] = f"{title}应为日期,如 2026-01-01"
        return None


def _id(raw: Any, field: str, errors: dict[str, str], title: str, allowed: Iterable[int]) -> int | None:
    if raw in (None, ""):
        return None
    text = str(raw).strip()
    if not (text.isdecimal() and text.isascii()) or int(text) not in set(allowed):
        errors[field] = f"{title}无效:{text}"
        return None
    return int(text)


def check_entry(raw: Mapping[str, Any], *, categories: Iterable[str], units: Iterable[int],
                areas: Iterable[int]) -> EntryInput:
    """The one check of an entry's fields (page, API and import alike); Chinese messages keyed by field."""
    errors: dict[str, str] = {}
    texts: dict[str, str] = {}
    for name, (title, limit) in LIMITS.items():
        value = raw.get(name)
        if name == "questions" and isinstance(value, list):
            value = "\n".join(str(v) for v in value)
        value = "" if value is None else str(value)
        if "\x00" in value:
            errors[name] = f"{title}含有无法保存的字符"
        elif len(value) > limit:
            errors[name] = f"{title}最多 {limit} 个字符"
        texts[name] = value.strip()
    questions = questions_of(texts["questions"])
    answer, answer_html = rich_answer(texts["answer"]) if "answer" not in errors else ("", "")
    if not texts["title"]:
        errors.setdefault("title", "请填写标题")
    if not answer:
        errors.setdefault("answer", "请填写答复口径")
    if len(questions) > MAX_QUESTIONS:
        errors.setdefault("questions", f"常见问法最多 {MAX_QUESTIONS} 条")
    category = texts["category"] or None
    if category is not None and category not in set(categories):
        errors.setdefault("category", f"事项分类无效:{category}")
    unit_id = _id(raw.get("unit_id"), "unit_id", errors, "所属单位", units)
    area = _id(raw.get("area_unit_id"), "area_unit_id", errors, "适用区域", areas)
    valid_from = _date(raw.get("valid_from"), "valid_from", errors, "生效日期")
    valid_until = _date(raw.get("valid_until"), "valid_until", errors, "失效日期")
    if valid_from and valid_until and valid_until < valid_from:
        errors["valid_until"] = "失效日期不能早于生效日期"
    if errors:
        raise EntryRefused(errors)
    return EntryInput(title=texts["title"], questions=questions or [texts["title"]], answer=answer,
                      answer_html=answer_html,
                      category=category, unit_id=unit_id, area_unit_id=area, legal_basis=texts["legal_basis"],
                      keywords="、".join(keywords_of(texts["keywords"])), internal_note=texts["internal_note"],
                      valid_from=valid_from, valid_until=valid_until)
