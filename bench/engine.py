"""Case starts and task completions per second, end to end through the services, on SQLite and PostgreSQL.

A start is `app.services.intake.register_case`: requester, numbers, the process run to its first task,
the projection and the audit row, one transaction. A completion is `app.services.tasks.complete_task`
(受理 then 派单 on each case). Prints rate, p50/p95 latency of each and the size of the engine state
(`workflow_state.state_json`) per case.

Run: ``.venv/bin/python bench/engine.py [--cases N] [--only sqlite|postgresql] [--profile start|complete]``.
PostgreSQL comes from BENCH_DATABASE_URL or TEST_DATABASE_URL (a schema `huiyin_bench` is recreated).
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import os
import pstats
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

from sqlalchemy import create_engine, func, select, text  # noqa: E402

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
        users = session.scalars(select(User).where(User.staff_no.in_(["agent01", "dispatch01"]))).all()
        found = {u.staff_no: actor_for(u) for u in users}
        found["cgj"] = session.scalars(select(Unit.id).where(Unit.code == "cgj")).one()
        return found


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
        return lambda: register_case(p, agent, CaseInput(
            kind="complaint", channel="phone", category="城乡建设/供水", subject=f"小区停水 {n}",
            content="幸福里小区停水三天。", requester=RequesterInput(name="张三", phone=f"139{n:08d}")))

    def complete(task_id: str, data: dict[str, Any]) -> Any:
        return lambda: complete_task(p, dispatcher, task_id, data)

    for n in range(10):  # warm-up: spec caches, connection pool
        start(10_000_000 + n)()
    profiler = cProfile.Profile() if profile else None
    if profiler and profile == "start":
        profiler.enable()
    start_wall, start_ms = timed([start(n) for n in range(cases)])
    if profiler and profile == "start":
        profiler.disable()
    after_start = state_bytes(p)
    accept = {"accept_decision": "accept", "kind": "complaint"}
    dispatch = {"dispatch_mode": "transfer", "lead_unit_id": who["cgj"], "directly_designated": False}
    calls = [complete(t, accept) for t in ready(p, "accept")]
    if profiler and profile == "complete":
        profiler.enable()
    accept_wall, accept_ms = timed(calls)
    dispatch_wall, dispatch_ms = timed([complete(t, dispatch) for t in ready(p, "dispatch")])
    if profiler and profile == "complete":
        profiler.disable()
    done_ms, done_wall = accept_ms + dispatch_ms, accept_wall + dispatch_wall
    print(f"{name:10s} starts      {cases / start_wall:7.1f}/s  p50 {pct(start_ms, 50):6.1f} ms  "
          f"p95 {pct(start_ms, 95):6.1f} ms")
    print(f"{name:10s} completions {len(done_ms) / done_wall:7.1f}/s  p50 {pct(done_ms, 50):6.1f} ms  "
          f"p95 {pct(done_ms, 95):6.1f} ms  (受理 p50 {pct(accept_ms, 50):.1f}, 派单 p50 {pct(dispatch_ms, 50):.1f})")
    print(f"{name:10s} state_json  {after_start:7.0f} B/case at 受理, {state_bytes(p):.0f} B/case at 签收")
    if profiler:
        stats = pstats.Stats(profiler).sort_stats("cumulative")
        stats.print_stats(r"/app/|SpiffWorkflow/bpmn/serializer|json/|orm/loading|default.py.*execute", 40)
    return {"starts_per_s": cases / start_wall, "completions_per_s": len(done_ms) / done_wall,
            "start_p95_ms": pct(start_ms, 95), "completion_p95_ms": pct(done_ms, 95),
            "state_bytes_accept": after_start, "state_bytes_sign_for": state_bytes(p)}


def _worker_starts(url: str, tmp: str, first: int, count: int) -> None:
    """One process of the parallel run: its own engine and connection pool, as a web worker has."""
    settings = Settings(DATABASE_URL=url, INSTANCE_PATH=tmp, ARGON2_TIME_COST=1, ARGON2_MEMORY_KIB=1024, **KEYS)
    p = Platform(db=Database(url), settings=settings, keys=load_keys(KEYS, tmp), clock=FrozenClock(NOW))
    agent = actors(p)["agent01"]
    for n in range(first, first + count):
        register_case(p, agent, CaseInput(
            kind="complaint", channel="phone", category="城乡建设/供水", subject=f"小区停水 {n}",
            content="幸福里小区停水三天。", requester=RequesterInput(name="张三", phone=f"138{n:08d}")))
    p.db.dispose()


def parallel(name: str, url: str, tmp: Path, workers: int, cases: int) -> float:
    """Starts per second with several processes at once, as gunicorn workers would run them."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    per = cases // workers
    procs = [ctx.Process(target=_worker_starts, args=(url, str(tmp), 20_000_000 + i * per, per))
             for i in range(workers)]
    t = time.perf_counter()
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join()
    wall = time.perf_counter() - t
    print(f"{name:10s} starts      {per * workers / wall:7.1f}/s  with {workers} processes in parallel")
    return per * workers / wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--profile", choices=["start", "complete"])
    parser.add_argument("--workers", type=int, default=4, help="processes for the parallel run (0: skip it)")
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


if __name__ == "__main__":
    main()
