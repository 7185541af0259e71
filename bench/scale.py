"""The scale targets of issue 15 as `name value unit` lines, `pgbench_tps` first (the box's own measure).

* `pgbench_tps`: `pgbench -i` on a scratch database (`huiyin_pgbench`, recreated) and `pgbench -N -T 10`.
* Worklist and case page p95 on the realistic city (`bench/city.py`, the database BENCH_DATABASE_URL or
  `--city` names): signed in through /login as handlers of the busiest units (zj01 at 市住建局, cg01 at
  市城管局) and the centre's dispatcher (dispatch01), GET /worklist, each light filter, each task filter the
  page offers, and
  /cases/<id> of cases the user may see (open ones at their unit and any in scope), timed in process
  (Flask test client; no network), the clock frozen at the city's newest case. Beside each wall p95/p50 the
  CPU time of a request (`cpu_p95`, `cpu_p50`: this process plus the PostgreSQL backends it used, read from
  /proc/<pid>/schedstat on this host; `pg_cpu_p50`: the backends alone) — on a loaded box the wall time is
  mostly the wait for a core. Signing in writes a session row: point it at a copy of the city
  (`CREATE DATABASE … TEMPLATE huiyin_city`), not at a database others measure.
* Engine starts/s and completions/s end to end through the services (bench/engine.py `run`, a fresh
  schema) with, in the same run, the bare engine's figure for the same definition: app.engine's
  SpiffWorkflow calls only (spec parsed once; start → run to the first task → serialize → INSERT one row;
  load → complete 受理 → serialize → UPDATE one row) on one psycopg connection, no services, no ORM.
  SQLite figures beside (`--sqlite`, the embedded default).
* Engine state bytes per case at 受理 and at 签收 (the state of a closed case is not measured here).

* The same starts and completions from 4 processes at once, and starts through HTTP (gunicorn, 4 workers,
  bench/http_starts.py), the bare engine's figure of the same run beside them.
* One scheduler pass (timers, warnings, the ladder) over 100,000 open tasks (bench/sweeps.py): the steady state
  and the first pass of a working day; then the passes one scheduler takes to fire the rest of that day's rungs
  (each pass spends at most `sweeps.PASS_BUDGET` on engine runs), the longest of them, and the rungs fired.

Run: ``BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1/huiyin_city nice .venv/bin/python bench/scale.py
[--requests 100] [--cases 300] [--skip pgbench,pages,engine] [--sqlite]``. The engine part recreates the
schema `huiyin_bench` in the database TEST_DATABASE_URL names (default: the test database).
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a plain script from anywhere

import psycopg  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from app import create_app  # noqa: E402
from app.clock import FrozenClock  # noqa: E402
from app.engine import runtime  # noqa: E402
from app.models import Case, HumanTask, Unit, User  # noqa: E402
from app.services import process  # noqa: E402
from app.services.auth import actor_for  # noqa: E402
from app.services.scope import visible_cases  # noqa: E402
from app.services.tasks import LIGHTS, load_worklist  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from engine import KEYS, CpuMeter, actors, parallel, pct, platform_for, postgres_url, sqlite_url  # noqa: E402
from engine import run as engine_run  # noqa: E402
from http_starts import http_starts  # noqa: E402
from pages import Recorder, config_for, signed_in  # noqa: E402

DEFAULT_CITY = "postgresql://postgres@127.0.0.1:5432/huiyin_city"
DEFAULT_TEST = "postgresql://postgres@127.0.0.1:5432/test"


def line(name: str, value: float, unit: str) -> None:
    print(f"{name} {value:.1f} {unit}", flush=True)


# ---- pgbench -----------------------------------------------------------------------------------

def pgbench(seconds: int) -> float:
    """tps of `pgbench -N` (simple-update, no branch contention) on a scratch database, 2 clients."""
    base = os.environ.get("TEST_DATABASE_URL", DEFAULT_TEST)
    parts = urlsplit(base)
    conn = ["-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 5432), "-U", parts.username or "postgres"]
    subprocess.run(["dropdb", *conn, "--if-exists", "huiyin_pgbench"], check=True)
    subprocess.run(["createdb", *conn, "huiyin_pgbench"], check=True)
    try:
        subprocess.run(["pgbench", *conn, "-i", "-q", "-s", "10", "huiyin_pgbench"], check=True,
                       capture_output=True)
        out = subprocess.run(["pgbench", *conn, "-N", "-c", "2", "-j", "2", "-T", str(seconds), "huiyin_pgbench"],
                             check=True, capture_output=True, text=True).stdout
    finally:
        subprocess.run(["dropdb", *conn, "--if-exists", "huiyin_pgbench"], check=False)
    tps = [ln for ln in out.splitlines() if ln.startswith("tps")]
    return float(tps[0].split()[2])


# ---- worklist and case page on the city --------------------------------------------------------

def city_now(url: str) -> Any:
    from sqlalchemy import create_engine

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as conn:
        now = conn.scalar(select(func.max(Case.created_at)))
    engine.dispose()
    return now


def pages_at_city(url: str, requests: int, users: list[str]) -> dict[str, tuple[float, float]]:
    """p95 wall and CPU (ms) of each worklist variant and the case page per user; prints lines for each."""
    url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    found: dict[str, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        clock = FrozenClock(city_now(url))
        app = create_app(config_for(url, Path(tmp)), clock=clock)
        platform = app.extensions["huiyin"]
        rec = Recorder()
        rec.attach(platform.db.engine)
        cpu = CpuMeter(platform.db.engine)
        rng = random.Random(15)
        try:
            for staff_no in users:
                with platform.db.reading() as session:
                    user = session.scalars(select(User).where(User.staff_no == staff_no)).one()
                    actor = actor_for(user)
                    listed = load_worklist(session, clock.now(), actor, per_page=1)
                    unit = session.scalar(select(Unit.name).where(Unit.id == user.unit_id))
                    open_ids = list(session.scalars(select(HumanTask.case_id).where(
                        HumanTask.state == "ready", HumanTask.unit_id == user.unit_id).limit(2000)))
                    any_ids = list(session.scalars(select(Case.id).where(visible_cases(actor))
                                                   .order_by(func.random()).limit(2000)))
                print(f"# {staff_no} ({unit}): {listed.total} ready tasks, lights {listed.counts}; load average "
                      f"{os.getloadavg()[0]:.2f}", flush=True)
                line(f"ready_tasks.{staff_no}", listed.total, "tasks")
                paths = {"worklist": "/worklist"}
                paths |= {f"worklist.light={lt}": f"/worklist?light={lt}" for lt in LIGHTS}
                paths |= {f"worklist.task={spec}": f"/worklist?task={spec}" for spec in listed.choices}
                paths["worklist.page=5"] = "/worklist?page=5"
                client = signed_in(app, staff_no)
                for name, path in paths.items():
                    found[f"{name}.{staff_no}"] = timed_gets(client, rec, cpu, [path] * requests, name, staff_no)
                ids = [rng.choice(open_ids) if open_ids and i % 2 else rng.choice(any_ids) for i in range(requests)]
                found[f"case.{staff_no}"] = timed_gets(client, rec, cpu, [f"/cases/{i}" for i in ids], "case", staff_no)
        finally:
            platform.db.dispose()
    return found


def timed_gets(client: Any, rec: Recorder, cpu: CpuMeter, paths: list[str], name: str, staff_no: str
               ) -> tuple[float, float]:
    """p95 wall and p95 CPU (ms) of GETting `paths`; prints `name value unit` lines for both, p50 and SQL."""
    for warm in paths[:3]:
        client.get(warm)
    latencies, cpus, backends, counts = [], [], [], []
    for path in paths:
        before = rec.count
        rec.on = True
        py0, pg0 = cpu.now()
        t = time.perf_counter()
        answer = client.get(path)
        latencies.append((time.perf_counter() - t) * 1000)
        py1, pg1 = cpu.now()
        rec.on = False
        cpus.append((py1 - py0 + pg1 - pg0) / 1e6)
        backends.append((pg1 - pg0) / 1e6)
        counts.append(rec.count - before)
        if answer.status_code != 200:
            raise SystemExit(f"GET {path} as {staff_no}: {answer.status_code}")
    key = f"{name}.{staff_no}"
    p95, cpu95 = pct(latencies, 95), pct(cpus, 95)
    line(f"{key}.p95", p95, "ms")
    line(f"{key}.p50", pct(latencies, 50), "ms")
    line(f"{key}.cpu_p95", cpu95, "ms")
    line(f"{key}.cpu_p50", pct(cpus, 50), "ms")
    line(f"{key}.pg_cpu_p50", pct(backends, 50), "ms")
    line(f"{key}.statements", max(counts), "SQL")
    return p95, cpu95


# ---- engine: through the services, and bare -----------------------------------------------------

def bare_engine(url: str, spec_json: str, data: dict[str, Any], cases: int, now: Any) -> tuple[float, float]:
    """Starts/s and completions/s of the engine alone: app.engine's SpiffWorkflow calls and one row each."""
    dsn = url.replace("postgresql+psycopg://", "postgresql://", 1).split("?")[0]
    with psycopg.connect(dsn, autocommit=False) as conn:
        conn.execute("CREATE TEMP TABLE bare_state (id serial PRIMARY KEY, state text NOT NULL)")
        t = time.perf_counter()
        rows = []
        for _ in range(cases):
            run = runtime.start_workflow(spec_json, data, now)
            rows.append((conn.execute("INSERT INTO bare_state (state) VALUES (%s) RETURNING id",
                                      (run.state_json,)).fetchone()[0], run.tasks[0].task_id))  # type: ignore[index]
            conn.commit()
        starts = cases / (time.perf_counter() - t)
        t = time.perf_counter()
        for row_id, task_id in rows:
            state = conn.execute("SELECT state FROM bare_state WHERE id = %s", (row_id,)).fetchone()[0]  # type: ignore[index]
            run = runtime.complete_task(spec_json, state, task_id, {"accept_decision": "accept", "kind": "complaint"},
                                        now)
            conn.execute("UPDATE bare_state SET state = %s WHERE id = %s", (run.state_json, row_id))
            conn.commit()
        completes = cases / (time.perf_counter() - t)
    return starts, completes


