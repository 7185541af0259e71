"""判重 as pure rules: one normal form for places and texts, and how alike two appeals are.

- `fold` is the one normal form of any text: NFKC (full-width → half-width), lower case, Chinese numerals
  → Arabic (三号楼 = 3号楼, 一百二十二号 = 122号), punctuation and spaces dropped.
- `parse_place` reads a free-text location (`北塘区北塘街道北塘家园5号楼2单元`) into a `Place`: the
  administrative prefixes (市/区/县, 街道/镇/乡) stripped, 小区/社区 dropped, aliases applied, then the
  site (estate or road: `北塘家园`, `和平里3巷`), the spot number (楼号 or 门牌号: 5号楼 = 5栋 = 5幢 = 5座)
  and what follows (a shop: `华联超市`). `compare_places` says same spot, same site, alike, different,
  or unknown (one side has no place).
- `problem_shingles` are the character bigrams of subject + content with the place and filler words
  removed and common synonyms folded, so that two residents describing one broken lift share them;
  `text_similarity` compares two such sets; `minhash_bands` turns a set into LSH band keys (a stable
  hash, the same on every machine and run) for the indexed candidate search.
- `judge` combines place, text, category and requester into a score in [0, 1] with its Chinese reasons.

Everything here is plain Python: the service (`app.services.duplicates`) reads settings and rows and
calls these functions; a unit test checks each rule on its own.
"""

from __future__ import annotations

import hashlib
import re
import struct
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from typing import Any

__all__ = [
    "PROBLEM_WORDS",
    "Appeal",
    "Judgement",
    "Place",
    "PlaceMatch",
    "compare_places",
    "fold",
    "judge",
    "minhash_bands",
    "numerals_to_digits",
    "parse_place",
    "place_keys",
    "index_keys",
    "appeal",
    "problems",
    "problem_shingles",
    "text_similarity",
]

_DIGIT = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_SCALE = {"十": 10, "百": 100, "千": 1000}
_NUMERAL_RUN = re.compile(r"[零〇一二两三四五六七八九十百千]+")
_DROP = re.compile(r"[\W_]+")  # punctuation, spaces, symbols (letters, digits and CJK stay)


def _numeral_value(run: str) -> str:
    """一百二十二 → 122, 十二 → 12, 二〇二六 → 2026 (digit by digit when there is no 十/百/千)."""
    if not any(ch in _SCALE for ch in run):
        return "".join(str(_DIGIT[ch]) for ch in run)
    total, current = 0, 0
    for ch in run:
        if ch in _DIGIT:
            current = _DIGIT[ch]
        else:
            total += (current or 1) * _SCALE[ch]
            current = 0
    return str(total + current)


def numerals_to_digits(text: str) -> str:
    """Every run of Chinese numerals as Arabic digits; applied alike to both sides, so 一直 → 1直 is harmless."""
    return _NUMERAL_RUN.sub(lambda m: _numeral_value(m.group()), text)


def fold(text: str | None) -> str:
    """The one normal form of a text for comparing: full/half width, case, numerals, punctuation."""
    if not text:
        return ""
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    return _DROP.sub("", numerals_to_digits(text.lower()))


# --- places -----------------------------------------------------------------------------------------------------

# Administrative prefixes, stripped in this order, each at most once. A district is 2–5 non-digit characters
# ending in 区/县 that are not an estate (小区, 社区), a park (园区), a campus or a factory (校区, 厂区), a scenic area.
_PREFIXES = (
    re.compile(r"^[^\d]{1,6}?省"),
    re.compile(r"^[^\d]{1,6}?(?<!城)市(?!场)"),
    re.compile(r"^[^\d]{1,5}?(?<![小社园校厂景矿营])[区县](?!\d)"),
    re.compile(r"^[^\d]{1,7}?(?:街道|镇|乡)(?!\d)"),
)
_ESTATE_WORDS = re.compile(r"小区|社区")
# The number of the spot: a building (号楼, 栋, 幢, 座) or a door (号, 号院); 甲/乙 prefixes kept with the number.
_SPOT = re.compile(r"([甲乙丙]?\d+)(?:号楼|号院|号|栋|幢|座)")
_MIN_KEY = 2  # a site or shop name shorter than this says nothing


