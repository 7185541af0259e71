"""Response times of the workstation pages (/worklist, /cases/<id>) on 10,000 cases, SQLite and PostgreSQL.

Builds a realistic database per run: a few hundred cases registered through
`app.services.intake.register_case` in daily batches (the frozen clock advancing between them), a share of
each batch moved along with `app.services.tasks.complete_task` (受理 → 派单 to 市城管局 / 市住建局 → 签收), so
worklists hold tasks at several units with green, yellow and red lights; then those rows are multiplied
with set-based `INSERT … SELECT` (case, requester, workflow_state, human_task, audit_event; fresh ids,
numbers, query codes and task ids) up to 10,000 cases. Then it signs in through the real /login page
(Flask test client, CSRF token included) as dispatch01 (the centre's dispatcher) and cg01 (a handler at
市城管局) and times GET /worklist, /worklist?light=red and /cases/<id> (random cases the user may see),
printing p50/p95/max and the SQL statements per request (a `before_cursor_execute` listener), plus the
statements that took the most time.

Run: ``.venv/bin/python bench/pages.py [--cases 10000] [--base 400] [--requests 100]
[--only sqlite|postgresql] [--explain] [--profile] [--statements]``. PostgreSQL comes from BENCH_DATABASE_URL or
TEST_DATABASE_URL (a schema `huiyin_bench_pages` is recreated). `--explain` prints EXPLAIN ANALYZE of
each page's slowest statement (PostgreSQL); `--profile` a cProfile of each page; `--statements` every
distinct statement of each page with its time per request.
"""

from __future__ import annotations

import argparse
import cProfile
import math
import os
import pstats
import random
import re
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a plain script from anywhere

from sqlalchemy import Engine, event, func, select, text  # noqa: E402

from app import create_app  # noqa: E402
from app.clock import FrozenClock  # noqa: E402
from app.crypto import load_keys  # noqa: E402
from app.db import Database  # noqa: E402
from app.models import Case, HumanTask, Unit, User  # noqa: E402
from app.services.auth import actor_for  # noqa: E402
from app.services.cases import RequesterInput  # noqa: E402
from app.services.intake import CaseInput, register_case  # noqa: E402
from app.services.platform import Platform  # noqa: E402
from app.services.scope import visible_cases  # noqa: E402
from app.services.seed import seed_demo  # noqa: E402
from app.services.tasks import complete_task, light_expr  # noqa: E402
from app.settings import Settings  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from engine import KEYS, pct, postgres_url, sqlite_url  # noqa: E402

SCHEMA = "huiyin_bench_pages"
START = datetime(2026, 11, 16, 9, 0, 0)  # a Monday; ten daily batches run to the Friday after next
PASSWORD = "Huiyin@2026"
FAST_HASH = {"ARGON2_TIME_COST": 1, "ARGON2_MEMORY_KIB": 1024}
KINDS = ["complaint", "complaint", "help", "consultation", "report", "suggestion"]
CHANNELS = ["phone", "phone", "phone", "web", "app", "wechat"]
CATEGORIES = ["城乡建设/供水", "城乡建设/供暖", "城乡建设/物业管理", "城市管理/占道经营", "城市管理/违章建筑",
              "城市管理/市容环卫"]
PAGES = {"worklist": "/worklist", "worklist?light=red": "/worklist?light=red", "case": "/cases/{id}"}


# ---- the database ------------------------------------------------------------------------------

def config_for(url: str, tmp: Path) -> dict[str, Any]:
    return {"DATABASE_URL": url, "INSTANCE_PATH": str(tmp / "instance"), "SESSION_COOKIE_SECURE": False,
            "LOG_LEVEL": "WARNING", **KEYS, **FAST_HASH}


def platform_for(config: dict[str, Any], clock: FrozenClock) -> Platform:
    settings = Settings(**{k: v for k, v in config.items() if k in Settings.__dataclass_fields__})
    return Platform(db=Database(settings.DATABASE_URL), settings=settings,
                    keys=load_keys(KEYS, config["INSTANCE_PATH"]), clock=clock)


def people(p: Platform) -> dict[str, Any]:
    with p.db.reading() as session:
        users = session.scalars(select(User).where(User.staff_no.in_(["agent01", "dispatch01", "cg01", "zj01"])))
        found: dict[str, Any] = {u.staff_no: actor_for(u) for u in users}
        found.update({code: uid for code, uid in session.execute(select(Unit.code, Unit.id)
                                                                   .where(Unit.code.in_(["cgj", "zjj"])))})
        return found


