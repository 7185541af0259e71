"""Case starts and task completions per second, end to end through the services, on SQLite and PostgreSQL.

A start is `app.services.intake.register_case`: requester, numbers, the process run to its first task,
the projection and the audit row, one transaction. A completion is `app.services.tasks.complete_task`
(受理 then 派单 on each case). Prints rate, p50/p95 latency of each and the size of the engine state
(`workflow_state.state_json`) per case, statements per start and per completion, and the client's CPU time
beside the wall time (the box is shared: the load average is printed with the figures).

The registrations are realistic and varied (bench/city.py's generator: category, matter, place, duration and
wording drawn at random, a new requester each): 判重 judges each against the few earlier cases that share its
keys, as at a real hotline, not against every case of the run (every case with one text was a worst case).
`--http` serves the same schema with gunicorn (4 workers on loopback) and posts registrations
(`POST /api/v1/cases`, a bearer token of agent01) from client threads (bench/http_starts.py).

Run: ``.venv/bin/python bench/engine.py [--cases N] [--only sqlite|postgresql] [--profile start|complete]
[--workers 4] [--http]``.
PostgreSQL comes from BENCH_DATABASE_URL or TEST_DATABASE_URL (a schema `huiyin_bench` is recreated).
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import os
import pstats
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a plain script from anywhere

from sqlalchemy import create_engine, event, func, select, text  # noqa: E402

from app.clock import FrozenClock  # noqa: E402
from app.crypto import load_keys  # noqa: E402
from app.db import Database  # noqa: E402
from app.migrate import upgrade  # noqa: E402
from app.models import HumanTask, Unit, User, WorkflowState  # noqa: E402
from app.services.auth import actor_for  # noqa: E402
from app.services.cases import RequesterInput  # noqa: E402
from app.services.intake import CaseInput, register_case  # noqa: E402
from app.services.platform import Platform  # noqa: E402
from app.services.seed import seed_demo  # noqa: E402
from app.services.tasks import complete_task  # noqa: E402
from app.settings import Settings  # noqa: E402

KEYS = {name: base64.urlsafe_b64encode(bytes([i + 7]) * 32).decode()
        for i, name in enumerate(("SECRET_KEY", "DATA_KEY", "SEARCH_KEY", "AUDIT_KEY"))}
NOW = datetime(2026, 11, 25, 9, 0, 0)


def sqlite_url(tmp: Path, name: str = "bench") -> str:
    """A migrated SQLite file in `tmp`."""
    url = f"sqlite:///{tmp / (name + '.db')}"
    upgrade(url)
    return url


def postgres_url(schema: str = "huiyin_bench") -> str:
    """A freshly recreated, migrated schema in the PostgreSQL database the environment names."""
    base = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    if not base:
        raise SystemExit("set BENCH_DATABASE_URL or TEST_DATABASE_URL for PostgreSQL (or --only sqlite)")
    base = base.replace("postgresql://", "postgresql+psycopg://", 1) if base.startswith("postgresql://") else base
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    url = f"{base}{'&' if '?' in base else '?'}options={quote(f'-csearch_path={schema}')}"
    upgrade(url)
    return url


def platform_for(url: str, tmp: Path) -> Platform:
    settings = Settings(DATABASE_URL=url, INSTANCE_PATH=str(tmp), ARGON2_TIME_COST=1, ARGON2_MEMORY_KIB=1024,
                        **KEYS)
    p = Platform(db=Database(url), settings=settings, keys=load_keys(KEYS, str(tmp)), clock=FrozenClock(NOW))
    seed_demo(p)
    return p


def actors(p: Platform) -> dict[str, Any]:
    with p.db.reading() as session:
        users = session.scalars(select(User).where(User.staff_no.in_(["agent01", "dispatch01", "cg01"]))).all()
        found = {u.staff_no: actor_for(u) for u in users}
        found["cgj"] = session.scalars(select(Unit.id).where(Unit.code == "cgj")).one()
        return found


def appeal(n: int) -> CaseInput:
    """Registration `n` of the run: a realistic, varied appeal (bench/city.py's categories, matters, places)."""
    from city import CATEGORY_PLAN, MATTERS, PLACES

    rng = random.Random(n)
    category = rng.choice(sorted(CATEGORY_PLAN))
    matter, place = rng.choice(MATTERS[category.split("/")[1]]), rng.choice(PLACES)
    content = f"{place}{matter}，已持续{rng.randint(2, 30)}天，" + rng.choice(
        ["多次反映未解决，请尽快处理。", "影响居民正常生活，希望有关部门核实。", "请相关部门尽快协调解决。"])
    return CaseInput(kind="complaint", channel="phone", category=category, subject=f"{place}{matter}",
                     content=content, requester=RequesterInput(name="张三", phone=f"1{3 + n % 6}{n:09d}"))


class Statements:
    """Counts the statements sent on an engine (a round trip each), while `on`."""

    def __init__(self, engine: Any) -> None:
        self.count, self.on = 0, False
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, *_: Any) -> None:
        if self.on:
            self.count += 1

    def during(self, fn: Any) -> tuple[Any, int]:
        self.count, self.on = 0, True
        try:
            return fn(), self.count
        finally:
            self.on = False


