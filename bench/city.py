"""A realistic city on the database BENCH_DATABASE_URL names: ~60 units and N cases over two years.

The demo seed (units, accounts, rules, calendar, dictionary, the stock processes) plus generated bureaus,
districts and streets (60 units, a handler and a leader at each new one); a few template cases registered
and moved through the real services (`register_case`, `complete_task`) to every open step of both stock
processes; then N cases bulk-loaded (PostgreSQL COPY, SQLite executemany) in created order:

* kinds, channels and categories in plausible shares; a weekly (weekends ~55 %) and daily (office-hour
  peaks) rhythm with seasons (供暖 in winter, 供水/噪声 in summer) and ~8 % a year more appeals;
* requesters with encrypted phone (and ID number for 信访) and keyed search hashes, as intake stores them;
  ~9 % of cases are repeat appeals of the same requester on the same matter (`duplicate_of_id`);
* 95 % finished (归档 after 回访 with satisfaction and resolved, 直接答复, 不予受理, 终结, 转紧急热线/告知其他渠道),
  with responded/replied/closed times, on-time flags, returns, reopens, extensions, supervisions and the
  done history of their steps (受理, 办理, 回访) in `human_task`;
* the rest open at every step (受理, 派单, 签收, 办理, 回访, 信访受理/派单/签收) with green, yellow, red and paused
  lights; the busiest unit (市城管局) holds ≥ 5,000 open tasks at 1 M and the centre's desks ≥ 2,000. Their
  `workflow_state` is cloned from the template of their step (as bench/pages.py `multiply` does: the engine
  task ids do not match the projection rows, so a cloned case reads right but cannot be worked); finished
  generated cases keep no engine state (nothing runs them any more). Open steps with a limit get their
  `case_deadline` row;
* one `case.registered` audit row per case, chained with the real HMAC (`flask audit verify` holds);
* the report summary (`report_day`) folded for every day, as the scheduler keeps it.

Run: ``BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1/huiyin_city nice .venv/bin/python bench/city.py
--cases 1000000 --fresh`` (``--fresh`` empties the database's public schema first, or the SQLite file; without
it the database must be empty). ``--end 2026-11-25T09:00`` fixes "now" (default: the wall clock's hour).
"""

from __future__ import annotations

import argparse
import hmac
import os
import random
import sys
import tempfile
import time
from bisect import bisect
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import accumulate
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a plain script from anywhere

from sqlalchemy import Engine, create_engine, select, text  # noqa: E402

from app.clock import FrozenClock  # noqa: E402
from app.crypto import load_keys  # noqa: E402
from app.db import Database  # noqa: E402
from app.domain.identity import id_number_check_char  # noqa: E402
from app.migrate import upgrade  # noqa: E402
from app.models import HumanTask, Unit, User  # noqa: E402
from app.services import report_summary  # noqa: E402
from app.services.auth import actor_for  # noqa: E402
from app.services.cases import RequesterInput  # noqa: E402
from app.services.intake import CaseInput, register_case  # noqa: E402
from app.services.platform import Platform  # noqa: E402
from app.services.seed import CATEGORIES, seed_demo  # noqa: E402
from app.services.tasks import complete_task  # noqa: E402
from app.services.users import add_user  # noqa: E402
from app.settings import Settings  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from engine import KEYS  # noqa: E402

FAST_HASH = {"ARGON2_TIME_COST": 1, "ARGON2_MEMORY_KIB": 1024}
BUREAUS = [("jtw", "市交通委"), ("swj", "市水务局"), ("jw", "市教委"), ("wjw", "市卫健委"), ("gaj", "市公安局"),
           ("mzj", "市民政局"), ("wlj", "市文旅局"), ("gzw", "市规自委"), ("fgw", "市发改委"), ("nyj", "市农业农村局")]
DISTRICTS = [("cyq", "朝阳区", ["三里屯", "望京", "劲松", "双井", "酒仙桥"]),
             ("hdq", "海淀区", ["中关村", "学院路", "万寿路", "清河", "上地"]),
             ("ftq", "丰台区", ["方庄", "卢沟桥", "右安门", "新村", "太平桥"]),
             ("sjsq", "石景山区", ["八角", "古城", "苹果园", "鲁谷", "老山"]),
             ("tzq", "通州区", ["北苑", "玉桥", "中仓", "新华", "永顺"]),
             ("cpq", "昌平区", ["回龙观", "天通苑北", "城北", "城南", "霍营"])]