def bare_engine_sqlite(path: Path, spec_json: str, data: dict[str, Any], cases: int, now: Any) -> tuple[float, float]:
    import sqlite3

    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE IF NOT EXISTS bare_state (id INTEGER PRIMARY KEY, state TEXT NOT NULL)")
    t = time.perf_counter()
    rows = []
    for _ in range(cases):
        run = runtime.start_workflow(spec_json, data, now)
        rows.append((conn.execute("INSERT INTO bare_state (state) VALUES (?)", (run.state_json,)).lastrowid,
                     run.tasks[0].task_id))
        conn.commit()
    starts = cases / (time.perf_counter() - t)
    t = time.perf_counter()
    for row_id, task_id in rows:
        state = conn.execute("SELECT state FROM bare_state WHERE id = ?", (row_id,)).fetchone()[0]
        run = runtime.complete_task(spec_json, state, task_id, {"accept_decision": "accept", "kind": "complaint"}, now)
        conn.execute("UPDATE bare_state SET state = ? WHERE id = ?", (run.state_json, row_id))
        conn.commit()
    completes = cases / (time.perf_counter() - t)
    conn.close()
    return starts, completes


def captured_start(p: Any) -> tuple[str, dict[str, Any]]:
    """The spec JSON and initial data register_case hands the engine (one case registered to see them)."""
    from app.services.cases import RequesterInput
    from app.services.intake import CaseInput, register_case

    seen: list[tuple[str, dict[str, Any]]] = []
    real = process.engine.start_workflow

    def spy(spec_json: str, data: dict[str, Any], now: Any) -> Any:
        seen.append((spec_json, dict(data)))
        return real(spec_json, data, now)

    process.engine.start_workflow = spy  # type: ignore[assignment]
    try:
        register_case(p, actors(p)["agent01"], CaseInput(
            kind="complaint", channel="phone", category="城乡建设/供水", subject="小区停水",
            content="幸福里小区停水三天。", requester=RequesterInput(name="张三", phone="13900000001")))
    finally:
        process.engine.start_workflow = real  # type: ignore[assignment]
    return seen[0]