class CpuMeter:
    """CPU time of one request: this process's (Python: Flask, SQLAlchemy, Jinja) plus the PostgreSQL backends'
    it used (their /proc/<pid>/schedstat, in ns, on this same host). On a loaded box the wall time is mostly
    waiting for a core; the CPU time is what a quiet box would take."""

    def __init__(self, engine: Any) -> None:
        self.pids: set[int] = set()

        @event.listens_for(engine, "connect")
        def connected(dbapi_conn: Any, _: Any) -> None:
            self.pids.add(dbapi_conn.info.backend_pid)

        with engine.connect() as conn:  # the pool's connections made before this meter: known from here on
            self.pids.add(conn.connection.dbapi_connection.info.backend_pid)

    def backend_ns(self) -> int:
        total = 0
        for pid in list(self.pids):
            try:
                total += int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])
            except (OSError, ValueError, IndexError):
                self.pids.discard(pid)  # a closed connection's backend
        return total

    def now(self) -> tuple[int, int]:
        return time.process_time_ns(), self.backend_ns()


def loadavg() -> str:
    try:
        return Path("/proc/loadavg").read_text().split(" ", 1)[0]
    except OSError:
        return "?"


def state_at_close(p: Platform) -> int:
    """Bytes of the engine state of one case run to its close (archived: 受理, 转送, 签收, 办理, 答复, 回访)."""
    who = actors(p)
    case_id = register_case(p, who["agent01"], appeal(8_000_000))["id"]
    steps = [("dispatch01", "accept", {"accept_decision": "accept", "kind": "complaint"}),
             ("dispatch01", "dispatch", {"dispatch_mode": "transfer", "lead_unit_id": who["cgj"],
                                         "directly_designated": False}),
             ("cg01", "sign_for", {"sign_note": "已签收"}),
             ("cg01", "handle", {"handle_action": "reply", "handling_notes": "已现场处理"}),
             ("cg01", "reply", {"reply_outcome": "support", "reply_opinion": "问题已解决。"}),
             ("agent01", "follow_up", {"satisfaction": "satisfied", "resolved": True, "follow_up_method": "phone"})]
    for user, spec, data in steps:
        with p.db.reading() as session:
            task_id = session.scalars(select(HumanTask.id).where(HumanTask.case_id == case_id,
                                                                 HumanTask.spec_name == spec,
                                                                 HumanTask.state == "ready")).one()
        complete_task(p, who[user], task_id, data)
    with p.db.reading() as session:
        return len(session.scalars(select(WorkflowState.state_json).where(WorkflowState.case_id == case_id)).one())


def timed(calls: list[Any]) -> tuple[float, list[float]]:
    """Run each zero-argument call; answers the wall time and each call's latency (ms)."""
    latencies = []
    start = time.perf_counter()
    for call in calls:
        t = time.perf_counter()
        call()
        latencies.append((time.perf_counter() - t) * 1000)
    return time.perf_counter() - start, latencies


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1]