EXTRA_STREETS = [("dcq.dhm", "东城区东华门街道", "dcq"), ("xcq.jrj", "西城区金融街街道", "xcq")]

KIND_SHARES = {"complaint": 34, "help": 26, "consultation": 24, "suggestion": 8, "report": 5, "praise": 3}
CHANNEL_SHARES = {"phone": 68, "app": 9, "wechat": 8, "web": 7, "mailbox": 2, "weibo": 1, "sms": 1,
                  "letter": 2, "visit": 2}
PETITION_CHANNELS = {"letter", "visit"}
# Leaf → (share, lead unit codes it goes to, season: 'winter', 'summer' or '')
CATEGORY_PLAN: dict[str, tuple[int, list[str], str]] = {
    "城乡建设/供水": (7, ["swj", "zjj"], "summer"), "城乡建设/供暖": (9, ["zjj"], "winter"),
    "城乡建设/燃气": (3, ["zjj"], "winter"), "城乡建设/物业管理": (12, ["zjj", "street"], ""),
    "城乡建设/房屋质量": (3, ["zjj"], ""), "市场监管/食品安全": (4, ["scjgj"], "summer"),
    "市场监管/价格投诉": (3, ["scjgj", "fgw"], ""), "市场监管/消费维权": (8, ["scjgj"], ""),
    "劳动保障/欠薪": (6, ["rsj"], "winter"), "劳动保障/社保": (4, ["rsj"], ""), "劳动保障/劳动合同": (2, ["rsj"], ""),
    "环境保护/噪声": (8, ["sthjj", "street", "gaj"], "summer"), "环境保护/大气污染": (2, ["sthjj"], "winter"),
    "环境保护/水污染": (1, ["sthjj", "swj"], "summer"), "城市管理/占道经营": (9, ["cgj", "street"], "summer"),
    "城市管理/违章建筑": (6, ["cgj", "district"], ""), "城市管理/市容环卫": (13, ["cgj", "street"], ""),
}
assert set(CATEGORY_PLAN) == {f"{top}/{leaf}" for top, leaves in CATEGORIES.items() for leaf in leaves}
MATTERS = {
    "供水": ["停水", "水压低", "水质发黄"], "供暖": ["暖气不热", "供暖温度不达标", "暖气漏水"],
    "燃气": ["燃气异味", "燃气表故障"], "物业管理": ["物业不作为", "电梯故障", "物业费纠纷", "垃圾清运不及时"],
    "房屋质量": ["墙体开裂", "屋顶漏雨"], "食品安全": ["餐馆卫生差", "食品过期"], "价格投诉": ["乱收费", "价格欺诈"],
    "消费维权": ["退卡难", "商家拒不退款", "预付卡跑路"], "欠薪": ["拖欠工资", "讨薪无门"],
    "社保": ["社保断缴", "医保报销"], "劳动合同": ["未签劳动合同", "违法解除合同"],
    "噪声": ["施工噪声扰民", "夜间广场舞噪声", "商铺外放音乐"],
    "大气污染": ["烧烤油烟", "工地扬尘"], "水污染": ["河道异味"], "占道经营": ["占道经营", "流动摊贩"],
    "违章建筑": ["私搭乱建", "违建阳光房"], "市容环卫": ["垃圾堆放", "路灯不亮", "井盖缺失"],
}
PLACES = ["幸福里小区", "阳光花园", "和平家园", "朝阳新城", "金色家园", "翠微路口", "人民路", "建设大街", "文化广场",
          "东风市场", "滨河小区", "光明里"]
RISK_PHRASES = ["如果再不解决就去上访", "情绪激动，扬言要跳楼", "工友们准备群体去讨薪", "说要组织人去堵路",
                "称不解决就自杀"]
NAMES = ["张", "王", "李", "赵", "刘", "陈", "杨", "黄", "周", "吴"]
GIVEN = ["伟", "芳", "娜", "敏", "静", "强", "磊", "军", "洋", "勇", "艳", "杰"]
DAY_HOURS = [1, 1, 1, 1, 1, 2, 4, 8, 14, 16, 15, 13, 9, 11, 14, 14, 12, 10, 8, 7, 6, 4, 3, 2]


@dataclass(frozen=True)
class Template:
    """A real case at an open step: its engine state is what the generated cases at that step clone."""

    case_id: int
    process: str
    step: str  # the ready task's spec name
    status: str
    at_unit: bool  # the step is the lead unit's (else the centre's)


