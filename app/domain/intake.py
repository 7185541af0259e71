"""The one intake validator: raw registration input + the data dictionary + today → a normalised case input.

The API (`POST /api/v1/cases`), the agent's `/intake` page and every service caller go through
`check_intake`, so the same input gets the same answer and the same Chinese messages everywhere.
Field errors are keyed by the API's dotted names (`requester.phone`); the page drops the prefix.

Rules (docs/intake.md says them for people):
- text is kept as typed (zero-width, RTL marks, emoji, CJK Ext-B), trimmed at both ends; NUL and lone
  surrogates are refused (`text_fault`), every field has a maximum length;
- kind and channel must be active dictionary codes, the category an active *leaf* of the tree;
- `location` (optional) is where the matter is, free text (`北塘区北塘街道北塘家园5号楼`), apart from the
  requester's own address; `area` (optional) is the unit id of the location's district or street (a street
  names its district through the unit tree); the service checks it exists (the 派单目录 proposes the unit
  from category × area); `lat`/`lng` (optional, both or neither) a map point of the location (WGS-84 degrees);
- `confidential: true` (不公开我的姓名和联系方式) keeps the requester from the handling units as a 举报's
  accuser always is (shown only to the registering unit and above);
- `screened: true` says the agent checked the appeal is no emergency and no matter for another channel: the
  intake guards (app.domain.intake_guards) are then not applied;
- phones are normalised (`app.domain.identity.normalise_phone`): mobiles, landlines with 区号 (also
  written `(010)62345678`), service numbers (95xxx/96xxx, 400/800) are accepted, the last with
  a notice that they cannot take an SMS; 身份证号 are normalised and a birth date after today refused;
- a requester is named (name required; phone, ID number and address optional: a letter has no phone, a
  caller may withhold the number) or anonymous (`requester.anonymous: true`), which only 举报/建议/咨询
  allow (`ANONYMOUS_KINDS`); an anonymous requester gives no name and no ID number, a phone only if
  they want an answer.

Raises ``IntakeRefused`` (a ``ValueError``) carrying ``errors``: {field: Chinese message}.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from app.domain.identity import (
    InvalidIdNumber,
    InvalidPhone,
    is_service_number,
    normalise_id_number,
    normalise_phone,
)

__all__ = [
    "ANONYMOUS_KINDS",
    "ANONYMOUS_NAME",
    "DIRECT_REPLY_KINDS",
    "LIMITS",
    "IntakeDictionary",
    "IntakeInput",
    "IntakeRefused",
    "RequesterFields",
    "check_intake",
    "text_fault",
]

ANONYMOUS_KINDS = frozenset({"report", "suggestion", "consultation"})  # 举报、建议、咨询 may be anonymous
ANONYMOUS_NAME = "匿名"
MAX_ID = 2**31 - 1  # the largest id both databases hold: the id columns are INTEGER (int4 on PostgreSQL)

# field → (title, maximum length)
LIMITS: dict[str, tuple[str, int]] = {
    "kind": ("诉求类型", 20), "channel": ("来源渠道", 20), "category": ("事项分类", 80),
    "subject": ("诉求标题", 200), "content": ("诉求内容", 20000), "process": ("流程", 60),
    "requester.name": ("姓名", 60), "requester.phone": ("联系电话", 40),
    "requester.id_number": ("身份证号", 40), "requester.address": ("地址", 200),
    "direct_reply": ("直接答复", 2000), "location": ("事发地点", 200),
}
# 最短办理流程: the kinds an agent may answer at intake (直接答复) and close with no dispatch.
DIRECT_REPLY_KINDS = frozenset({"consultation", "suggestion", "praise"})
_CASE_FIELDS = {"kind", "channel", "category", "subject", "content", "process", "requester", "duplicate_of",
                "call_id", "direct_reply", "area", "location", "lat", "lng", "knowledge_entry", "screened",
                "confidential"}
_REQUESTER_FIELDS = {"name", "phone", "id_number", "address", "anonymous"}
_MISSING = {"subject": "请填写诉求标题", "content": "请填写诉求内容", "requester.name": "请填写诉求人姓名",
            "kind": "请选择诉求类型", "channel": "请选择来源渠道"}
SERVICE_NUMBER_NOTICE = "这是服务号码(95xxx/96xxx、400/800),已登记,但无法接收短信"


class IntakeRefused(ValueError):
    """The input does not make a case; `errors` maps each field at fault to a Chinese message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("；".join(errors.values()))
        self.errors = errors