def ready(p: Platform, spec: str) -> list[str]:
    with p.db.reading() as session:
        return list(session.scalars(select(HumanTask.id).where(HumanTask.spec_name == spec, HumanTask.state == "ready")
                                    .order_by(HumanTask.case_id)))


def state_bytes(p: Platform) -> float:
    with p.db.reading() as session:
        return float(session.scalar(select(func.avg(func.length(WorkflowState.state_json)))) or 0)


def run(name: str, p: Platform, cases: int, profile: str | None) -> dict[str, float]:
    """Starts then completions (受理, 派单) on `p`; prints them and answers the figures (bench/scale.py)."""
    who = actors(p)
    agent, dispatcher = who["agent01"], who["dispatch01"]

    def start(n: int) -> Any:
        return lambda: register_case(p, agent, appeal(n))

    def complete(task_id: str, data: dict[str, Any]) -> Any:
        return lambda: complete_task(p, dispatcher, task_id, data)

    for n in range(10):  # warm-up: spec caches, connection pool
        start(10_000_000 + n)()
    counter = Statements(p.db.engine)
    start_statements = counter.during(start(9_000_000))[1]
    profiler = cProfile.Profile() if profile else None
    if profiler and profile == "start":
        profiler.enable()
    server = CpuMeter(p.db.engine) if p.db.engine.dialect.name == "postgresql" else None
    cpu, pg_cpu = time.process_time(), server.backend_ns() if server else 0
    start_wall, start_ms = timed([start(n) for n in range(cases)])
    start_cpu = time.process_time() - cpu
    start_pg = (server.backend_ns() - pg_cpu) / 1e9 if server else 0.0
    if profiler and profile == "start":
        profiler.disable()
    after_start = state_bytes(p)
    accept = {"accept_decision": "accept", "kind": "complaint"}
    dispatch = {"dispatch_mode": "transfer", "lead_unit_id": who["cgj"], "directly_designated": False}
    accept_ids = ready(p, "accept")
    complete_statements = counter.during(complete(accept_ids.pop(), accept))[1]
    calls = [complete(t, accept) for t in accept_ids]
    if profiler and profile == "complete":
        profiler.enable()
    cpu, pg_cpu = time.process_time(), server.backend_ns() if server else 0
    accept_wall, accept_ms = timed(calls)
    dispatch_wall, dispatch_ms = timed([complete(t, dispatch) for t in ready(p, "dispatch")])
    done_cpu = time.process_time() - cpu
    done_pg = (server.backend_ns() - pg_cpu) / 1e9 if server else 0.0
    if profiler and profile == "complete":
        profiler.disable()
    done_ms, done_wall = accept_ms + dispatch_ms, accept_wall + dispatch_wall
    print(f"{name:10s} starts      {cases / start_wall:7.1f}/s  p50 {pct(start_ms, 50):6.1f} ms  "
          f"p95 {pct(start_ms, 95):6.1f} ms  client CPU {start_cpu / cases * 1000:.1f} ms/start  "
          f"server CPU {start_pg / cases * 1000:.1f} ms/start  "
          f"{start_statements} statements/start  load {loadavg()}")
    print(f"{name:10s} completions {len(done_ms) / done_wall:7.1f}/s  p50 {pct(done_ms, 50):6.1f} ms  "
          f"p95 {pct(done_ms, 95):6.1f} ms  (受理 p50 {pct(accept_ms, 50):.1f}, 派单 p50 {pct(dispatch_ms, 50):.1f})  "
          f"client CPU {done_cpu / len(done_ms) * 1000:.1f} ms/completion  "
          f"server CPU {done_pg / len(done_ms) * 1000:.1f} ms/completion  {complete_statements} statements/受理  "
          f"load {loadavg()}")
    at_sign_for = state_bytes(p)
    at_close = state_at_close(p)
    print(f"{name:10s} state_json  {after_start:7.0f} B/case at 受理, {at_sign_for:.0f} B/case at 签收, "
          f"{at_close} B at the close (archived)")
    if profiler:
        stats = pstats.Stats(profiler).sort_stats("cumulative")
        stats.print_stats(r"/app/|SpiffWorkflow/bpmn/serializer|json/|orm/loading|default.py.*execute", 40)
    return {"starts_per_s": cases / start_wall, "completions_per_s": len(done_ms) / done_wall,
            "start_statements": start_statements, "completion_statements": complete_statements,
            "start_client_cpu_ms": start_cpu / cases * 1000, "start_server_cpu_ms": start_pg / cases * 1000,
            "completion_client_cpu_ms": done_cpu / len(done_ms) * 1000,
            "completion_server_cpu_ms": done_pg / len(done_ms) * 1000,
            "start_p95_ms": pct(start_ms, 95), "completion_p95_ms": pct(done_ms, 95),
            "state_bytes_accept": after_start, "state_bytes_sign_for": at_sign_for, "state_bytes_close": at_close}