def make_id_number(rng: random.Random) -> str:
    """A valid 18-digit ID number (Beijing, born 1950–2004)."""
    born = datetime(1950, 1, 1) + timedelta(days=rng.randrange(20000))
    first17 = f"110105{born:%Y%m%d}{rng.randrange(1000):03d}"
    return first17 + id_number_check_char(first17)


def weighted(shares: dict[str, int]) -> tuple[list[str], list[int]]:
    return list(shares), list(accumulate(shares.values()))


def pick(rng: random.Random, table: tuple[list[str], list[int]]) -> str:
    keys, cum = table
    return keys[bisect(cum, rng.random() * cum[-1])]


# ---- the database -------------------------------------------------------------------------------

def prepare(url: str, fresh: bool) -> str:
    """A migrated, empty database; `fresh` empties it first."""
    url = url.replace("postgresql://", "postgresql+psycopg://", 1) if url.startswith("postgresql://") else url
    if url.startswith("sqlite"):
        path = Path(url.split("///", 1)[1])
        if fresh and path.exists():
            path.unlink()
    else:
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            if fresh:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    upgrade(url)
    engine = create_engine(url)
    with engine.connect() as conn:
        if conn.scalar(text('SELECT count(*) FROM "case"')):
            raise SystemExit("the database already holds cases: pass --fresh to start it again")
    engine.dispose()
    return url


def platform_for(url: str, end: datetime, instance: str) -> Platform:
    settings = Settings(DATABASE_URL=url, INSTANCE_PATH=instance, **KEYS, **FAST_HASH)  # type: ignore[arg-type]
    return Platform(db=Database(url), settings=settings, keys=load_keys(KEYS, instance), clock=FrozenClock(end))


def add_city_units(p: Platform) -> None:
    """Bureaus, districts with five streets each and two more streets: 60 units; a handler and a leader each."""
    with p.db.unit_of_work() as session:
        known = {u.code: u for u in session.scalars(select(Unit))}
        rows: list[tuple[str, str, str, str]] = [(c, n, "bureau", "centre") for c, n in BUREAUS]
        for code, name, streets in DISTRICTS:
            rows.append((code, name, "district", "centre"))
            rows += [(f"{code}.{i}", f"{name}{s}街道", "street", code) for i, s in enumerate(streets)]
        rows += [(c, n, "street", parent) for c, n, parent in EXTRA_STREETS]
        created = []
        for code, name, kind, parent_code in rows:
            parent = known[parent_code]
            unit = Unit(code=code, name=name, kind=kind, parent_id=parent.id)
            session.add(unit)
            session.flush()
            unit.path = f"{parent.path}{unit.id}/"
            known[code] = unit
            created.append(unit)
        for i, unit in enumerate(created):
            for role, prefix in (("handler", "h"), ("leader", "l")):
                add_user(session, p, staff_no=f"{prefix}{unit.code.replace('.', '_')}", name=f"{unit.name}{i}",
                         unit=unit, password=p.settings.DEMO_PASSWORD, roles={role}, must_change_password=False)
        session.commit()


def make_templates(p: Platform) -> list[Template]:
    """Real cases moved through the services to every open step of both processes."""
    with p.db.reading() as session:
        users = {u.staff_no: actor_for(u) for u in session.scalars(
            select(User).where(User.staff_no.in_(["agent01", "dispatch01", "cg01"])))}
        cgj = session.scalars(select(Unit.id).where(Unit.code == "cgj")).one()

    def ready(case_id: int) -> tuple[str, str]:
        with p.db.reading() as session:
            return session.execute(select(HumanTask.id, HumanTask.spec_name).where(
                HumanTask.case_id == case_id, HumanTask.state == "ready")).one()

    moves: dict[str, tuple[str, dict[str, Any]]] = {
        "accept": ("dispatch01", {"accept_decision": "accept", "kind": "complaint"}),
        "dispatch": ("dispatch01", {"dispatch_mode": "transfer", "lead_unit_id": cgj, "directly_designated": False}),
        "sign_for": ("cg01", {"sign_note": "已签收"}),
        "handle": ("cg01", {"handle_action": "reply", "handling_notes": "已现场处理"}),
        "reply": ("cg01", {"reply_outcome": "support", "reply_opinion": "问题已解决。"}),
    }
    plans = {"hotline_order": ["accept", "dispatch", "sign_for", "handle", "follow_up"],
             "petition": ["accept", "dispatch", "sign_for"]}
    found: list[Template] = []
    for process, steps in plans.items():
        for target in steps:
            made = register_case(p, users["agent01"], CaseInput(
                kind="complaint", channel="letter" if process == "petition" else "phone", category="城市管理/市容环卫",
                subject="模板件：垃圾堆放", content="幸福里小区门口垃圾堆放多日无人清运，请尽快处理。",
                requester=RequesterInput(
                    name="模板", phone="13800000000", address="东城区幸福里 1 号",
                    id_number=make_id_number(random.Random(1)) if process == "petition" else None)))
            task_id, spec = ready(made["id"])
            while spec != target:
                user, data = moves[spec]
                complete_task(p, users[user], task_id, data)
                task_id, spec = ready(made["id"])
            with p.db.reading() as session:
                status = session.scalar(text('SELECT status FROM "case" WHERE id = :id'), {"id": made["id"]})
            found.append(Template(made["id"], process, target, status, target in ("sign_for", "handle")))
    return found