def engine_figures(name: str, cases: int, tmp: Path) -> None:
    url = sqlite_url(tmp, "scale") if name == "sqlite" else postgres_url()
    p = platform_for(url, tmp)
    try:
        spec_json, data = captured_start(p)
        figures = engine_run(name, p, cases, None)
    finally:
        p.db.dispose()
    starts4, completions4 = parallel(name, url, tmp, 4, cases)
    http = http_starts(url, tmp, KEYS, cases) if name == "postgresql" else None
    bare = (bare_engine_sqlite(tmp / "bare.db", spec_json, data, cases, p.clock.now()) if name == "sqlite" else
            bare_engine(url, spec_json, data, cases, p.clock.now()))
    suffix = "" if name == "postgresql" else ".sqlite"
    line(f"engine_starts{suffix}", figures["starts_per_s"], "/s")
    line(f"bare_engine_starts{suffix}", bare[0], "/s")
    line(f"engine_completions{suffix}", figures["completions_per_s"], "/s")
    line(f"bare_engine_completions{suffix}", bare[1], "/s")
    line(f"engine_state_at_accept{suffix}", figures["state_bytes_accept"], "B/case")
    line(f"engine_state_at_sign_for{suffix}", figures["state_bytes_sign_for"], "B/case")
    line(f"engine_state_at_close{suffix}", figures["state_bytes_close"], "B/case")
    line(f"engine_statements_per_start{suffix}", figures["start_statements"], "statements")
    line(f"engine_client_cpu_per_start{suffix}", figures["start_client_cpu_ms"], "ms")
    line(f"engine_client_cpu_per_completion{suffix}", figures["completion_client_cpu_ms"], "ms")
    if not suffix:  # PostgreSQL's own CPU (its backends, /proc/<pid>/schedstat): what 2 cores share with the client
        line("engine_server_cpu_per_start", figures["start_server_cpu_ms"], "ms")
        line("engine_server_cpu_per_completion", figures["completion_server_cpu_ms"], "ms")
    line(f"engine_statements_per_completion{suffix}", figures["completion_statements"], "statements")
    line(f"engine_starts_4_processes{suffix}", starts4, "/s")
    line(f"engine_completions_4_processes{suffix}", completions4, "/s")
    if http is not None:
        line("engine_starts_http_gunicorn_4", http, "/s")
        line("bare_engine_starts_same_run", bare[0], "/s")