@dataclass(frozen=True)
class IntakeDictionary:
    """What the data dictionary allows today: kind and channel code → label, category code → is a leaf."""

    kinds: Mapping[str, str]
    channels: Mapping[str, str]
    categories: Mapping[str, bool]


@dataclass(frozen=True)
class RequesterFields:
    name: str
    phone: str | None = None
    id_number: str | None = None
    address: str | None = None
    anonymous: bool = False


@dataclass(frozen=True)
class IntakeInput:
    """A registration that passed: normalised, ready to store."""

    kind: str
    channel: str
    subject: str
    content: str
    requester: RequesterFields
    category: str | None = None
    process: str | None = None
    duplicate_of: int | None = None
    call_id: int | None = None
    direct_reply: str | None = None  # the answer given at intake (最短办理流程), or None
    area: int | None = None  # the district or street (a unit id) of the location, for the 派单目录
    location: str | None = None  # where the matter is (free text), not the requester's address
    point: tuple[float, float] | None = None  # (lat, lng) of the location on a map, WGS-84 degrees
    knowledge_entry: int | None = None  # the 知识库 entry the direct reply was taken from (用此答复)
    confidential: bool = False  # 不公开我的姓名和联系方式: the requester is shown only to the registering unit
    screened: bool = False  # the agent checked: not an emergency nor a matter for another channel (intake guards)
    notices: dict[str, str] = field(default_factory=dict)  # accepted, but worth telling the agent


def text_fault(value: str) -> str | None:
    """Why a text cannot be stored (a NUL, a lone surrogate), or None; everything else is kept as typed."""
    if "\x00" in value:
        return "含有空字符(NUL),请删除后重新提交"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "含有无效的字符编码(孤立的代理码元),请删除后重新提交"
    return None


class _Reader:
    """Collects one error per field while reading the raw input."""

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    def text(self, raw: Mapping[str, Any], name: str, path: str, *, required: bool = False) -> str | None:
        value = raw.get(name)
        title, most = LIMITS[path]
        if value is None:
            value = ""
        if not isinstance(value, str):
            self.errors[path] = f"{title}应为文本"
            return None
        fault = text_fault(value)
        if fault:
            self.errors[path] = f"{title}{fault}"
            return None
        value = value.strip()
        if len(value) > most:
            self.errors[path] = f"{title}最多 {most} 个字"
            return None
        if not value:
            if required:
                self.errors[path] = _MISSING[path]
            return None
        return value

    def ref(self, raw: Mapping[str, Any], name: str, message: str) -> int | None:
        value = raw.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, str) and value.strip().isdecimal() and value.strip().isascii():
            value = int(value.strip())
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
            self.errors[name] = message
            return None
        return value

    def unknown(self, raw: Mapping[str, Any], allowed: set[str], prefix: str = "") -> None:
        for key in raw:
            if key not in allowed:
                self.errors[f"{prefix}{key}"] = "未知字段"


def check_intake(raw: Mapping[str, Any], dictionary: IntakeDictionary, today: date) -> IntakeInput:
    """The normalised case input, or ``IntakeRefused`` with every field error in Chinese."""
    r = _Reader()
    r.unknown(raw, _CASE_FIELDS)
    kind = r.text(raw, "kind", "kind", required=True)
    channel = r.text(raw, "channel", "channel", required=True)
    category = r.text(raw, "category", "category")
    subject = r.text(raw, "subject", "subject", required=True)
    content = r.text(raw, "content", "content", required=True)
    process = r.text(raw, "process", "process")
    duplicate_of = r.ref(raw, "duplicate_of", "重复件关联无效")
    call_id = r.ref(raw, "call_id", "来电关联无效")
    direct_reply = r.text(raw, "direct_reply", "direct_reply")
    area = r.ref(raw, "area", "区域无效:请从单位树中选择区县或街道")
    location = r.text(raw, "location", "location")
    point = _point(r, raw)
    knowledge_entry = r.ref(raw, "knowledge_entry", "知识条目无效")
    if knowledge_entry is not None and not direct_reply:
        r.errors["knowledge_entry"] = "引用知识条目答复时请填写直接答复"
    screened = raw.get("screened") or False
    if not isinstance(screened, bool):
        r.errors["screened"] = "已甄别应为 true 或 false"
    confidential = raw.get("confidential") or False
    if not isinstance(confidential, bool):
        r.errors["confidential"] = "不公开姓名和联系方式应为 true 或 false"
    _check_dictionary(r, dictionary, kind, channel, category)
    if direct_reply and kind and kind not in DIRECT_REPLY_KINDS:
        allowed = "、".join(dictionary.kinds.get(k, k) for k in sorted(DIRECT_REPLY_KINDS))
        r.errors["direct_reply"] = f"只有{allowed}可以直接答复,{dictionary.kinds.get(kind, kind)}须受理派单"
    requester, notices = _requester(r, raw.get("requester"), kind, dictionary, today)
    if r.errors or not (kind and channel and subject and content and requester):
        raise IntakeRefused(r.errors or {"_": "登记信息不完整"})
    return IntakeInput(kind=kind, channel=channel, category=category, subject=subject, content=content,
                       requester=requester, process=process, duplicate_of=duplicate_of, call_id=call_id,
                       direct_reply=direct_reply, area=area, location=location, point=point,
                       knowledge_entry=knowledge_entry, screened=screened is True, confidential=confidential is True,
                       notices=notices)