# ---- the generated rows -------------------------------------------------------------------------

class City:
    """Draws the cases: one `draw` per case, in created order."""

    def __init__(self, p: Platform, n: int, end: datetime, templates: list[Template], seed: int = 2026) -> None:
        self.rng = random.Random(seed)
        self.p, self.n, self.end = p, n, end
        self.start = end - timedelta(days=730)
        self.templates = templates
        with p.db.reading() as session:
            units = {u.code: (u.id, u.kind, u.parent_id) for u in session.scalars(select(Unit))}
        self.unit = {code: uid for code, (uid, _, _) in units.items()}
        self.centre = self.unit["centre"]
        self.streets = [(uid, parent) for uid, kind, parent in units.values() if kind == "street"]
        self.districts = [uid for uid, kind, _ in units.values() if kind == "district"]
        self.kinds = weighted(KIND_SHARES)
        self.channels = weighted(CHANNEL_SHARES)
        self.categories = list(CATEGORY_PLAN)
        self.days = self._day_weights()
        self.hours = list(accumulate(DAY_HOURS))
        self.recent: list[tuple[int, int, str, int]] = []  # (case id, requester id, category, area) of late cases
        self.requesters = 0
        cipher = p.cipher
        self.encrypt, self.hash = cipher.encrypt, cipher.search_hash

    def _day_weights(self) -> list[float]:
        weights = []
        for d in range(730):
            day = self.start + timedelta(days=d)
            weekly = 0.55 if day.weekday() >= 5 else 1.0
            weights.append(weekly * (1 + 0.08 * d / 365))
        return list(accumulate(weights))

    def when(self) -> datetime:
        rng = self.rng
        d = bisect(self.days, rng.random() * self.days[-1])
        h = bisect(self.hours, rng.random() * self.hours[-1])
        return self.start + timedelta(days=d, hours=h, minutes=rng.randrange(60), seconds=rng.randrange(60))

    def category_for(self, at: datetime) -> str:
        rng = self.rng
        winter, summer = at.month in (11, 12, 1, 2, 3), at.month in (6, 7, 8)
        while True:
            cat = rng.choice(self.categories)
            share, _, season = CATEGORY_PLAN[cat]
            boost = 2.5 if (season == "winter" and winter) or (season == "summer" and summer) else 1.0
            if season and not boost > 1:
                boost = 0.6
            if rng.random() * 13 * 2.5 < share * boost:
                return cat

    def lead_for(self, category: str, area: int, district: int) -> int:
        choice = self.rng.choice(CATEGORY_PLAN[category][1])
        if choice == "street":
            return area
        if choice == "district":
            return district
        return self.unit[choice]

    def sorted_times(self) -> list[datetime]:
        return sorted(self.when() for _ in range(self.n))