@dataclass(frozen=True)
class Place:
    """A location as compared: site (estate/road), spot number within it, what follows (a shop), all folded."""

    site: str
    spot: str | None
    rest: str
    shown: str  # the location as typed, without its administrative prefix, for the reasons

    @property
    def letters(self) -> str:
        """Site and rest without the numbers, for the fuzzy comparison of shops and crossings."""
        return re.sub(r"\d+", "", self.site + self.rest)


def _strip_prefixes(text: str) -> str:
    for prefix in _PREFIXES:
        stripped = prefix.sub("", text, count=1)
        if len(stripped) >= _MIN_KEY:
            text = stripped
    return text


def parse_place(location: str | None, aliases: Mapping[str, str] | None = None) -> Place | None:
    """The place of a free-text location, or None when there is none. `aliases` maps a folded alias of an
    estate (北塘小区) to its folded name (北塘家园); they come from the setting `dedupe.place_aliases`."""
    text = fold(location)
    if not text:
        return None
    text = _strip_prefixes(text)
    for alias, name in sorted((aliases or {}).items(), key=lambda a: -len(a[0])):
        if alias and alias in text:
            text = text.replace(alias, name)
            break
    text = _ESTATE_WORDS.sub("", text) or text
    shown = _strip_prefixes(unicodedata.normalize("NFKC", location or "").strip().replace(" ", ""))
    match = _SPOT.search(text)
    if match is None:
        return Place(site=text, spot=None, rest="", shown=shown)
    site = text[:match.start()]
    rest = re.sub(r"^\d+单元|\d+(?:层|楼|室)|\d+", "", text[match.end():])
    if len(site) < _MIN_KEY:  # "3号楼" alone: the number is all we know
        return Place(site=text, spot=None, rest="", shown=shown)
    return Place(site=site, spot=match.group(1), rest=rest, shown=shown)


def place_keys(place: Place | None) -> set[str]:
    """The keys a case is indexed under for the same-place search: its site, and a shop name after the number."""
    if place is None:
        return set()
    keys = {place.site}
    rest = re.sub(r"^(?:门口|门前|附近|旁边|对面|楼下|顶层|底商|一层|地下室)+", "", place.rest)
    if len(rest) >= 3:
        keys.add(rest)
    return {k[:120] for k in keys if len(k) >= _MIN_KEY}


def index_keys(appeal: Appeal) -> set[str]:
    """The keys of the same-matter search: the place keys, and each problem named × each three-character run of
    the place's name (噪声|外大街), so that 建外大街18号工地 and 建国门外大街18号工地 meet on one problem."""
    keys = place_keys(appeal.place)
    letters = appeal.place.letters if appeal.place is not None else ""
    runs = {letters[i:i + 3] for i in range(len(letters) - 2)} or ({letters} if letters else {""})
    for problem in appeal.problems or ({"?"} if letters else set()):
        keys.update(f"{problem}|{run}"[:120] for run in runs | {""})  # "problem|": the same problem, any place
    return keys


class PlaceMatch(Enum):
    SAME_SPOT = "same_spot"  # same site, same number (or a place without numbers, equal)
    SAME_SITE = "same_site"  # same site, one side names no number
    ALIKE = "alike"  # written differently, much in common (a shop, a crossing)
    DIFFERENT = "different"
    UNKNOWN = "unknown"  # one side gives no place


def _bigrams(text: str) -> set[str]:
    return {text[i:i + 2] for i in range(len(text) - 1)} or ({text} if text else set())


def _dice(a: set[str], b: set[str]) -> float:
    return 2 * len(a & b) / (len(a) + len(b)) if a and b else 0.0