def _degrees(r: _Reader, raw: Mapping[str, Any], name: str, title: str, most: float) -> float | None:
    value = raw.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip()) if value.strip().isascii() else None
        except ValueError:
            value = None
    if isinstance(value, bool) or not isinstance(value, int | float) or not -most <= value <= most:
        r.errors[name] = f"{title}应为 -{most:g} 到 {most:g} 之间的数字(度)"
        return None
    return float(value)


def _point(r: _Reader, raw: Mapping[str, Any]) -> tuple[float, float] | None:
    """The map point: both coordinates or neither (a lone latitude places nothing)."""
    lat = _degrees(r, raw, "lat", "纬度", 90)
    lng = _degrees(r, raw, "lng", "经度", 180)
    if "lat" in r.errors or "lng" in r.errors:
        return None
    if (lat is None) != (lng is None):
        r.errors["lng" if lng is None else "lat"] = "地图位置须同时填写纬度和经度"
        return None
    return (lat, lng) if lat is not None and lng is not None else None


def _check_dictionary(r: _Reader, d: IntakeDictionary, kind: str | None, channel: str | None,
                      category: str | None) -> None:
    if kind and kind not in d.kinds:
        r.errors["kind"] = f"诉求类型无效:{kind}"
    if channel and channel not in d.channels:
        r.errors["channel"] = f"来源渠道无效:{channel}"
    if category and category not in d.categories:
        r.errors["category"] = f"事项分类无效:{category}"
    elif category and not d.categories[category]:
        r.errors["category"] = f"请选择到最末一级事项分类:{category} 之下还有分类"


def _requester(r: _Reader, raw: Any, kind: str | None, d: IntakeDictionary,
               today: date) -> tuple[RequesterFields | None, dict[str, str]]:
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        r.errors["requester"] = "诉求人应为对象,如 {\"name\": …, \"phone\": …}"
        return None, {}
    r.unknown(raw, _REQUESTER_FIELDS, "requester.")
    anonymous = raw.get("anonymous") or False
    if not isinstance(anonymous, bool):
        r.errors["requester.anonymous"] = "是否匿名应为 true 或 false"
        anonymous = False
    name = r.text(raw, "name", "requester.name", required=not anonymous)
    phone_text = r.text(raw, "phone", "requester.phone")
    id_text = r.text(raw, "id_number", "requester.id_number")
    address = r.text(raw, "address", "requester.address")
    if anonymous:
        if kind and kind not in ANONYMOUS_KINDS:
            allowed = "、".join(d.kinds.get(k, k) for k in sorted(ANONYMOUS_KINDS) if k in d.kinds)
            r.errors["requester.anonymous"] = (f"{d.kinds.get(kind, kind)}不能匿名登记,只有{allowed}可以匿名"
                                               if allowed else "该诉求类型不能匿名登记")
        if name:
            r.errors["requester.name"] = "匿名登记不填姓名"
        if id_text:
            r.errors["requester.id_number"] = "匿名登记不填身份证号"
    notices: dict[str, str] = {}
    phone = None
    if phone_text:
        try:
            phone = normalise_phone(phone_text)
        except InvalidPhone as e:
            r.errors["requester.phone"] = str(e)
        else:
            if is_service_number(phone):
                notices["requester.phone"] = SERVICE_NUMBER_NOTICE
    id_number = None
    if id_text:
        try:
            id_number = normalise_id_number(id_text, today=today)
        except InvalidIdNumber as e:
            r.errors["requester.id_number"] = str(e)
    who = RequesterFields(name=ANONYMOUS_NAME if anonymous else (name or ""), phone=phone, id_number=id_number,
                          address=address, anonymous=anonymous)
    return who, notices