def finish(rng: random.Random, row: dict[str, Any], at: datetime, kind: str, process: str, lead: int,
           end: datetime) -> None:
    """A finished case's times, 回访 result and counters."""
    closed_kind = rng.random()
    accepted = at + timedelta(minutes=rng.uniform(5, 240) if rng.random() < 0.96 else rng.uniform(1, 3) * 1440)
    row["accepted_at"], row["accepted_on_time"] = accepted, (accepted - at) < timedelta(days=1)
    if kind in ("consultation", "praise") and closed_kind < 0.7:
        row.update(status="closed", replied_at=at + timedelta(minutes=8), replied_on_time=True,
                   closed_at=at + timedelta(minutes=8), accepted_at=None, accepted_on_time=None)
    elif closed_kind < 0.02:
        row.update(status="rejected", closed_at=accepted + timedelta(days=1))
    elif closed_kind < 0.03:
        row.update(status=rng.choice(["transferred", "redirected"]), closed_at=at + timedelta(minutes=5),
                   accepted_at=None, accepted_on_time=None)
    else:
        handling = rng.lognormvariate(1.6, 0.6)  # working days ≈ calendar days × 5/7
        replied = accepted + timedelta(days=handling)
        returned = rng.random() < 0.05
        reopened = rng.random() < 0.06
        row.update(lead_unit_id=lead, responded_at=accepted + timedelta(hours=rng.uniform(0.5, 30)),
                   replied_at=replied, replied_on_time=handling * 5 / 7 <= 15 and rng.random() < 0.96,
                   return_count=int(returned), reopen_count=int(reopened),
                   extension_count=int(rng.random() < 0.04), supervision_count=int(rng.random() < 0.03)
                   + int(rng.random() < 0.005))
        followed = replied + timedelta(days=rng.uniform(0.3, 2.5))
        if rng.random() < 0.92:  # reached for 回访
            s = rng.random()
            row.update(satisfaction="satisfied" if s < 0.78 else "basically_satisfied" if s < 0.92
                       else "unsatisfied", followed_up_at=followed)
            row["resolved"] = row["satisfaction"] != "unsatisfied" and rng.random() < 0.93
        if process == "petition" and rng.random() < 0.05:
            row["status"] = "terminated"
        row["closed_at"] = followed
    for name in ("replied_at", "followed_up_at", "closed_at"):
        if row[name] is not None and row[name] > end:
            row[name] = end


