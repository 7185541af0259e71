"""The demo city and the reference data every installation starts with (rules, calendar, dictionary)."""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.documents.kinds import KINDS as DOCUMENT_KINDS
from app.domain import knowledge as knowledge_rules
from app.domain import notices
from app.domain.calendar import official_calendar_entries
from app.domain.deadlines import SEED_RULES
from app.domain.e_supervision import DICTIONARY_KIND as FLAG_KIND
from app.domain.e_supervision import STOCK_LABELS as FLAG_LABELS
from app.domain.roles import CASE_ROLES, ROLES
from app.domain.statuses import DICTIONARY_KIND as STATUS_KIND
from app.domain.statuses import STOCK_LABELS as STATUS_LABELS
from app.models import CalendarDay, CalendarYear, DeadlineRule, DictionaryEntry, Unit, User
from app.services import audit, dictionary, pauses, seed_knowledge
from app.services.actors import SYSTEM
from app.services.definitions import deploy_stock
from app.services.platform import Platform
from app.services.users import add_user

CALENDAR_YEARS = (2025, 2026)

# (code, name, kind, parent code)
UNITS = [
    ("centre", "市12345热线中心", "centre", None),
    ("cgj", "市城管局", "bureau", "centre"),
    ("zjj", "市住建局", "bureau", "centre"),
    ("scjgj", "市市场监管局", "bureau", "centre"),
    ("rsj", "市人社局", "bureau", "centre"),
    ("sthjj", "市生态环境局", "bureau", "centre"),
    ("dcq", "东城区", "district", "centre"),
    ("dcq.hpl", "东城区和平里街道", "street", "dcq"),
    ("dcq.jgh", "东城区建国门街道", "street", "dcq"),
    ("xcq", "西城区", "district", "centre"),
    ("xcq.xcm", "西城区西长安街街道", "street", "xcq"),
    ("xcq.dsl", "西城区德胜门街道", "street", "xcq"),
]

# (工号, name, unit code, roles)
DEMO_USERS = [
    ("agent01", "王晓燕", "centre", {"agent"}),
    ("dispatch01", "李建国", "centre", {"dispatcher"}),
    ("leader01", "张卫东", "centre", {"leader"}),
    ("cg01", "刘志强", "cgj", {"handler", "knowledge_editor"}),
    ("cgleader01", "陈立新", "cgj", {"leader"}),
    ("zj01", "赵明", "zjj", {"handler", "knowledge_editor"}),
    ("zx01", "孙中心", "centre", {"handler"}),
    ("sj01", "钱市监", "scjgj", {"handler"}),
    ("sysadmin", "周系统", "centre", {"sysadmin"}),
    ("secadmin", "吴安全", "centre", {"secadmin"}),
    ("auditor", "郑审计", "centre", {"auditor"}),
    ("zsk01", "冯知识", "centre", {"knowledge_reviewer"}),
]

CATEGORIES = {
    "城乡建设": ["供水", "供暖", "燃气", "物业管理", "房屋质量"],
    "市场监管": ["食品安全", "价格投诉", "消费维权"],
    "劳动保障": ["欠薪", "社保", "劳动合同"],
    "环境保护": ["噪声", "大气污染", "水污染"],
    "城市管理": ["占道经营", "违章建筑", "市容环卫"],
}

DICTIONARY = {
    "kind": {"consultation": "咨询", "help": "求助", "complaint": "投诉", "report": "举报",
             "suggestion": "建议", "praise": "表扬/感谢"},
    "channel": {"phone": "电话", "web": "网站", "app": "APP", "wechat": "微信", "letter": "来信",
                "visit": "来访", "mailbox": "市长信箱", "weibo": "微博", "sms": "短信",
                "open311": "Open311"},
    "reject_reason": {"litigation": "涉法涉诉", "repeat_terminated": "已三级终结", "out_of_scope": "不属于受理范围",
                      "duplicate": "重复件", "emergency": "紧急事项已转110/119/120/122",
                      "discipline": "纪检监察事项", "other": "其他"},  # the codes forms/accept.json offers
    "satisfaction": {"satisfied": "满意", "basically_satisfied": "基本满意", "unsatisfied": "不满意"},  # follow_up
    "document_type": {k.key: k.title for k in DOCUMENT_KINDS.values()},
    # 退回 and 延期 are asked in words on the handle form; these are the usual grounds, for reports to group by
    "return_reason": {"not_our_duty": "非本单位职责", "other_area": "属其他区县或单位管辖",
                      "unclear": "诉求不清、无法办理", "other": "其他"},
    "extension_reason": {"complex": "情况复杂,需进一步调查", "coordination": "需多部门协调",
                         "appraisal": "需鉴定、检测", "other": "其他"},
    STATUS_KIND: STATUS_LABELS,
    FLAG_KIND: FLAG_LABELS,
    knowledge_rules.DICTIONARY_KIND: knowledge_rules.STATES,
    notices.SERVE_METHOD_KIND: notices.SERVE_METHODS,
    notices.REPLY_OUTCOME_KIND: notices.REPLY_OUTCOMES,
    notices.REVIEW_RESULT_KIND: notices.REVIEW_RESULTS,
}