def _worker(url: str, tmp: str, first: int, count: int, barrier: Any, out: Any) -> None:
    """One process of the parallel run: its own engine and connection pool, as a web worker has. Registers
    `count` cases from number `first`, waits for the others, then completes its cases' 受理; puts
    (starts, seconds, completions, seconds)."""
    settings = Settings(DATABASE_URL=url, INSTANCE_PATH=tmp, ARGON2_TIME_COST=1, ARGON2_MEMORY_KIB=1024, **KEYS)
    p = Platform(db=Database(url), settings=settings, keys=load_keys(KEYS, tmp), clock=FrozenClock(NOW))
    who = actors(p)
    t = time.perf_counter()
    ids = [register_case(p, who["agent01"], appeal(n))["id"] for n in range(first, first + count)]
    started = time.perf_counter() - t
    with p.db.reading() as session:
        tasks = list(session.scalars(select(HumanTask.id).where(HumanTask.case_id.in_(ids), HumanTask.state == "ready",
                                                                HumanTask.spec_name == "accept")))
    barrier.wait()
    t = time.perf_counter()
    for task_id in tasks:
        complete_task(p, who["dispatch01"], task_id, {"accept_decision": "accept", "kind": "complaint"})
    out.put((count, started, len(tasks), time.perf_counter() - t))
    p.db.dispose()


def parallel(name: str, url: str, tmp: Path, workers: int, cases: int) -> tuple[float, float]:
    """Starts/s and completions/s with several processes at once, as gunicorn workers would run them: every
    process registers its share, then (all together again) completes their 受理; each figure is the work done
    over the slowest process's time for the phase."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    out, barrier = ctx.Queue(), ctx.Barrier(workers)
    per = cases // workers
    procs = [ctx.Process(target=_worker, args=(url, str(tmp), 20_000_000 + i * per, per, barrier, out))
             for i in range(workers)]
    t = time.perf_counter()
    for proc in procs:
        proc.start()
    results = [out.get() for _ in procs]
    for proc in procs:
        proc.join()
    wall = time.perf_counter() - t
    starts = sum(r[0] for r in results) / max(r[1] for r in results)
    done = sum(r[2] for r in results) / max(max(r[3] for r in results), 1e-9)
    print(f"{name:10s} starts      {starts:7.1f}/s  completions {done:7.1f}/s (受理)  with {workers} processes "
          f"in parallel ({wall:.1f} s wall)  load {loadavg()}")
    return starts, done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--profile", choices=["start", "complete"])
    parser.add_argument("--workers", type=int, default=4, help="processes for the parallel run (0: skip it)")
    parser.add_argument("--http", action="store_true", help="starts through HTTP: gunicorn, 4 workers (PostgreSQL)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("sqlite", "postgresql"):
            if args.only and args.only != name:
                continue
            url = sqlite_url(Path(tmp)) if name == "sqlite" else postgres_url()
            p = platform_for(url, Path(tmp))
            try:
                run(name, p, args.cases, args.profile)
            finally:
                p.db.dispose()
            if args.workers:
                parallel(name, url, Path(tmp), args.workers, args.cases)
            if args.http and name == "postgresql":
                from http_starts import http_starts

                http_starts(url, Path(tmp), KEYS, args.cases)


if __name__ == "__main__":
    main()