def compare_places(a: Place | None, b: Place | None) -> PlaceMatch:
    """How two places relate; two numbers on one site are two buildings (or doors): different places."""
    if a is None or b is None:
        return PlaceMatch.UNKNOWN
    shortest = 2 if a.spot and a.spot == b.spot else 3
    same_site = a.site == b.site or (min(len(a.site), len(b.site)) >= shortest
                                     and (a.site in b.site or b.site in a.site))
    if same_site:
        if _other_shops(a, b):
            return PlaceMatch.DIFFERENT
        if a.spot and b.spot:
            return PlaceMatch.SAME_SPOT if a.spot == b.spot else PlaceMatch.DIFFERENT
        if not a.spot and not b.spot and a.site == b.site:
            return PlaceMatch.SAME_SPOT
        return PlaceMatch.SAME_SITE
    if a.spot and b.spot and a.spot != b.spot:
        return PlaceMatch.DIFFERENT
    alike = _dice(_bigrams(a.letters), _bigrams(b.letters))
    if alike >= 0.6:
        return PlaceMatch.ALIKE
    return PlaceMatch.UNKNOWN if alike >= 0.3 else PlaceMatch.DIFFERENT


def _other_shops(a: Place, b: Place) -> bool:
    """On one site, what each names beyond the other's site (华联超市, 物美超市) differs: two shops, two places."""
    tail_a = a.site.replace(b.site, "", 1) + a.rest if len(a.site) > len(b.site) else a.rest
    tail_b = b.site.replace(a.site, "", 1) + b.rest if len(b.site) > len(a.site) else b.rest
    return bool(tail_a and tail_b) and _dice(_bigrams(tail_a), _bigrams(tail_b)) < 0.5


# --- texts ------------------------------------------------------------------------------------------------------

# Words every appeal uses, whatever its matter: removed before comparing (folded forms).
FILLER = (
    "您好", "你好", "我要反映", "我想反映", "反映一下", "反映", "投诉", "举报", "咨询", "请问", "希望", "要求", "请求",
    "相关部门", "有关部门", "政府", "帮忙", "帮助", "尽快", "马上", "赶紧", "及时", "处理", "解决", "一下", "问题",
    "情况", "谢谢", "麻烦", "我们", "我家", "家里", "居民", "住户", "市民", "现在", "已经", "一直", "还是", "没有",
    "什么", "怎么", "能不能", "是不是", "到底", "这个", "那个", "这家", "那家", "这里", "这边", "这几天", "多次",
    "再次", "之前", "上次", "上周", "请", "督促", "派人", "来看看", "管管", "查处", "检查",
)
# The stock problem words (setting `dedupe.problem_words`): a problem → the words that name it, folded. Two
# appeals naming the same problem share it whatever their other words; two naming only different problems do not.
PROBLEM_WORDS: dict[str, list[str]] = {
    "电梯": ["电梯", "直梯", "困人", "被困", "梯"],
    "噪声": ["噪音", "噪声", "吵", "扰民", "睡不着", "声音", "音响", "喧哗", "轰鸣", "低音", "音乐", "刺耳", "失眠"],
    "施工": ["施工", "工地", "打桩", "浇筑", "作业", "渣土", "电锯", "破碎锤", "电镐"],
    "油烟": ["油烟", "烟味", "烟熏", "浓烟", "呛"],
    "扬尘": ["扬尘", "灰", "土方", "尘"],
    "下水": ["下水", "污水", "排水", "疏通", "清掏", "倒灌", "冒", "化粪池", "粪水", "吸污"],
    "供暖": ["暖气", "供暖", "热力", "室温", "不热", "冻", "取暖"],
    "停水": ["停水", "没水", "来水", "爆管", "供水"],
    "水质": ["发黄", "浑浊", "铁锈", "锈", "水质", "异味", "水箱", "沉淀"],
    "漏水": ["漏水", "渗水", "滴水", "漏雨", "发霉", "天花板"],
    "燃气": ["燃气", "煤气", "天然气", "漏气", "气味"],
    "燃气费": ["燃气费", "燃气表", "卡表", "扣了", "计费", "走字"],
    "垃圾": ["垃圾", "清运", "环卫", "溢出", "苍蝇", "保洁", "打扫", "卫生"],
    "欠薪": ["工资", "欠薪", "讨薪", "包工头", "农民工", "发工资"],
    "辞退": ["辞退", "解除", "补偿", "走人"],
    "合同社保": ["劳动合同", "签合同", "社保", "社会保险", "养老保险", "补缴", "医保"],
    "退费": ["退款", "退费", "退钱", "退不", "跑路", "停业", "关门", "停课", "失联", "会员卡", "预付", "年卡",
           "学费", "课时费", "倒闭", "资金链"],
    "过期": ["过期", "保质期"],
    "卫生虫": ["虫", "后厨", "不卫生"],
    "注水": ["注水", "血水"],
    "价格": ["标价", "价签", "多收", "多算", "收费", "涨价", "翻倍", "宰客", "乱收费", "缺斤短两", "称重", "一口价",
           "停车费"],
    "退换货": ["退换", "退货", "换货", "亮斑", "坏点"],
    "维修调包": ["调包", "调换", "偷换", "换成"],
    "占道": ["占道", "摊", "早市", "马路市场", "小贩", "商贩", "堆货"],
    "违建": ["违建", "违章", "私搭", "加盖", "加建", "扩建", "彩钢", "铁皮", "拆除"],
    "裂缝": ["裂缝", "开裂", "裂"],
    "外墙": ["瓷砖", "外墙", "墙砖", "脱落", "掉落"],
    "井盖": ["井盖", "井口", "没盖"],
    "路灯": ["路灯", "不亮", "照明", "全黑", "黑漆漆"],
    "信号灯": ["红绿灯", "信号灯", "黄灯"],
    "单车": ["单车", "自行车乱", "调运"],
    "树木": ["树", "倒伏", "刮倒"],
    "广场舞": ["广场舞"],
    "排污": ["排污", "偷排", "排口", "排水口", "暗管", "死鱼", "河"],
    "消防": ["消防", "火灾", "堵塞通道", "杂物"],
    "门禁": ["门禁", "陌生人"],
    "小广告": ["小广告", "牛皮癣", "张贴"],
    "充电": ["充电", "飞线", "电池"],
    "停车": ["停车位", "车位", "外来车", "地锁"],
    "物业服务": ["物业服务", "物业费", "不作为", "更换物业", "保安"],
}
_FILLER = re.compile("|".join(re.escape(w) for w in sorted(FILLER, key=len, reverse=True)))