def ready_task(p: Platform, case_id: int, spec: str) -> str:
    with p.db.reading() as session:
        return session.scalars(select(HumanTask.id).where(HumanTask.case_id == case_id, HumanTask.spec_name == spec,
                                                          HumanTask.state == "ready")).one()


def register_and_move(p: Platform, clock: FrozenClock, base: int, rng: random.Random) -> None:
    """Ten daily batches through the services; each batch: ~15 % left at 受理, ~15 % at 派单, ~30 % at 签收
    (市城管局 / 市住建局), ~40 % signed for (办理 running at the unit). Earlier batches go yellow and red."""
    who = people(p)
    batches = 10
    n = 0
    for _batch in range(batches):
        ids = []
        for _ in range(math.ceil(base / batches)):
            if n >= base:
                break
            phone = f"139{rng.randrange(10**8):08d}" if rng.random() > 0.1 or n < 10 else f"139{n // 10:08d}"
            made = register_case(p, who["agent01"], CaseInput(
                kind=rng.choice(KINDS), channel=rng.choice(CHANNELS), category=rng.choice(CATEGORIES),
                subject=f"诉求 {n}：{rng.choice(['小区停水', '路灯不亮', '占道经营', '噪声扰民', '物业不作为'])}",
                content="幸福里小区 3 号楼反映的问题，持续多日，请尽快处理。" * 4,
                requester=RequesterInput(name=rng.choice(["张三", "李四", "王五", "赵六", "欧阳娜娜"]), phone=phone,
                                         address=f"东城区幸福里 {n % 40} 号")))
            ids.append(made["id"])
            n += 1
        for case_id in ids:
            roll = rng.random()
            if roll < 0.15:
                continue
            complete_task(p, who["dispatch01"], ready_task(p, case_id, "accept"),
                          {"accept_decision": "accept", "kind": rng.choice(KINDS)})
            if roll < 0.30:
                continue
            unit, handler = ("cgj", "cg01") if rng.random() < 0.6 else ("zjj", "zj01")
            complete_task(p, who["dispatch01"], ready_task(p, case_id, "dispatch"),
                          {"dispatch_mode": "transfer", "lead_unit_id": who[unit], "directly_designated": False})
            if roll < 0.60:
                continue
            complete_task(p, who[handler], ready_task(p, case_id, "sign_for"), {"sign_note": "已签收"})
        clock.advance(days=1, hours=rng.choice([0, 1, 2]))
    clock.advance(hours=3)


