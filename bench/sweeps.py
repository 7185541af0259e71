"""One scheduler pass (BPMN timers, yellow/red warnings, the escalation ladder) over 100,000 open tasks, on PostgreSQL.

Builds a schema `huiyin_sweeps` (recreated) in the database BENCH_DATABASE_URL or TEST_DATABASE_URL names:
the demo city, a few cases registered, accepted and dispatched through the services to 签收 at 市城管局 (a
handler's task, which the ladder climbs), then cloned in SQL to `--tasks` open cases — case, engine state
(every task id inside given the clone's own prefix) and task — with due times spread evenly over 30 days
around now. What a running scheduler already did before `now - 1 minute` is marked done (warnings raised,
rungs fired: the steady state), so a pass at `now` finds the minute's crossings among 100,000 tasks; a second
pass an hour later finds an hour's backlog. The ladder's actions are real (SMS, 催办通知书 numbers, the 督办
message through the engine). Prints each part's time, what fired, statements, client CPU and load average.

Run: ``TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test .venv/bin/python bench/sweeps.py [--tasks 100000]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a plain script from anywhere
sys.path.insert(0, str(ROOT / "bench"))

from engine import Statements, actors, appeal, loadavg, platform_for, postgres_url  # noqa: E402
from sqlalchemy import select, text  # noqa: E402

from app.clock import FrozenClock  # noqa: E402
from app.models import HumanTask, TaskEscalation  # noqa: E402
from app.services import escalation, sweeps  # noqa: E402
from app.services.calendar import load_calendar  # noqa: E402
from app.services.intake import register_case  # noqa: E402
from app.services.settings import get_setting  # noqa: E402
from app.services.tasks import complete_task  # noqa: E402

TEMPLATES = 20
SPREAD_MINUTES = 30 * 24 * 60
BEFORE = 6 * 24 * 60  # the earliest due time: six days before now


def columns(conn: Any, table: str) -> list[str]:
    return list(conn.execute(text("SELECT column_name FROM information_schema.columns WHERE table_schema = "
                                  "current_schema() AND table_name = :t ORDER BY ordinal_position"), {"t": table})
                .scalars())


def select_list(cols: list[str], overrides: dict[str, str], alias: str) -> str:
    return ", ".join(overrides.get(c, f'{alias}."{c}"') for c in cols)


def build(p: Any, tasks: int) -> None:
    """Template cases at 签收 through the services, then clones in SQL up to `tasks` open tasks."""
    who = actors(p)
    ids = [register_case(p, who["agent01"], appeal(n))["id"] for n in range(TEMPLATES)]
    for spec, data in (("accept", {"accept_decision": "accept", "kind": "complaint"}),
                       ("dispatch", {"dispatch_mode": "transfer", "lead_unit_id": who["cgj"],
                                     "directly_designated": False})):
        with p.db.reading() as session:
            ready = list(session.scalars(select(HumanTask.id).where(HumanTask.spec_name == spec,
                                                                    HumanTask.state == "ready")))
        for task_id in ready:
            complete_task(p, who["dispatch01"], task_id, data)
    now = p.clock.now()
    per = tasks // TEMPLATES
    t = time.perf_counter()
    with p.db.engine.begin() as conn:
        conn.execute(text("SET LOCAL synchronous_commit = off"))
        base = int(conn.execute(text('SELECT max(id) FROM "case"')).scalar_one())
        # clone k of template case c (rank r, 1-based) gets id base + (k-1)*T + r
        clones = (f"(SELECT c.id AS tid, row_number() OVER (ORDER BY c.id) AS r FROM \"case\" c "
                  f"WHERE c.id IN ({', '.join(map(str, ids))})) AS t CROSS JOIN generate_series(1, {per}) AS g(k)")
        new_id = f"({base} + (g.k - 1) * {TEMPLATES} + t.r)"
        # every engine task id of a clone (the tree holds the predicted tasks too) gets the clone's id as prefix
        prefix = f"lpad(to_hex({new_id}), 8, '0')"
        task_id = f"{prefix} || substr(h.id, 9)"
        due = (f"(TIMESTAMP '{now:%Y-%m-%d %H:%M:%S}' - INTERVAL '{BEFORE} minutes' "
               f"+ ((({new_id}) * 7919) % {SPREAD_MINUTES}) * INTERVAL '1 minute')")
        case_cols = columns(conn, "case")
        conn.execute(text(f'INSERT INTO "case" ({", ".join(chr(34) + c + chr(34) for c in case_cols)}) SELECT '
                          + select_list(case_cols, {"id": new_id, "number": "s.number || '-' || g.k",
                                                    "query_code": f"left(md5('q' || {new_id}), length(s.query_code))",
                                                    "due_at": due}, "s")
                          + f' FROM {clones} JOIN "case" s ON s.id = t.tid'))
        task_cols = columns(conn, "human_task")
        conn.execute(text(f"INSERT INTO human_task ({', '.join(task_cols)}) SELECT "
                          + select_list(task_cols, {"id": task_id, "case_id": new_id, "due_at": due,
                                                    "warn_at": f"{due} - INTERVAL '1 day'"}, "h")
                          + f" FROM {clones} JOIN human_task h ON h.case_id = t.tid AND h.state = 'ready'"))
        state_cols = columns(conn, "workflow_state")
        uuid = "'\"[0-9a-f]{8}-([0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\"'"
        renamed = f"regexp_replace(w.state_json, {uuid}, '\"' || {prefix} || '-\\1\"', 'g')"
        conn.execute(text(f"INSERT INTO workflow_state ({', '.join(state_cols)}) SELECT "
                          + select_list(state_cols, {"case_id": new_id, "state_json": renamed}, "w")
                          + f" FROM {clones} JOIN workflow_state w ON w.case_id = t.tid "
                            f"JOIN human_task h ON h.case_id = t.tid AND h.state = 'ready'"))
        conn.execute(text("SELECT setval(pg_get_serial_sequence('\"case\"', 'id'), (SELECT max(id) FROM \"case\"))"))
    with p.db.engine.begin() as conn:
        conn.execute(text("ANALYZE human_task; ANALYZE task_warning; ANALYZE task_escalation; ANALYZE \"case\""))
    print(f"built {per * TEMPLATES} open tasks by SQL in {time.perf_counter() - t:.1f} s", flush=True)


def mark_done_before(p: Any, at: Any) -> None:
    """What a running scheduler had done by `at`: every warning and rung reached by then (steady state)."""
    t = time.perf_counter()
    with p.db.engine.begin() as conn:
        for colour, reached in (("yellow", "warn_at <= :at"), ("red", "due_at < :at")):
            conn.execute(text(f"INSERT INTO task_warning (task_id, colour, case_id, raised_at, raised_by) SELECT id, "
                              f"'{colour}', case_id, :at, 'bench' FROM human_task WHERE state = 'ready' AND {reached}"),
                         {"at": at})
    with p.db.reading() as session:
        ladder, calendar = list(get_setting(session, "escalation.ladder")), load_calendar(session)
        rows = session.execute(select(HumanTask.id, HumanTask.case_id, HumanTask.unit_id, HumanTask.due_at).where(
            HumanTask.state == "ready", HumanTask.role == "handler")).all()
    fired = [{"task_id": task_id, "rung": rung["rung"], "case_id": case_id, "unit_id": unit_id,
              "action": rung["action"], "raised_at": at, "raised_by": "bench", "outcome": {}}
             for task_id, case_id, unit_id, due_at in rows for rung in ladder
             if escalation.rung_time(due_at, int(rung["offset"]), calendar) <= at]
    with p.db.engine.begin() as conn:
        conn.execute(TaskEscalation.__table__.insert(), fired)
        conn.execute(text("ANALYZE task_warning; ANALYZE task_escalation"))
    print(f"marked the steady state at {at}: {len(fired)} rungs fired before, in {time.perf_counter() - t:.1f} s",
          flush=True)


def reused(tmp: Path) -> Any:
    """The platform on the schema an earlier run built, without recreating it."""
    import os
    from urllib.parse import quote

    from engine import KEYS, NOW

    from app.crypto import load_keys
    from app.db import Database
    from app.services.platform import Platform
    from app.settings import Settings

    base = (os.environ.get("BENCH_DATABASE_URL") or os.environ["TEST_DATABASE_URL"]).replace(
        "postgresql://", "postgresql+psycopg://", 1)
    url = f"{base}{'&' if '?' in base else '?'}options={quote('-csearch_path=huiyin_sweeps')}"
    settings = Settings(DATABASE_URL=url, INSTANCE_PATH=str(tmp), **KEYS)
    return Platform(db=Database(url), settings=settings, keys=load_keys(KEYS, str(tmp)), clock=FrozenClock(NOW))


def undo_passes(p: Any) -> None:
    """Back to the marked steady state: what an earlier run's passes raised, fired and queued is removed."""
    with p.db.engine.begin() as conn:
        conn.execute(text("DELETE FROM task_warning WHERE raised_by <> 'bench'"))
        conn.execute(text("DELETE FROM task_escalation WHERE raised_by <> 'bench'"))
        conn.execute(text("DELETE FROM sms_message WHERE template LIKE 'warning_%' OR template IN ('reminder', "
                          "'urge_notice')"))