def sweep_figures(tasks: int) -> None:
    """One scheduler pass over `tasks` open tasks (bench/sweeps.py), in the steady state and at midnight."""
    from datetime import datetime, time, timedelta

    from sweeps import build, drain, mark_done_before, one_pass

    from app.clock import FrozenClock

    with tempfile.TemporaryDirectory() as tmp:
        p = platform_for(postgres_url("huiyin_sweeps"), Path(tmp))
        try:
            now = p.clock.now()
            build(p, tasks)
            mark_done_before(p, now - timedelta(minutes=1))
            line("sweep_pass_steady", one_pass(p, "steady state"), "s")
            p.clock = FrozenClock(datetime.combine(now.date() + timedelta(days=1), time(0, 1)))
            line("sweep_pass_midnight", one_pass(p, "the ladder's day begins"), "s")
            passes, longest, fired = drain(p)  # the rest of the day's rungs, pass after pass
            line("sweep_drain_passes", passes, "passes")
            line("sweep_drain_longest_pass", longest, "s")
            line("sweep_drain_fired", fired, "rungs")
        finally:
            p.db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--city", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_CITY))
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--users", default="zj01,dispatch01,cg01",
                        help="staff numbers signed in (the city's busiest unit is 市住建局, then the centre)")
    parser.add_argument("--cases", type=int, default=300, help="cases started and completed in the engine part")
    parser.add_argument("--pgbench-seconds", type=int, default=10)
    parser.add_argument("--skip", default="", help="comma-separated: pgbench, pages, engine, sweeps")
    parser.add_argument("--sweep-tasks", type=int, default=100_000, help="open tasks the sweep pass runs over")
    parser.add_argument("--sqlite", action="store_true", help="the engine figures on SQLite too")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    os.environ.setdefault("TEST_DATABASE_URL", DEFAULT_TEST)
    load = os.getloadavg()
    if "pgbench" not in skip:
        line("pgbench_tps", pgbench(args.pgbench_seconds), "tps")
    print(f"# load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores (a shared box)",
          flush=True)
    if "pages" not in skip:
        found = pages_at_city(args.city, args.requests, args.users.split(","))
        for name, prefix in (("worklist", "worklist"), ("case_page", "case.")):
            mine = [v for k, v in found.items() if k.startswith(prefix)]
            line(f"{name}_p95_worst", max(wall for wall, _ in mine), "ms")
            line(f"{name}_cpu_p95_worst", max(cpu for _, cpu in mine), "ms")
    if "engine" not in skip:
        os.environ["BENCH_DATABASE_URL"] = os.environ["TEST_DATABASE_URL"]  # engine.postgres_url: not the city
        with tempfile.TemporaryDirectory() as tmp:
            for name in ("postgresql", "sqlite") if args.sqlite else ("postgresql",):
                engine_figures(name, args.cases, Path(tmp))
    if "sweeps" not in skip:
        sweep_figures(args.sweep_tasks)
    print(f"# load average {os.getloadavg()[0]:.2f} at the end", flush=True)


if __name__ == "__main__":
    main()