def multiply(engine: Engine, target: int) -> None:
    """Copy the registered cases (with requester, engine state, tasks, audit rows) until `target` cases."""
    pg = engine.dialect.name == "postgresql"
    new_id = ("gen_random_uuid()::text" if pg else
              "lower(hex(randomblob(4)))||'-'||lower(hex(randomblob(2)))||'-'||lower(hex(randomblob(2)))||'-'||"
              "lower(hex(randomblob(2)))||'-'||lower(hex(randomblob(6)))")
    with engine.begin() as conn:
        ids = list(conn.scalars(text('SELECT id FROM "case" ORDER BY id')))
        stride = 10 ** len(str(max(ids) + 1))
        audit_stride = 10 ** len(str(conn.scalar(text("SELECT max(id) FROM audit_event")) + 1))
        missing, rnd = target - len(ids), 0
        while missing > 0:
            rnd += 1
            take = ids[:min(missing, len(ids))]
            params = {"off": rnd * stride, "aoff": rnd * audit_stride, "tag": f"{rnd:04d}", "cut": take[-1]}
            statements = [
                """INSERT INTO requester (id, name, phone_enc, phone_hash, id_number_enc, id_number_hash, address_enc,
                                          created_at)
                   SELECT id + :off, name, phone_enc, substr(phone_hash, 1, 59) || 'r' || :tag, id_number_enc,
                          substr(id_number_hash, 1, 59) || 'r' || :tag, address_enc, created_at
                   FROM requester WHERE id IN (SELECT requester_id FROM "case" WHERE id <= :cut)""",
                """INSERT INTO "case" (id, number, query_code, kind, channel, category, subject, content, requester_id,
                                       status, process_key, registering_unit_id, lead_unit_id, duplicate_of_id,
                                       sensitivity, created_by_id, created_at, accepted_at, due_at, closed_at)
                   SELECT id + :off, number || '-' || :tag, 'B' || :tag || query_code, kind, channel, category,
                          subject, content, requester_id + :off, status, process_key, registering_unit_id,
                          lead_unit_id, duplicate_of_id + :off, sensitivity, created_by_id, created_at, accepted_at,
                          due_at, closed_at
                   FROM "case" WHERE id <= :cut""",
                """INSERT INTO workflow_state (case_id, definition_id, state_json, serializer_version, revision,
                                               incident, updated_at)
                   SELECT case_id + :off, definition_id, state_json, serializer_version, revision, incident,
                          updated_at
                   FROM workflow_state WHERE case_id <= :cut""",
                f"""INSERT INTO human_task (id, case_id, spec_name, title, role, unit_id, assignee_id, form,
                                            deadline_rule, state, created_at, completed_at, completed_by_id, due_at,
                                            warn_at)
                    SELECT {new_id}, case_id + :off, spec_name, title, role, unit_id, assignee_id, form, deadline_rule,
                           state, created_at, completed_at, completed_by_id, due_at, warn_at
                    FROM human_task WHERE case_id <= :cut""",
                """INSERT INTO audit_event (id, at, actor_id, actor, action, case_id, detail, ip, prev_mac, mac)
                   SELECT id + :aoff, at, actor_id, actor, action, case_id + :off, detail, ip, prev_mac, mac
                   FROM audit_event WHERE case_id <= :cut""",
            ]
            for sql in statements:
                conn.execute(text(sql), params)
            missing -= len(take)
        if pg:
            for table in ("case", "requester", "audit_event"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                                  f'(SELECT max(id) FROM "{table}"))'))
    if pg:  # what autovacuum would have done by the time a real database holds 10,000 cases
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))


def describe(p: Platform) -> str:
    now = p.clock.now()
    lit = light_expr(now).label("light")
    with p.db.reading() as session:
        cases = session.scalar(select(func.count()).select_from(Case))
        rows = session.execute(select(Unit.code, HumanTask.role, lit, func.count()).select_from(HumanTask)
                               .join(Unit, HumanTask.unit_id == Unit.id).where(HumanTask.state == "ready")
                               .group_by(Unit.code, HumanTask.role, lit).order_by(Unit.code, HumanTask.role)).all()
        total_tasks = session.scalar(select(func.count()).select_from(HumanTask))
    by: dict[str, dict[str, int]] = defaultdict(dict)
    for unit, role, light, n in rows:
        by[f"{unit}/{role}"][light] = n
    ready = ", ".join(f"{k} " + "/".join(str(v.get(lt, 0)) for lt in ("green", "yellow", "red"))
                      for k, v in by.items())
    return f"{cases} cases, {total_tasks} task rows; ready tasks green/yellow/red: {ready}"


# ---- measuring ---------------------------------------------------------------------------------

