"""Fixed report times on the realistic city (bench/city.py) and the ratio to `pgbench -N` on the same box.

Times `app.services.reports.report` through the service (no HTTP) on the database BENCH_DATABASE_URL names,
as the centre's leader (the whole city) and as a bureau's leader (its own cases): the monthly report's rates
and balance alone (what `GET /api/v1/reports/monthly` answers) and the full report the page and PDF show
(intake breakdowns, ranking, lights, trend, hot words), for the city's last full month. Then `pgbench -N`
for a few seconds on a scratch database (`--pgbench-db`, created if missing) for the box's speed.

Prints `name value unit` lines. Run: ``BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1/huiyin_city
.venv/bin/python bench/reports.py [--repeat 5] [--pgbench-seconds 10]``.
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
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from city import platform_for  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from app.clock import FrozenClock  # noqa: E402
from app.models import Case, User  # noqa: E402
from app.services import reports  # noqa: E402
from app.services.auth import actor_for  # noqa: E402


def timed(fn: object, repeat: int) -> tuple[float, float]:
    """Median and worst milliseconds of `repeat` calls (after one warm-up)."""
    call = fn  # type: ignore[assignment]
    call()  # type: ignore[operator]
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        call()  # type: ignore[operator]
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), max(times)


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


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("BENCH_DATABASE_URL"))
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--pgbench-seconds", type=int, default=10)
    parser.add_argument("--pgbench-db", default="huiyin_pgbench")
    args = parser.parse_args()
    if not args.url:
        raise SystemExit("set BENCH_DATABASE_URL to the city's database (bench/city.py)")
    url = args.url.replace("postgresql://", "postgresql+psycopg://", 1)
    print(f"load_average {os.getloadavg()[0]:.2f} 1")
    with tempfile.TemporaryDirectory() as instance:
        p = platform_for(url, datetime.now(), instance)
        with p.db.reading() as session:
            newest = session.scalar(select(func.max(Case.created_at))) or datetime.now()
            total = session.scalar(select(func.count(Case.id))) or 0
            users = {u.staff_no: actor_for(u) for u in session.scalars(
                select(User).where(User.staff_no.in_(["leader01", "cgleader01"])))}
        p.clock = FrozenClock(newest)  # type: ignore[misc]
        month = (newest.date().replace(day=1) - timedelta(days=1)).replace(day=1)
        period = reports.period_of("month", month)
        year = reports.period_of("year", date(month.year, 1, 1))
        print(f"cases {total} count")
        for who, actor in (("centre", users["leader01"]), ("bureau", users["cgleader01"])):
            for name, per, full in (("monthly_rates", period, False), ("monthly_full", period, True),
                                    ("yearly_rates", year, False)):
                p50, worst = timed(lambda per=per, full=full, actor=actor: reports.report(p, actor, per, full=full),
                                   args.repeat)
                print(f"report_{name}_{who}_p50 {p50:.0f} ms")
                print(f"report_{name}_{who}_max {worst:.0f} ms")
        found = reports.report(p, users["leader01"], period, full=False)
        print(f"balance_ok {int(found['balance']['ok'])} bool")
        p.db.dispose()
    if args.pgbench_seconds > 0:
        tps = pgbench_tps(url, args.pgbench_db, args.pgbench_seconds)
        print(f"pgbench_tps {tps if tps is not None else 'n/a'} tps")


if __name__ == "__main__":
    main()
