"""Fixed report times on the realistic city (bench/city.py), with `pgbench -N` on the same box first.

On the database BENCH_DATABASE_URL names: `pgbench -N` for a few seconds on a scratch database
(`--pgbench-db`, created if missing) for the box's speed; then the report summary folded
(`report_summary.rebuild`, one pass, when many days are stale, as on a city just upgraded to the summary;
else `fold_stale`, day by day, as the scheduler does);
then, for the city's last full month, as the centre's leader (the whole city) and a bureau's leader (its own
cases), through the service: the monthly rates and balance (what `GET /api/v1/reports/monthly` answers) and
the full report (breakdowns, ranking, lights, trend, hot words); and through the web application (Flask test
client, signed in at /login): the API, the /reports page with its five charts, its XLSX and PDF, a custom
pivot from the summary (units) and one from the cases (units × kinds). Median and worst wall time of
`--repeat` calls after a warm-up, the process's CPU time per call beside it, and the load average.

Prints `name value unit` lines. Run: ``BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1/huiyin_city_me
.venv/bin/python bench/reports.py [--repeat 5] [--pgbench-seconds 10]`` — on your own copy of the city: the
fold writes `report_day`.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from city import FAST_HASH, platform_for  # noqa: E402
from engine import KEYS  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from app import create_app  # noqa: E402
from app.clock import FrozenClock  # noqa: E402
from app.models import Case, ReportStaleMark, User  # noqa: E402
from app.services import report_summary, reports  # noqa: E402
from app.services.auth import actor_for  # noqa: E402

PASSWORD = "Huiyin@2026"


def load() -> str:
    return Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg").exists() else "n/a"


def timed(name: str, fn: Callable[[], Any], repeat: int) -> None:
    """Median and worst wall milliseconds of `repeat` calls after one warm-up, the CPU time per call, load."""
    fn()
    walls, cpus = [], []
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        fn()
        walls.append((time.perf_counter() - t) * 1000)
        cpus.append((time.process_time() - c) * 1000)
    print(f"{name}_p50 {statistics.median(walls):.0f} ms (cpu {statistics.median(cpus):.0f} ms, load {load()})")
    print(f"{name}_max {max(walls):.0f} ms")


def pgbench_tps(url: str, db: str, seconds: int) -> float | None:
    """`pgbench -N -T seconds` TPS on a scratch database (initialised at scale 1 when first used)."""
    parts = urlsplit(url.replace("+psycopg", ""))
    args = ["-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 5432), "-U", parts.username or "postgres"]
    subprocess.run(["createdb", *args, db], capture_output=True, check=False)
    subprocess.run(["pgbench", *args, "-i", "-s", "1", "-q", db], capture_output=True, check=False)
    out = subprocess.run(["pgbench", *args, "-N", "-c", "2", "-j", "2", "-T", str(seconds), db],
                         capture_output=True, text=True, check=False).stdout
    found = re.search(r"tps = ([\d.]+)", out)
    return float(found.group(1)) if found else None


def signed_in(app: Any, staff_no: str) -> Any:
    client = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True))
    assert token, "the login page has no CSRF token"
    answer = client.post("/login", data={"staff_no": staff_no, "password": PASSWORD, "csrf_token": token.group(1)})
    assert answer.status_code == 302, f"could not sign in as {staff_no}"
    return client


def get(client: Any, path: str, headers: dict[str, str] | None = None) -> Callable[[], None]:
    def call() -> None:
        response = client.get(path, headers=headers or {})
        assert response.status_code == 200, (path, response.status_code)
    return call


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("BENCH_DATABASE_URL"))
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--pgbench-seconds", type=int, default=10)
    parser.add_argument("--pgbench-db", default="huiyin_pgbench")
    args = parser.parse_args()
    if not args.url:
        raise SystemExit("set BENCH_DATABASE_URL to your copy of the city's database (bench/city.py)")
    url = args.url.replace("postgresql://", "postgresql+psycopg://", 1)
    if args.pgbench_seconds > 0:
        tps = pgbench_tps(url, args.pgbench_db, args.pgbench_seconds)
        print(f"pgbench_tps {tps if tps is not None else 'n/a'} tps (load {load()})")
    with tempfile.TemporaryDirectory() as instance:
        p = platform_for(url, datetime.now(), instance)
        with p.db.reading() as session:
            newest = session.scalar(select(func.max(Case.created_at))) or datetime.now()
            total = session.scalar(select(func.count(Case.id))) or 0
            stale = session.scalar(select(func.count()).select_from(ReportStaleMark)) or 0
            users = {u.staff_no: actor_for(u) for u in session.scalars(
                select(User).where(User.staff_no.in_(["leader01", "cgleader01"])))}
        print(f"cases {total} count")
        t, c = time.perf_counter(), time.process_time()
        folded = 0
        if stale > 60:  # an upgraded or bulk-loaded city: one pass over the cases
            folded = report_summary.rebuild(p)
        while (n := report_summary.fold_stale(p, limit=500)) > 0:  # as the scheduler does, day by day
            folded += n
        print(f"summary_fold {folded} days {time.perf_counter() - t:.1f} s (cpu {time.process_time() - c:.1f} s, "
              f"{stale} stale before, load {load()})")
        clock = FrozenClock(newest)
        p.clock = clock  # type: ignore[misc]
        month = (newest.date().replace(day=1) - timedelta(days=1)).replace(day=1)
        period = reports.period_of("month", month)
        year = reports.period_of("year", date(month.year, 1, 1))
        for who, actor in (("centre", users["leader01"]), ("bureau", users["cgleader01"])):
            for name, per, full in (("monthly_rates", period, False), ("monthly_full", period, True),
                                    ("yearly_rates", year, False)):
                timed(f"report_{name}_{who}", lambda per=per, full=full, actor=actor:  # type: ignore[misc]
                      reports.report(p, actor, per, full=full), args.repeat)
        found = reports.report(p, users["leader01"], period, full=False)
        print(f"balance_ok {int(found['balance']['ok'])} bool")
        p.db.dispose()
        app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": instance, "SESSION_COOKIE_SECURE": False,
                          "LOG_LEVEL": "WARNING", **KEYS, **FAST_HASH}, clock=clock)
        day = f"day={month.isoformat()}"
        for who, staff_no in (("centre", "leader01"), ("bureau", "cgleader01")):
            client = signed_in(app, staff_no)
            pages = {"api_monthly": f"/api/v1/reports/monthly?month={month:%Y-%m}",
                     "page_reports": f"/reports?period=month&{day}",
                     "report_xlsx": f"/reports/report.xlsx?period=month&{day}",
                     "report_pdf": f"/reports/report.pdf?period=month&{day}",
                     "custom_units_summary": f"/reports/custom?period=month&{day}&rows=unit&measure=score",
                     "custom_units_by_kind_cases": f"/reports/custom?period=month&{day}&rows=unit&columns=kind"
                                                   "&measure=new"}
            token = client.post("/api/v1/auth/token", json={"staff_no": staff_no, "password": PASSWORD})
            bearer = {"Authorization": f"Bearer {token.get_json()['token']}"}
            for name, path in pages.items():
                timed(f"{name}_{who}", get(client, path, bearer if path.startswith("/api/") else None), args.repeat)
        app.extensions["huiyin"].db.dispose()


if __name__ == "__main__":
    main()