def one_pass(p: Any, label: str) -> float:
    """sweep_due_timers + raise_warnings + climb, as jobs.run_once runs them; prints and answers the seconds."""
    counter = Statements(p.db.engine)
    parts = []
    total_cpu, t0 = time.process_time(), time.perf_counter()
    for name, job in (("timers", lambda: sweeps.sweep_due_timers(p, "bench")),
                      ("warnings", lambda: sweeps.raise_warnings(p, "bench")),
                      ("ladder", lambda: escalation.climb(p, "bench"))):
        t = time.perf_counter()
        outcome, statements = counter.during(job)
        parts.append(f"{name} {time.perf_counter() - t:.2f} s ({statements} statements, {outcome})")
    wall = time.perf_counter() - t0
    print(f"sweep pass {label}: {wall:.2f} s wall, client CPU {time.process_time() - total_cpu:.2f} s, "
          f"load {loadavg()}\n  " + "\n  ".join(parts), flush=True)
    return wall


def drain(p: Any, limit: int = 500) -> tuple[int, float, int]:
    """Passes one scheduler runs until the ladder has nothing left to fire (each bounded by sweeps.PASS_BUDGET):
    answers the passes, the longest pass's seconds and the rungs fired."""
    passes, longest, fired = 0, 0.0, 0
    while passes < limit:
        t = time.perf_counter()
        sweeps.sweep_due_timers(p, "bench")
        sweeps.raise_warnings(p, "bench")
        now_fired = sum(escalation.climb(p, "bench").fired.values())
        passes, longest, fired = passes + 1, max(longest, time.perf_counter() - t), fired + now_fired
        if not now_fired:
            break
    print(f"drained the day's rungs in {passes} passes (the longest {longest:.2f} s): {fired} fired", flush=True)
    return passes, longest, fired


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--reuse", action="store_true",
                        help="keep the schema a previous run built and marked (compare two versions of the code)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        p = reused(Path(tmp)) if args.reuse else platform_for(postgres_url("huiyin_sweeps"), Path(tmp))
        try:
            now = p.clock.now()
            if not args.reuse:
                build(p, args.tasks)
                mark_done_before(p, now - timedelta(minutes=1))
            else:
                undo_passes(p)
            with p.db.reading() as session:
                open_tasks = session.execute(text("SELECT count(*) FROM human_task WHERE state = 'ready'")).scalar()
            print(f"open tasks {open_tasks}", flush=True)
            one_pass(p, "a minute after the last (steady state)")
            one_pass(p, "again at once (nothing new)")
            p.clock = FrozenClock(now + timedelta(hours=1))  # the scheduler was down for an hour
            one_pass(p, "an hour later (an hour's crossings)")
            midnight = datetime.combine(now.date() + timedelta(days=1), clock_time(0, 1))
            for minute in range(3):  # rungs are reached at the start of a working day: the day's batch drains
                p.clock = FrozenClock(midnight + timedelta(minutes=minute))
                one_pass(p, f"at {p.clock.now():%m-%d %H:%M} (the ladder's day begins)")
        finally:
            p.db.dispose()


if __name__ == "__main__":
    main()