@dataclass(frozen=True)
class SeedResult:
    created: bool
    accounts: list[tuple[str, str, str]]  # 工号, name, role labels


def seed_reference_data(session: Session, platform: Platform) -> list[str]:
    """Deadline rules (each stock rule missing by key), the official calendar (if still empty), every
    dictionary code still missing (words an administrator renamed are kept) and the stock processes; answers
    the keys of the rules added."""
    added = seed_rules(session, platform)
    source = f"chinese-calendar {importlib.metadata.version('chinesecalendar')}"
    for year in CALENDAR_YEARS:
        if session.get(CalendarYear, year) is None:
            session.add_all(CalendarDay(day=e.day, is_workday=e.is_workday, note=e.note or "")
                            for e in official_calendar_entries(year))
            session.add(CalendarYear(year=year, source=source, confirmed_at=platform.clock.now()))
    _seed_dictionary(session)
    pauses.seed_rules(session)
    session.flush()
    deploy_stock(session, platform)
    return added


def seed_rules(session: Session, platform: Platform) -> list[str]:
    """Add every stock deadline rule whose key the table lacks, so a rule new in this release reaches an
    existing install; a rule already there is left as it is, whatever an administrator made of it."""
    have = set(session.scalars(select(DeadlineRule.key)))
    missing = [r for r in SEED_RULES if r.key not in have]
    session.add_all(DeadlineRule(key=r.key, name=r.name, amount=r.amount, unit=r.unit,
                                 count_start_day=r.count_start_day, roll_forward=r.roll_forward,
                                 max_extension=r.max_extension, legal_basis=r.legal_basis,
                                 counted_from=r.counted_from) for r in missing)
    if missing and have:  # a first install's seed is not news; a rule reaching a running one is
        audit.record(session, platform, SYSTEM, "deadline_rule.seeded", detail={"keys": [r.key for r in missing]})
    session.flush()
    return [r.key for r in missing]


def _seed_dictionary(session: Session) -> None:
    """The fixed lists by code, idempotently: a new stock code reaches an existing install and a renamed word
    stays renamed. The category tree is each city's own: the sample one only goes into an empty list."""
    for kind, items in DICTIONARY.items():
        dictionary.add_missing(session, kind, items)
    if session.scalar(select(DictionaryEntry.id).where(DictionaryEntry.kind == "category").limit(1)) is not None:
        return
    dictionary.add_missing(session, "category", {top: top for top in CATEGORIES})
    for top, children in CATEGORIES.items():
        parent_id = session.scalar(select(DictionaryEntry.id).where(DictionaryEntry.kind == "category",
                                                                    DictionaryEntry.code == top))
        dictionary.add_missing(session, "category", {f"{top}/{child}": child for child in children}, parent_id)


def add_units(session: Session, units: list[tuple[str, str, str, str | None]]) -> dict[str, Unit]:
    """Create units in tree order, each with its materialized path."""
    by_code: dict[str, Unit] = {}
    for code, name, kind, parent_code in units:
        parent = by_code[parent_code] if parent_code else None
        unit = Unit(code=code, name=name, kind=kind, parent=parent)
        session.add(unit)
        session.flush()
        unit.path = (parent.path if parent else "/") + f"{unit.id}/"
        by_code[code] = unit
    session.flush()
    return by_code


def seed_demo(platform: Platform) -> SeedResult:
    """The believable demo city, once: units, one account per role, rules, calendar, dictionary, 知识库."""
    accounts = [(no, name, "、".join(ROLES[r] for r in sorted(roles))) for no, name, _, roles in DEMO_USERS]
    with platform.db.unit_of_work() as session:
        seed_reference_data(session, platform)
        if session.scalar(select(User.id).limit(1)) is not None:
            session.commit()
            return SeedResult(created=False, accounts=accounts)
        units = add_units(session, UNITS)
        for i, (staff_no, name, unit_code, roles) in enumerate(DEMO_USERS):
            user = add_user(session, platform, staff_no=staff_no, name=name, unit=units[unit_code],
                            password=platform.settings.DEMO_PASSWORD, roles=roles, must_change_password=False)
            user.phone = f"1390000{i:04d}" if roles & CASE_ROLES else None  # work phones for task SMS
        seed_knowledge.seed_demo_knowledge(session, platform, units)
        audit.record(session, platform, SYSTEM, "seed.demo", detail={"users": len(DEMO_USERS)})
        session.commit()
    return SeedResult(created=True, accounts=accounts)