def generate(city: City, first_case: int, first_requester: int, first_audit: int, prev_mac: str) -> Iterator[
        tuple[str, tuple[Any, ...]]]:
    """Rows as (table, values), in created order; the open cases' template rows go to `city_open`."""
    rng, end, centre = city.rng, city.end, city.centre
    templates = {(t.process, t.step): t for t in city.templates}
    hotline_open = [("accept", 12), ("dispatch", 6), ("sign_for", 14), ("handle", 58), ("follow_up", 10)]
    petition_open = [("accept", 40), ("dispatch", 20), ("sign_for", 40)]
    audit_key = city.p.keys.audit_key
    requester_id = first_requester - 1
    for i, at in enumerate(city.sorted_times()):
        case_id = first_case + i
        kind = pick(rng, city.kinds)
        channel = pick(rng, city.channels)
        process = "petition" if channel in PETITION_CHANNELS else "hotline_order"
        category = city.category_for(at)
        area, district = rng.choice(city.streets)
        matter = rng.choice(MATTERS[category.split("/")[1]])
        place = rng.choice(PLACES)
        repeat = rng.random() < 0.09 and city.recent
        duplicate_of = None
        if repeat:
            prior, requester, category, area = rng.choice(city.recent)
            duplicate_of = prior
            district = next(d for s, d in city.streets if s == area)
            matter = rng.choice(MATTERS[category.split("/")[1]])
        else:
            requester_id += 1
            requester = requester_id
            phone = f"1{rng.choice('3578')}{rng.randrange(10**9):09d}"
            id_number = make_id_number(rng) if process == "petition" else None
            yield "requester", (requester, rng.choice(NAMES) + rng.choice(GIVEN) + rng.choice(["", *GIVEN]),
                                city.encrypt(phone, "requester.phone"), city.hash(phone, "requester.phone"),
                                city.encrypt(id_number, "requester.id_number"),
                                city.hash(id_number, "requester.id_number"), None, at)
        city.recent.append((case_id, requester, category, area))
        if len(city.recent) > 5000:
            city.recent = city.recent[-4000:]
        lead = city.lead_for(category, area, district)
        content = f"{place}{matter}，已持续{rng.randint(2, 30)}天，" + rng.choice(
            ["多次反映未解决，请尽快处理。", "影响居民正常生活，希望有关部门核实。", "请相关部门尽快协调解决。"])
        if rng.random() < 0.006:
            content += rng.choice(RISK_PHRASES) + "。"
        age = (end - at).total_seconds() / 86400  # open: most of the last week, fewer the older (≈ 5 % in all)
        is_open = rng.random() < (0.95 if age < 7 else 0.5 if age < 30 else 0.1 if age < 120 else 0.012)
        row: dict[str, Any] = dict(
            id=case_id, number=f"{at:%Y%m%d}{case_id:08d}", query_code=f"{rng.getrandbits(60):015x}", kind=kind,
            channel=channel, category=category, subject=f"{place}{matter}"[:200], content=content,
            requester_id=requester, status="archived", process_key=process,
            registering_unit_id=district if channel == "visit" else centre, lead_unit_id=None, area_unit_id=area,
            location=f"{place}{rng.randint(1, 40)}号", duplicate_of_id=duplicate_of,
            sensitivity="sensitive" if kind == "report" else "normal", created_at=at, accepted_at=None,
            due_at=None, closed_at=None, responded_at=None, replied_at=None, replied_on_time=None,
            accepted_on_time=None, followed_up_at=None, satisfaction=None, resolved=None, return_count=0,
            reopen_count=0, extension_count=0, supervision_count=0)
        if is_open:
            plan = petition_open if process == "petition" else hotline_open
            step = plan[bisect(list(accumulate(w for _, w in plan)), rng.random() * sum(w for _, w in plan))][0]
            template = templates[(process, step)]
            row["status"] = template.status
            if step not in ("accept", "dispatch"):
                row.update(lead_unit_id=lead, accepted_at=at + timedelta(hours=rng.uniform(0.2, 6)))
                row["accepted_on_time"] = rng.random() < 0.97
            if step == "follow_up":
                row.update(responded_at=row["accepted_at"] + timedelta(hours=3),
                           replied_at=min(end, row["accepted_at"] + timedelta(days=rng.uniform(1, 10))),
                           replied_on_time=rng.random() < 0.93)
            elif step == "handle":
                row["responded_at"] = row["accepted_at"] + timedelta(hours=rng.uniform(1, 20))
            light = rng.random()  # green 70 %, yellow 15 %, red 12 %, paused 3 %
            due = end + (timedelta(days=rng.uniform(3, 14)) if light < 0.70 else
                         timedelta(days=rng.uniform(0.1, 1.5)) if light < 0.85 else
                         -timedelta(days=rng.uniform(0.1, 10)))
            warn = due - timedelta(days=2)
            row["due_at"] = due
            unit = lead if template.at_unit else centre
            yield "city_open", (case_id, template.case_id, unit, min(at + timedelta(hours=1), end), due, warn,
                                end - timedelta(days=1) if light >= 0.97 else None, kind)
        else:
            finish(rng, row, at, kind, process, lead, end)
        yield "case", tuple(row.values())
        # The JSON audit._mac signs (sorted keys; every value here is plain ASCII, so no escaping is needed).
        detail = f'{{"channel":"{channel}","kind":"{kind}","number":"{row["number"]}"}}'
        actor = "system" if channel in ("web", "app", "wechat") else "agent01"
        body = (f'["{prev_mac}","{at.replace(microsecond=0).isoformat()}",null,"{actor}","case.registered",'
                f'{case_id},{detail},null]')
        mac = hmac.digest(audit_key, body.encode(), "sha256").hex()
        yield "audit_event", (first_audit + i, at, None, actor, "case.registered", case_id, detail, None,
                              prev_mac, mac)
        prev_mac = mac


CASE_COLUMNS = ("id, number, query_code, kind, channel, category, subject, content, requester_id, status, process_key, "
                "registering_unit_id, lead_unit_id, area_unit_id, location, duplicate_of_id, sensitivity, created_at, "
                "accepted_at, due_at, closed_at, responded_at, replied_at, replied_on_time, accepted_on_time, "
                "followed_up_at, satisfaction, resolved, return_count, reopen_count, extension_count, "
                "supervision_count")
COLUMNS = {
    "requester": "id, name, phone_enc, phone_hash, id_number_enc, id_number_hash, address_enc, created_at",
    "case": CASE_COLUMNS,
    "audit_event": "id, at, actor_id, actor, action, case_id, detail, ip, prev_mac, mac",
    "city_open": "case_id, template_id, unit_id, created_at, due_at, warn_at, paused_at, kind",
}