def problems(text: str, words: Mapping[str, Iterable[str]]) -> frozenset[str]:
    """The problems a folded text names, by the problem-word table."""
    if _last[0] is not words:  # one table per search: build (or fetch) its patterns once, not per candidate
        _last[:] = [words, _patterns(tuple((problem, tuple(names)) for problem, names in words.items()))]
    return frozenset(problem for problem, pattern in _last[1] if pattern.search(text))


_last: list[Any] = [None, ()]


@lru_cache(maxsize=16)
def _patterns(table: tuple[tuple[str, tuple[str, ...]], ...]) -> tuple[tuple[str, re.Pattern[str]], ...]:
    """One compiled pattern per problem, folded once per table (the table is a setting: it rarely changes)."""
    compiled = []
    for problem, names in table:
        folded = sorted({fold(n) for n in names} - {""}, key=len, reverse=True)
        if folded:
            compiled.append((problem, re.compile("|".join(re.escape(n) for n in folded))))
    return tuple(compiled)


def problem_shingles(subject: str, content: str, place: Place | None = None) -> frozenset[str]:
    """The character bigrams of what the appeal is about: subject + content folded, the place named in the text,
    filler words and bare numbers removed, synonyms folded — the place is compared on its own."""
    return _shingles(fold(subject) + "|" + fold(content), place)


def _shingles(text: str, place: Place | None) -> frozenset[str]:
    if place is not None:
        for name in sorted({place.site, place.rest, place.site + (place.spot or "")}, key=len, reverse=True):
            if len(name) >= _MIN_KEY:
                text = text.replace(name, "|")
    text = _FILLER.sub("|", text)
    text = re.sub(r"\d+", "|", text)
    return frozenset(p[i:i + 2] for p in text.split("|") for i in range(len(p) - 1))


def text_similarity(a: frozenset[str], b: frozenset[str]) -> float:
    """Dice and overlap of the bigram sets, averaged: a short follow-up (上次反映的…还没修) is mostly inside
    the first appeal, so overlap counts for half."""
    if not a or not b:
        return 0.0
    common = len(a & b)
    return (2 * common / (len(a) + len(b)) + common / min(len(a), len(b))) / 2


_PRIME = (1 << 61) - 1
_SEEDS = [struct.unpack("<QQ", hashlib.blake2b(f"huiyin-minhash-{i}".encode(), digest_size=16).digest())
          for i in range(64)]


