"""Settings that take effect at once: read from the table on each use. `SCHEMAS` is the one registry of
what each setting is — its default, its Chinese name and the check a new value must pass before it is
stored (type, range, and what it must name: a deployed definition, a dictionary code, a 工号). The check
primitives here also check the deadline rules' fields (app/services/admin.py)."""

from __future__ import annotations

import json
import math
import re
import string
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import kept
from app.domain.intake_guards import DEFAULT_RULES as DEFAULT_GUARD_RULES
from app.domain.intake_guards import rule_errors as guard_rule_errors
from app.domain.screening import DEFAULT_RULES as SCREENING_RULES
from app.domain.screening import rule_errors as screening_rule_errors
from app.domain.similarity import PROBLEM_WORDS
from app.models import DictionaryEntry, ProcessDefinition, Setting, User

Check = Callable[[Session, Any], str | None]  # None when the value is good, else why not (Chinese)


def integer(low: int, high: int) -> Check:
    def check(_: Session, value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            return f"应为 {low} 到 {high} 之间的整数"
        return None
    return check


def number(low: float, high: float) -> Check:
    def check(_: Session, value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
                or not low <= value <= high:
            return f"应为 {low} 到 {high} 之间的数"
        return None
    return check


def boolean(_: Session, value: Any) -> str | None:
    return None if isinstance(value, bool) else "应为 true 或 false"


def text(max_length: int, *, required: bool = False) -> Check:
    def check(_: Session, value: Any) -> str | None:
        if not isinstance(value, str):
            return "应为文字"
        if required and not value.strip():
            return "不能为空"
        if len(value) > max_length:
            return f"最多 {max_length} 个字符"
        if "\x00" in value:
            return "不能含有空字符"
        return None
    return check


def choice(options: dict[str, str]) -> Check:
    """One of the codes (shown with their Chinese words)."""
    def check(_: Session, value: Any) -> str | None:
        if value not in options:
            return "只能是以下取值之一:" + "、".join(f"{code}({label})" for code, label in options.items())
        return None
    return check


def web_address(_: Session, value: Any) -> str | None:
    """Empty, or an http(s) address."""
    if not isinstance(value, str) or len(value) > 500 or (value and not re.fullmatch(r"https?://[^\s/]+\S*", value)):
        return "应为以 http:// 或 https:// 开头的网址(或留空)"
    return None


def template(placeholders: tuple[str, ...]) -> Check:
    """An SMS text whose {placeholders} are only the ones its event fills (plain names, nothing else)."""
    allowed = "、".join("{" + p + "}" for p in placeholders)
    def check(session: Session, value: Any) -> str | None:
        if (problem := text(500, required=True)(session, value)) is not None:
            return problem
        try:
            fields = [(name, spec, conv) for _, name, spec, conv in string.Formatter().parse(value) if name is not None]
        except ValueError:
            return "花括号不成对;占位符应写成 {number} 这样"
        if any(name not in placeholders or spec or conv for name, spec, conv in fields):
            return f"只能使用这些占位符:{allowed}"
        return None
    return check


def definition_key(session: Session, value: Any) -> str | None:
    """The key of a deployed process definition."""
    if not isinstance(value, str) or session.scalar(
            select(ProcessDefinition.id).where(ProcessDefinition.key == value).limit(1)) is None:
        return f"必须是已部署的流程定义:{value!r} 未部署"
    return None


def dictionary_code(kind: str, words: str) -> Check:
    """An active code of the data dictionary's `kind` list."""
    def check(session: Session, value: Any) -> str | None:
        if not isinstance(value, str) or session.scalar(select(DictionaryEntry.id).where(
                DictionaryEntry.kind == kind, DictionaryEntry.code == value, DictionaryEntry.active)) is None:
            return f"必须是数据字典中启用的{words}:{value!r} 不是"
        return None
    return check


def list_of(item: Check, max_items: int = 50) -> Check:
    def check(session: Session, value: Any) -> str | None:
        if not isinstance(value, list) or len(value) > max_items or len(set(map(repr, value))) != len(value):
            return f"应为不重复的列表(最多 {max_items} 项)"
        for entry in value:
            if (problem := item(session, entry)) is not None:
                return problem
        return None
    return check


def agent_map(session: Session, value: Any) -> str | None:
    """PBX interface or extension → the 工号 of an active user."""
    if not isinstance(value, dict) or len(value) > 5000:
        return '应为对象,如 {"PJSIP/8001": "agent01"}'
    if any(not isinstance(k, str) or not k.strip() or len(k) > 80 for k in value):
        return "分机或接口名不能为空,最多 80 个字符"
    wanted = set(value.values())
    if not all(isinstance(v, str) for v in wanted):
        return "工号应为文字"
    known = set(session.scalars(select(User.staff_no).where(User.staff_no.in_(wanted), User.active))) \
        if wanted else set()
    if unknown := sorted(wanted - known):
        return f"工号不存在或已停用:{'、'.join(unknown)}"
    return None


def office_hours(_: Session, value: Any) -> str | None:
    """Spans of the working day as ["HH:MM", "HH:MM"] pairs, each opening before it closes, in order."""
    message = '应为 1 到 6 段按时间先后排列、互不重叠的时段,如 [["08:30", "12:00"], ["13:30", "17:30"]]'
    if not isinstance(value, list) or not 1 <= len(value) <= 6:
        return message
    last = ""
    for span in value:
        if not isinstance(span, list) or len(span) != 2 or not all(
                isinstance(t, str) and re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", t) for t in span):
            return message
        opens, closes = span
        if not last <= opens < closes:  # "HH:MM" strings order as the times do
            return message
        last = closes
    return None


def score_weights(_: Session, value: Any) -> str | None:
    """{"response", "resolution", "satisfaction"}: numbers from 0 to 1 adding up to 1."""
    message = '应为 {"response": 0.1, "resolution": 0.5, "satisfaction": 0.4} 这样三项相加为 1 的权重'
    keys = {"response", "resolution", "satisfaction"}
    if not isinstance(value, dict) or set(value) != keys or not all(
            isinstance(v, int | float) and not isinstance(v, bool) and 0 <= v <= 1 for v in value.values()):
        return message
    return None if abs(sum(value.values()) - 1) < 1e-9 else message


def place_aliases(_: Session, value: Any) -> str | None:
    """Another name of an estate or place → the name cases use, e.g. {"北塘小区": "北塘家园"}."""
    if not isinstance(value, dict) or len(value) > 5000:
        return '应为对象,如 {"北塘小区": "北塘家园"}'
    if any(not isinstance(k, str) or not isinstance(v, str) or not 2 <= len(k.strip()) <= 60
           or not 2 <= len(v.strip()) <= 60 for k, v in value.items()):
        return "别名和名称都应为 2 到 60 个字符的文字"
    return None


def problem_words(_: Session, value: Any) -> str | None:
    """A problem → the words that name it, e.g. {"电梯": ["电梯", "困人"]}."""
    if not isinstance(value, dict) or not 1 <= len(value) <= 500:
        return '应为 1 到 500 项的对象,如 {"电梯": ["电梯", "困人"]}'
    for name, words in value.items():
        if not isinstance(name, str) or not 1 <= len(name) <= 20:
            return "问题名应为 1 到 20 个字符"
        if not isinstance(words, list) or not 1 <= len(words) <= 100 or any(
                not isinstance(w, str) or not 1 <= len(w.strip()) <= 20 for w in words):
            return f"「{name}」的词应为 1 到 100 个、每个 1 到 20 个字符的文字"
    return None


@dataclass(frozen=True)
class SettingSchema:
    default: Any
    label: str
    check: Check


LADDER_ACTIONS = {"remind": "催办(短信 + 待办标记)", "notice": "催办通知书", "supervise": "自动督办并通报"}


def ladder(_: Session, value: Any) -> str | None:
    """The escalation ladder: a list of rungs {rung, offset, action}; `offset` in working days from the due
    date (negative: before it), each rung's name once."""
    if not isinstance(value, list) or len(value) > 10:
        return "应为至多 10 级的列表"
    names = set()
    for rung in value:
        if not isinstance(rung, dict) or set(rung) - {"rung", "offset", "action", "basis"}:
            return "每一级应为 {rung, offset, action, basis}"
        name, offset = rung.get("rung"), rung.get("offset")
        if not isinstance(name, str) or not 1 <= len(name) <= 30 or name in names:
            return "每一级的 rung 应为 1–30 个字符且不重复"
        if isinstance(offset, bool) or not isinstance(offset, int) or not -20 <= offset <= 60:
            return f"「{name}」的 offset 应为 -20 到 60 之间的整数(工作日,负数为到期前)"
        if rung.get("action") not in LADDER_ACTIONS:
            return f"「{name}」的 action 只能是 {'、'.join(LADDER_ACTIONS)}"
        if not isinstance(rung.get("basis", ""), str) or len(rung.get("basis", "")) > 500:
            return f"「{name}」的 basis 应为不超过 500 字的文字"
        names.add(name)
    return None


_CASE_TASK = ("number", "task", "due_at")
_WARNING = ("number", "task", "unit", "due_at")

SCHEMAS: dict[str, SettingSchema] = {
    # Channels whose appeals are 信访件 (petition process) rather than 12345 工单.
    "intake.petition_channels": SettingSchema(["letter", "visit"], "信访件的来源渠道",
                                              list_of(dictionary_code("channel", "来源渠道"))),
    # Exports of a combined query: more rows than this are refused; more than the second run in the scheduler.
    "exports.row_cap": SettingSchema(200000, "导出行数上限", integer(1, 2000000)),
    "exports.background_rows": SettingSchema(10000, "超过此行数的导出在后台生成", integer(0, 2000000)),
    # Process key per case type.
    "process.hotline": SettingSchema("hotline_order", "12345 工单的流程", definition_key),
    "process.petition": SettingSchema("petition", "信访件的流程", definition_key),
    # Share of a period after which the light turns yellow (the last working day counts too).
    "lights.yellow_fraction": SettingSchema(0.2, "黄灯预警比例", number(0, 1)),
    # Office hours of a working day: working-hour rules (紧急 "2 小时") count only these.
    "calendar.office_hours": SettingSchema([["08:30", "12:00"], ["13:30", "17:30"]], "办公时间", office_hours),
    # 诉求类型 of an Open311 service request (GeoReport v2 has no such field): a pothole is a request for help.
    "open311.kind": SettingSchema("help", "Open311 诉求的诉求类型", dictionary_code("kind", "诉求类型")),
    # Intake guards (接诉即办条例 art. 11, 信访工作条例 art. 22 ¶2): keyword rules → the answer given, and the
    # registration recorded as transferred (emergency) or redirected (other channel), never dispatched.
    "intake.guards": SettingSchema(DEFAULT_GUARD_RULES, "受理甄别规则(紧急事项、其他法定途径)",
                                   lambda _session, value: guard_rule_errors(value)),
    # Days back the duplicate hint looks for earlier cases of the same requester or about the same matter.
    "dedupe.lookback_days": SettingSchema(90, "判重回溯天数", integer(1, 3650)),
    # The least score (0–1) at which the best candidate is called the same matter (is_duplicate).
    "dedupe.threshold": SettingSchema(0.62, "判重阈值", number(0.3, 1)),
    # Other names of estates and places, folded onto the name cases use (小区 aliases).
    "dedupe.place_aliases": SettingSchema({}, "判重地名别名", place_aliases),
    # Problems and the words that name them: two appeals naming only different problems are other matters.
    "dedupe.problem_words": SettingSchema(PROBLEM_WORDS, "判重问题词", problem_words),
    # PBX queue member interface or extension → 工号, e.g. {"PJSIP/8001": "agent01", "8002": "agent02"}.
    "telephony.agent_map": SettingSchema({}, "分机与工号对照", agent_map),
    # 诉求类型 of a case registered from a voicemail.
    "telephony.voicemail_kind": SettingSchema("consultation", "留言登记的诉求类型",
                                              dictionary_code("kind", "诉求类型")),
    # Answered calls older than this many hours no longer pop up on the agent's screen.
    "telephony.pop_hours": SettingSchema(8, "来电弹屏保留小时数", integer(1, 168)),
    # SMS templates; {placeholders} are filled from the case and task.
    "sms.template.receipt": SettingSchema("【12345】您的诉求已受理,受理号{number},查询码{query_code}。",
                                          "受理回执短信模板", template(("number", "query_code"))),
    "sms.template.portal_code": SettingSchema("【12345】您的查询验证码为{code},10分钟内有效。如非本人操作请忽略。",
                                              "网上查询验证码短信模板", template(("code",))),
    "sms.template.duplicate": SettingSchema("【12345】您反映的事项与受理号{original}为同一事项,已并案办理,"
                                            "目前{status}。本次受理号{number},查询码{query_code}。",
                                            "重复件告知短信模板",
                                            template(("original", "status", "number", "query_code"))),
    "sms.template.new_task": SettingSchema("【回音】您有新的待办:{number} {task},请于{due_at}前办理。",
                                           "新待办短信模板", template(_CASE_TASK)),
    "sms.template.warning_yellow": SettingSchema("【回音】黄灯预警:{number} {task}({unit})将于{due_at}到期。",
                                                 "黄灯预警短信模板", template(_WARNING)),
    "sms.template.warning_red": SettingSchema("【回音】红灯逾期:{number} {task}({unit})已于{due_at}到期,请尽快办理。",
                                              "红灯逾期短信模板", template(_WARNING)),
    "sms.template.supervision": SettingSchema("【回音】督办通知:{number} 已被督办,请书面反馈。", "督办短信模板",
                                              template(("number",))),
    "sms.template.reminder": SettingSchema("【回音】催办:{number} {task}({unit})将于{due_at}到期,请抓紧办理。",
                                           "催办短信模板", template(_WARNING)),
    "sms.template.urge_notice": SettingSchema("【回音】催办通知书 {document}:{number} {task}({unit})已于{due_at}到期,"
                                              "请立即办理并书面说明。", "催办通知书短信模板",
                                              template((*_WARNING, "document"))),
    # The escalation ladder (催办 → 催办通知书 → 自动督办 + 通报): each rung once per task, `offset` working days from
    # the due date (negative: before it). The supervise rung's offset is the N of "N working days overdue".
    "escalation.ladder": SettingSchema([
        {"rung": "remind", "offset": -1, "action": "remind", "basis": "到期前一个工作日催办经办人"},
        {"rung": "notice", "offset": 1, "action": "notice", "basis": "逾期次日向承办单位及其领导发出催办通知书"},
        {"rung": "supervise", "offset": 5, "action": "supervise",
         "basis": "《信访工作条例》第四十条:未按规定期限办理的,督办;承办单位书面反馈"},
    ], "逾期催办督办阶梯", ladder),
    "sms.template.reply": SettingSchema("【12345】您的诉求(受理号{number})已答复,请留意回访。", "答复短信模板",
                                        template(("number",))),
    # SMS gateway: "log" (write to the log) or "http" with the URL and credential below.
    "sms.gateway": SettingSchema("log", "短信网关", choice({"log": "只写日志", "http": "HTTP 网关"})),
    "sms.http_url": SettingSchema("", "短信网关地址", web_address),
    "sms.http_credential": SettingSchema("", "短信网关凭据", text(500)),
    # 知识库: an entry nobody confirmed for this many days shows on its owner unit's worklist to confirm or update.
    "knowledge.review_days": SettingSchema(180, "知识复核周期(天)", integer(1, 3650)),
    # 知识库: how many suggestions the intake page and the portal's form show.
    "knowledge.suggestions": SettingSchema(5, "知识推荐条数", integer(1, 20)),
    # Backups by the scheduler (`flask backup`): ISO weekdays (1 = Monday), the seed's 每周一、周四数据备份 …
    "backup.weekdays": SettingSchema([1, 4], "数据备份日(星期,1 为周一)", list_of(integer(1, 7), 7)),
    # … from this hour of the day on, once per day …
    "backup.hour": SettingSchema(2, "数据备份时刻(几点起)", integer(0, 23)),
    # … keeping the newest N backup files.
    "backup.keep": SettingSchema(8, "保留的备份份数", integer(1, 1000)),
    # 矛盾纠纷排查: keywords screened in every case's text at intake, with levels (high tells the centre's leader).
    "screening.rules": SettingSchema(SCREENING_RULES, "矛盾纠纷排查关键字(及等级)",
                                     lambda _session, value: screening_rule_errors(value)),
    "sms.template.screening": SettingSchema("【回音】矛盾纠纷预警:{number} 涉及“{words}”({level}),请关注。",
                                            "矛盾纠纷预警短信模板", template(("number", "words", "level"))),
    # 北京接诉即办 practice: 满意率 = (满意 + factor × 基本满意) / 有效回访 (app/domain/rates.py) …
    "reports.basic_satisfaction_factor": SettingSchema(0.9, "满意率中基本满意的折算系数", number(0, 1)),
    # … and the score = weights · (响应率, 解决率, 满意率).
    "reports.score_weights": SettingSchema({"response": 0.1, "resolution": 0.5, "satisfaction": 0.4},
                                           "综合得分权重(响应率、解决率、满意率)", score_weights),
}
DEFAULTS: dict[str, Any] = {key: schema.default for key, schema in SCHEMAS.items()}


def problem_with(session: Session, key: str, value: Any) -> str | None:
    """Why `value` may not be stored as setting `key` (a Chinese sentence naming the setting), or None."""
    schema = SCHEMAS[key]
    problem = schema.check(session, value)
    return None if problem is None else f"「{schema.label}」{problem}"


def get_setting(session: Session, key: str) -> Any:
    """The administrator's value if set, else the default. The rows are read again only after a change
    (`kept`: a change takes effect with the next transaction in every process); each transaction gets its own
    copy of the values, so nothing a caller does to one reaches another."""
    values = session.info.get("settings")
    if values is None:
        values = json.loads(kept(session, "setting", lambda: json.dumps(
            {key: value.get("value") for key, value in session.execute(select(Setting.key, Setting.value))})))
        session.info["settings"] = values
    return values[key] if key in values else DEFAULTS[key]