class Loader:
    """Buffers rows per table and writes them in batches (COPY on PostgreSQL); requesters before cases."""

    ORDER = ("requester", "case", "audit_event", "city_open")

    def __init__(self, engine: Engine, batch: int = 50_000) -> None:
        self.engine, self.batch = engine, batch
        self.pg = engine.dialect.name == "postgresql"
        self.rows: dict[str, list[tuple[Any, ...]]] = {t: [] for t in self.ORDER}
        self.counts = dict.fromkeys(self.ORDER, 0)

    def add(self, table: str, values: tuple[Any, ...]) -> None:
        self.rows[table].append(values)
        if table == "case" and len(self.rows["case"]) >= self.batch:
            self.flush()

    def flush(self) -> None:
        raw = self.engine.raw_connection()
        try:
            cur = raw.cursor()
            for table in self.ORDER:
                rows = self.rows[table]
                if not rows:
                    continue
                name = f'"{table}"' if table == "case" else table
                if self.pg:
                    with cur.copy(f"COPY {name} ({COLUMNS[table]}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                        for r in rows:
                            copy.write_row(r)
                else:
                    marks = ", ".join("?" for _ in COLUMNS[table].split(","))
                    cur.executemany(f"INSERT INTO {name} ({COLUMNS[table]}) VALUES ({marks})",
                                    [tuple(v.isoformat(" ") if isinstance(v, datetime) else v for v in r)
                                     for r in rows])
                self.counts[table] += len(rows)
                rows.clear()
            raw.commit()
        finally:
            raw.close()


def derived(engine: Engine, end: datetime, centre: int) -> None:
    """Set-based rows from the loaded cases: engine states and ready tasks of the open ones (from their
    template), their deadlines, and the done history of the finished ones."""
    pg = engine.dialect.name == "postgresql"
    new_id = ("gen_random_uuid()::text" if pg else
              "lower(hex(randomblob(4)))||'-'||lower(hex(randomblob(2)))||'-'||lower(hex(randomblob(2)))||'-'||"
              "lower(hex(randomblob(2)))||'-'||lower(hex(randomblob(6)))")
    plus = (lambda col, hours: f"{col} + interval '{hours} hours'") if pg else (
        lambda col, hours: f"datetime({col}, '+{hours} hours')")
    statements = [
        """INSERT INTO workflow_state (case_id, definition_id, state_json, serializer_version, revision, incident,
                                       updated_at)
           SELECT o.case_id, w.definition_id, w.state_json, w.serializer_version, w.revision, NULL, o.created_at
           FROM city_open o JOIN workflow_state w ON w.case_id = o.template_id""",
        f"""INSERT INTO human_task (id, case_id, spec_name, title, role, unit_id, form, deadline_rule, state,
                                    created_at, due_at, warn_at, paused_at)
            SELECT {new_id}, o.case_id, t.spec_name, t.title, t.role, o.unit_id, t.form,
                   CASE WHEN t.spec_name = 'handle' THEN 'hotline.' || o.kind ELSE t.deadline_rule END, 'ready',
                   o.created_at, o.due_at, o.warn_at, o.paused_at
            FROM city_open o JOIN human_task t ON t.case_id = o.template_id AND t.state = 'ready'""",
        """INSERT INTO case_deadline (case_id, rule_key, unit_id, started_at, due_at, warn_at, extended_by)
           SELECT t.case_id, t.deadline_rule, CASE WHEN t.unit_id = :centre THEN 0 ELSE t.unit_id END,
                  t.created_at, t.due_at, t.warn_at, 0
           FROM human_task t JOIN city_open o ON o.case_id = t.case_id WHERE t.deadline_rule IS NOT NULL""",
        f"""INSERT INTO human_task (id, case_id, spec_name, title, role, unit_id, form, deadline_rule, state,
                                    created_at, completed_at, due_at)
            SELECT {new_id}, c.id, 'accept', '受理', 'dispatcher', :centre, 'accept.json', 'hotline.centre_intake',
                   'done', c.created_at, c.accepted_at, {plus('c.created_at', 24)}
            FROM "case" c WHERE c.accepted_at IS NOT NULL AND c.closed_at IS NOT NULL""",
        f"""INSERT INTO human_task (id, case_id, spec_name, title, role, unit_id, form, deadline_rule, state,
                                    created_at, completed_at)
            SELECT {new_id}, c.id, 'handle', '办理', 'handler', c.lead_unit_id, 'handle.json', 'hotline.' || c.kind,
                   'done', c.accepted_at, c.replied_at
            FROM "case" c WHERE c.lead_unit_id IS NOT NULL AND c.closed_at IS NOT NULL""",
        f"""INSERT INTO human_task (id, case_id, spec_name, title, role, unit_id, form, deadline_rule, state,
                                    created_at, completed_at)
            SELECT {new_id}, c.id, 'follow_up', '回访', 'agent', :centre, 'follow_up.json', 'centre.follow_up',
                   'done', c.replied_at, c.followed_up_at
            FROM "case" c WHERE c.followed_up_at IS NOT NULL AND c.closed_at IS NOT NULL""",
        "DROP TABLE city_open",
    ]
    with engine.begin() as conn:
        for sql in statements:
            t = time.perf_counter()
            conn.execute(text(sql), {"centre": centre} if ":centre" in sql else {})
            print(f"  {sql.split()[2]:16s} {time.perf_counter() - t:6.1f} s", flush=True)
        if pg:
            for table in ("case", "requester", "audit_event"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                                  f'(SELECT max(id) FROM "{table}"))'))