def _shingle_hash(shingle: str) -> int:
    return int.from_bytes(hashlib.blake2b(shingle.encode(), digest_size=8).digest(), "little")


def minhash_bands(shingles: Iterable[str], bands: int, rows: int) -> list[int]:
    """LSH band keys of a shingle set: `bands` × `rows` MinHash values (stable across machines and runs), each
    band hashed with its number into a signed 63-bit key; two sets share a band with probability 1-(1-J^r)^b."""
    hashes = [_shingle_hash(s) for s in shingles]
    if not hashes or bands * rows > len(_SEEDS):
        return []
    signature = [min((a * h + b) % _PRIME for h in hashes) for a, b in _SEEDS[:bands * rows]]
    keys = []
    for band in range(bands):
        chunk = struct.pack(f"<H{rows}Q", band, *signature[band * rows:(band + 1) * rows])
        keys.append(int.from_bytes(hashlib.blake2b(chunk, digest_size=8).digest(), "little") >> 1)
    return keys


# --- the judgement ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Appeal:
    """What judging needs of one appeal (a draft or an earlier case), already parsed."""

    shingles: frozenset[str]
    problems: frozenset[str]
    place: Place | None
    category: str | None


def appeal(subject: str, content: str, location: str | None, category: str | None,
           aliases: Mapping[str, str] | None = None,
           words: Mapping[str, Iterable[str]] | None = None) -> Appeal:
    """Parse one appeal once: its place, its problem bigrams, the problems it names."""
    place = parse_place(location, aliases)
    folded = fold(subject) + "|" + fold(content)
    named = problems(folded, PROBLEM_WORDS if words is None else words)
    return Appeal(_shingles(folded, place), named, place, category)


@dataclass(frozen=True)
class Judgement:
    score: float
    reasons: tuple[str, ...]
    place: PlaceMatch
    text: float


# What a place relation is worth.
_PLACE_WEIGHT = {PlaceMatch.SAME_SPOT: 1.0, PlaceMatch.SAME_SITE: 0.8, PlaceMatch.ALIKE: 0.7,
                 PlaceMatch.UNKNOWN: 0.35, PlaceMatch.DIFFERENT: 0.0}


def judge(draft: Appeal, earlier: Appeal, same_requester: bool) -> Judgement:
    """Score in [0, 1]: the place, the problems named and the wording carry most; the category and the same
    requester add a little. A different place, or only different problems named, caps the score below any
    sensible threshold: same building other problem, same problem other building are other matters."""
    place = compare_places(draft.place, earlier.place)
    text = text_similarity(draft.shingles, earlier.shingles)
    if draft.problems and earlier.problems:
        shared = len(draft.problems & earlier.problems) / len(draft.problems | earlier.problems)
    else:
        shared = 0.3 if not draft.problems and not earlier.problems else 0.2
    score = 0.3 * _PLACE_WEIGHT[place] + 0.25 * min(1.0, shared * 1.5) + 0.3 * min(1.0, text / 0.3)
    if draft.category and earlier.category:
        score += 0.08 if draft.category == earlier.category else 0.0
    else:
        score += 0.04
    score += 0.07 if same_requester else 0.0
    if place is PlaceMatch.DIFFERENT or (draft.problems and earlier.problems and shared == 0) or text < 0.05:
        score = min(score, 0.45)
    reasons = []
    if same_requester:
        reasons.append("同一诉求人")
    if place in (PlaceMatch.SAME_SPOT, PlaceMatch.SAME_SITE, PlaceMatch.ALIKE) and earlier.place is not None:
        reasons.append(("同一地点 " if place is PlaceMatch.SAME_SPOT else "地点相近 ") + earlier.place.shown)
    if shared and draft.problems & earlier.problems:
        reasons.append("同一问题 " + "、".join(sorted(draft.problems & earlier.problems)))
    if text >= 0.1:
        reasons.append(f"内容相似 {text:.2f}")
    if draft.category and draft.category == earlier.category:
        reasons.append("同一事项分类")
    return Judgement(score=round(min(score, 1.0), 3), reasons=tuple(reasons), place=place, text=round(text, 3))
