"""A generated set of cases whose answers are known, bulk-inserted (no engine), for the combined query and
exports: each row's attributes follow from its index, and `CaseRow` keeps them so a test computes the
expected answer of a filter in Python and compares it with what the query returns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, text

from app.domain.identity import id_number_check_char
from app.models import Case, HumanTask, Requester, Unit, User, case_assisting_unit
from app.services.platform import Platform

PHONES = ("13800000001", "13800000002", "13800000003")
ID_NUMBER = "11010519491231002" + id_number_check_char("11010519491231002")  # the first requester's only
KINDS = ("complaint", "help", "consultation")
CHANNELS = ("phone", "web", "wechat", "letter")
CATEGORIES = ("城乡建设/供水", "城乡建设/供暖", "环境保护/噪声", "城市管理/占道经营", None)
STATUSES = ("handling", "follow_up", "archived")
SATISFACTION = ("satisfied", "basically_satisfied", "unsatisfied", None)
MODES = ("transfer", "co_handle", None)
# Subjects a user might type LIKE wildcards into: "%" and "_" must match only themselves.
SPECIAL = {7: "水费100%_退还", 8: "水费100x退还", 9: "水费100%x退还", 10: "=HYPERLINK(\"http://x\")"}


@dataclass
class CaseRow:
    index: int
    id: int
    number: str
    kind: str
    channel: str
    category: str | None
    status: str
    subject: str
    created_at: datetime
    lead: str | None  # unit code
    area: str
    mode: str | None
    replied: bool
    on_time: bool | None
    satisfaction: str | None
    supervised: bool
    duplicate: bool
    phone: str
    assisting: str | None
    task: str | None  # "red" | "yellow" | "green" | None: a ready 办理 task at the lead unit
    handler: str | None  # staff_no of that task's assignee
    extended: bool = False
    returned: bool = False
    location: str = ""
    assisting_handler: str | None = None  # who did the assisting unit's 协办 step
    earlier: str | None = None  # a unit that signed for the case before it was returned and sent on
    extra: dict[str, Any] = field(default_factory=dict)


def make_cases(platform: Platform, n: int, now: datetime, *, batch: int = 5000) -> list[CaseRow]:
    """Insert `n` cases registered by the centre; created 10 per day going back (so sort ties exist)."""
    with platform.db.unit_of_work() as session:
        units = {u.code: u.id for u in session.scalars(select(Unit))}
        users = {u.staff_no: u.id for u in session.scalars(select(User))}
        c = platform.cipher
        req_ids = []
        for i, phone in enumerate(PHONES):
            r = Requester(name=f"测试人{i}", phone_enc=c.encrypt(phone, "requester.phone"),
                          phone_hash=c.search_hash(phone, "requester.phone"), created_at=now,
                          id_number_enc=c.encrypt(ID_NUMBER, "requester.id_number") if i == 0 else None,
                          id_number_hash=c.search_hash(ID_NUMBER, "requester.id_number") if i == 0 else None)
            session.add(r)
            session.flush()
            req_ids.append(r.id)
        first = (session.scalar(select(Case.id).order_by(Case.id.desc()).limit(1)) or 0) + 1
        rows: list[CaseRow] = []
        cases, tasks, assisting = [], [], []
        for i in range(n):
            lead = ("cgj", "zjj", None)[i % 3]
            task = ("red", "green", "yellow", None)[i % 4] if lead else None
            handler = {"cgj": "cg01", "zjj": "zj01"}.get(lead or "") if task else None
            row = CaseRow(
                index=i, id=first + i, number=f"T{first + i:08d}", kind=KINDS[i % 3], channel=CHANNELS[i % 4],
                category=CATEGORIES[i % 5], status=STATUSES[i % 3], subject=SPECIAL.get(i, f"测试诉求{i}号"),
                created_at=now - timedelta(days=i // 10, hours=1), lead=lead,
                area=("dcq.hpl", "xcq.xcm")[i % 2], mode=MODES[i % 3], replied=i % 3 != 0,
                on_time=None if i % 3 == 0 else i % 2 == 0, satisfaction=SATISFACTION[i % 4],
                supervised=i % 5 == 0, duplicate=i % 11 == 10, phone=PHONES[i % 3],
                assisting="zjj" if i % 6 == 0 and lead == "cgj" else None, task=task, handler=handler,
                extended=i % 7 == 2, returned=i % 8 == 3, location=f"幸福里{i % 4}号楼")
            row.assisting_handler = "zj01" if row.assisting else None
            row.earlier = "cgj" if lead == "zjj" and i % 13 == 4 else None
            rows.append(row)
            cases.append({
                "id": row.id, "number": row.number, "query_code": f"Q{row.id:011d}", "kind": row.kind,
                "channel": row.channel, "category": row.category, "subject": row.subject,
                "content": f"内容{i}:请尽快处理。", "requester_id": req_ids[i % 3], "status": row.status,
                "registering_unit_id": units["centre"], "lead_unit_id": units[lead] if lead else None,
                "area_unit_id": units[row.area], "dispatch_mode": row.mode, "sensitivity": "normal",
                "created_at": row.created_at, "replied_at": row.created_at if row.replied else None,
                "replied_on_time": row.on_time, "satisfaction": row.satisfaction,
                "supervision_count": int(row.supervised), "return_count": int(row.returned), "reopen_count": 0,
                "extension_count": int(row.extended), "duplicate_of_id": first if row.duplicate else None,
                "location": row.location})
            if row.assisting:
                assisting.append({"case_id": row.id, "unit_id": units[row.assisting]})
                tasks.append({"id": f"a-{row.id}", "case_id": row.id, "spec_name": "assisting_input", "title": "协办",
                              "role": "handler", "unit_id": units[row.assisting], "state": "done", "assignee_id": None,
                              "completed_by_id": users[row.assisting_handler or ""], "created_at": row.created_at,
                              "completed_at": row.created_at + timedelta(minutes=30), "due_at": None,
                              "warn_at": None})
            if task and lead:
                due = now + {"red": timedelta(hours=-1), "yellow": timedelta(hours=12)}.get(task, timedelta(days=10))
                tasks.append({"id": f"t-{row.id}", "case_id": row.id, "spec_name": "handle", "title": "办理",
                              "role": "handler", "unit_id": units[lead], "assignee_id": users[handler or ""],
                              "state": "ready", "created_at": row.created_at, "due_at": due,
                              "warn_at": due - timedelta(days=1), "completed_by_id": None,
                              "completed_at": None})
            if row.earlier:
                tasks.append({"id": f"e-{row.id}", "case_id": row.id, "spec_name": "sign_for", "title": "签收",
                              "role": "handler", "unit_id": units[row.earlier], "state": "done", "assignee_id": None,
                              "completed_by_id": users["cg01"], "created_at": row.created_at,
                              "completed_at": row.created_at + timedelta(minutes=10), "due_at": None,
                              "warn_at": None})
        for start in range(0, len(cases), batch):
            session.execute(insert(Case), cases[start:start + batch])
        if assisting:
            session.execute(insert(case_assisting_unit), assisting)
        for start in range(0, len(tasks), batch):
            session.execute(insert(HumanTask), tasks[start:start + batch])
        if session.get_bind().dialect.name == "postgresql":  # explicit ids: move the sequence past them
            session.execute(text("SELECT setval(pg_get_serial_sequence('\"case\"', 'id'), "
                                 "(SELECT max(id) FROM \"case\"))"))
        session.commit()
    return rows