def counts(engine: Engine) -> dict[str, int]:
    queries = {
        "units": "SELECT count(*) FROM unit",
        "cases": 'SELECT count(*) FROM "case"',
        "open cases": "SELECT count(*) FROM \"case\" WHERE closed_at IS NULL",
        "requesters": "SELECT count(*) FROM requester",
        "human_task rows": "SELECT count(*) FROM human_task",
        "ready tasks": "SELECT count(*) FROM human_task WHERE state = 'ready'",
        "busiest unit's ready tasks": "SELECT max(n) FROM (SELECT count(*) AS n FROM human_task WHERE state = 'ready' "
                                      "GROUP BY unit_id) x",
        "centre's ready tasks": "SELECT count(*) FROM human_task t JOIN unit u ON u.id = t.unit_id "
                                "WHERE t.state = 'ready' AND u.code = 'centre'",
        "case_deadline rows": "SELECT count(*) FROM case_deadline",
        "audit rows": "SELECT count(*) FROM audit_event",
    }
    with engine.connect() as conn:
        return {name: int(conn.scalar(text(sql)) or 0) for name, sql in queries.items()}


def build(url: str, n: int, end: datetime, fresh: bool, instance: str) -> dict[str, int]:
    t0 = time.perf_counter()
    url = prepare(url, fresh)
    p = platform_for(url, end, instance)
    try:
        seed_demo(p)
        add_city_units(p)
        templates = make_templates(p)
        print(f"seed, 60 units and {len(templates)} templates in {time.perf_counter() - t0:.0f} s", flush=True)
        engine = p.db.engine
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE city_open (case_id integer, template_id integer, unit_id integer, "
                              "created_at timestamp, due_at timestamp, warn_at timestamp, paused_at timestamp, "
                              "kind varchar(20))"))
            first_case = int(conn.scalar(text('SELECT max(id) FROM "case"')) or 0) + 1
            first_requester = int(conn.scalar(text("SELECT max(id) FROM requester")) or 0) + 1
            last = conn.execute(text("SELECT id, mac FROM audit_event ORDER BY id DESC LIMIT 1")).one()
        city = City(p, n, end, templates)
        loader = Loader(engine)
        t = time.perf_counter()
        for table, values in generate(city, first_case, first_requester, int(last[0]) + 1, str(last[1])):
            loader.add(table, values)
        loader.flush()
        print(f"generated and loaded {loader.counts} in {time.perf_counter() - t:.0f} s", flush=True)
        derived(engine, end, city.centre)
        if engine.dialect.name == "postgresql":
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
        t = time.perf_counter()  # the bulk load bypassed the ORM's marks: fold every day of the summary
        days = report_summary.rebuild(p)
        print(f"report summary: {days} days folded in {time.perf_counter() - t:.0f} s", flush=True)
        found = counts(engine)
        found["seconds"] = round(time.perf_counter() - t0)
        return found
    finally:
        p.db.dispose()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--end", type=datetime.fromisoformat, default=datetime.now().replace(
        minute=0, second=0, microsecond=0), help="the city's now (local wall-clock time)")
    parser.add_argument("--fresh", action="store_true", help="empty the database first")
    parser.add_argument("--url", default=os.environ.get("BENCH_DATABASE_URL"))
    args = parser.parse_args(argv)
    if not args.url:
        raise SystemExit("set BENCH_DATABASE_URL (a PostgreSQL URL, or sqlite:///file for small N) or --url")
    with tempfile.TemporaryDirectory() as instance:
        found = build(args.url, args.cases, args.end, args.fresh, instance)
    for name, value in found.items():
        print(f"{name:28s} {value:>10,}")


if __name__ == "__main__":
    main()