@dataclass
class Recorder:
    """Counts statements per request and the time spent in each distinct statement."""

    on: bool = False
    count: int = 0
    spent: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    sample: dict[str, Any] = field(default_factory=dict)

    def attach(self, engine: Engine) -> None:
        @event.listens_for(engine, "before_cursor_execute")
        def before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
            conn.info["bench_t"] = time.perf_counter()
            if self.on:
                self.count += 1

        @event.listens_for(engine, "after_cursor_execute")
        def after(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
            if self.on:
                self.spent[statement].append((time.perf_counter() - conn.info.pop("bench_t")) * 1000)
                self.sample[statement] = parameters

    def reset(self) -> None:
        self.count = 0
        self.spent.clear()
        self.sample.clear()


def csrf_token_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    if not match:
        raise SystemExit("the login page has no CSRF token")
    return match.group(1)


def signed_in(app: Any, staff_no: str) -> Any:
    client = app.test_client()
    token = csrf_token_of(client.get("/login").get_data(as_text=True))
    answer = client.post("/login", data={"staff_no": staff_no, "password": PASSWORD, "csrf_token": token})
    if answer.status_code != 302 or client.get("/worklist").status_code != 200:
        raise SystemExit(f"could not sign in as {staff_no}: {answer.status_code}")
    return client


def visible_ids(p: Platform, staff_no: str) -> list[int]:
    with p.db.reading() as session:
        user = session.scalars(select(User).where(User.staff_no == staff_no)).one()
        return list(session.scalars(select(Case.id).where(visible_cases(actor_for(user)))))


def short(sql: str, most: int = 150) -> str:
    one = " ".join(sql.split())
    return one if len(one) <= most else one[:most] + " …"


def measure(name: str, url: str, config: dict[str, Any], clock: FrozenClock, requests: int, explain: bool,
            profile: bool, every: bool = False) -> list[tuple[Any, ...]]:
    app = create_app(config, clock=clock)
    platform = app.extensions["huiyin"]
    rec = Recorder()
    rec.attach(platform.db.engine)
    rng = random.Random(12345)
    results = []
    try:
        for staff_no in ("dispatch01", "cg01"):
            client = signed_in(app, staff_no)
            ids = visible_ids(platform, staff_no)
            for page, path in PAGES.items():
                paths = [path.format(id=rng.choice(ids)) for _ in range(requests)]
                for warm in paths[:5]:
                    client.get(warm)
                rec.reset()
                latencies, counts = [], []
                profiler = cProfile.Profile() if profile else None
                for one in paths:
                    before = rec.count
                    rec.on = True
                    if profiler:
                        profiler.enable()
                    t = time.perf_counter()
                    answer = client.get(one)
                    latencies.append((time.perf_counter() - t) * 1000)
                    if profiler:
                        profiler.disable()
                    rec.on = False
                    if answer.status_code != 200:
                        raise SystemExit(f"GET {one} as {staff_no}: {answer.status_code}")
                    counts.append(rec.count - before)
                row = (name, staff_no, page, pct(latencies, 50), pct(latencies, 95), max(latencies),
                       statistics.median(counts), max(counts))
                results.append(row)
                print(f"{name:10s} {staff_no:10s} {page:20s} p50 {row[3]:7.1f}  p95 {row[4]:7.1f}  "
                      f"max {row[5]:7.1f} ms   SQL/request {row[6]:.0f} (max {row[7]})", flush=True)
                worst = sorted(rec.spent.items(), key=lambda kv: -sum(kv[1]))
                for sql, times in worst if every else worst[:3]:
                    print(f"{'':22s}{sum(times) / requests:6.1f} ms/request ({len(times) / requests:.0f}x, "
                          f"max {max(times):.1f})  {short(sql, 400 if every else 150)}")
                if explain and name == "postgresql" and worst:
                    sql, _ = worst[0]
                    with platform.db.engine.connect() as conn:
                        plan = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + sql, rec.sample[sql]).all()
                    print("\n".join(f"{'':26s}{line}" for (line,) in plan))
                if profiler:
                    stats = pstats.Stats(profiler).sort_stats("cumulative")
                    stats.print_stats(r"/app/|jinja2/environment|orm/loading|default.py.*execute", 25)
    finally:
        platform.db.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--base", type=int, default=400, help="cases registered through the services")
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--statements", action="store_true", help="list every statement of each page")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} "
          f"on {os.cpu_count()} cores", flush=True)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("sqlite", "postgresql"):
            if args.only and args.only != name:
                continue
            t = time.perf_counter()
            url = sqlite_url(Path(tmp), "pages") if name == "sqlite" else postgres_url(SCHEMA)
            config = config_for(url, Path(tmp))
            clock = FrozenClock(START)
            p = platform_for(config, clock)
            try:
                seed_demo(p)
                register_and_move(p, clock, args.base, random.Random(2026))
                multiply(p.db.engine, args.cases)
                print(f"{name:10s} built in {time.perf_counter() - t:.0f} s at {clock.now():%Y-%m-%d %H:%M}: "
                      f"{describe(p)}", flush=True)
            finally:
                p.db.dispose()
            results += measure(name, url, config, clock, args.requests, args.explain, args.profile,
                               args.statements)
            print(f"load average {os.getloadavg()[0]:.2f} after {name}", flush=True)
    print("\n| database | user | page | p50 ms | p95 ms | max ms | SQL/request |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, staff_no, page, p50, p95, most, median_count, max_count in results:
        print(f"| {name} | {staff_no} | `{page}` | {p50:.1f} | {p95:.1f} | {most:.1f} | {median_count:.0f}"
              f"{f' (max {max_count})' if max_count != median_count else ''} |")


if __name__ == "__main__":
    main()
