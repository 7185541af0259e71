"""The combined query's p95 on a realistic city (bench/city.py): the ten most common condition sets, first page
and page 100 (keyset: the cursor of row 4,950 is found first, then the page after it is timed), as the centre's
leader (the whole city) and a bureau's leader (their units), plus a 100,000-row XLSX and CSV export's rows/s
(wall and CPU time: the box is shared, so the load average is printed at the start and the end).

Run: ``BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1/huiyin_query_city .venv/bin/python bench/city.py
--cases 200000 --fresh --end 2026-11-25T09:00`` once, then ``BENCH_DATABASE_URL=… .venv/bin/python bench/query.py
[--repeat 20] [--export 100000] [--pgbench-seconds 10]``. Prints ``name value unit`` lines, `pgbench_tps` first
(`pgbench -N` on a scratch database, as bench/reports.py does).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import select, text  # noqa: E402

from app.domain.case_query import CaseQuery, encode_cursor, parse  # noqa: E402
from app.migrate import upgrade  # noqa: E402
from app.models import Unit, User  # noqa: E402
from app.services import case_query, exports  # noqa: E402
from app.services.auth import actor_for  # noqa: E402
from bench.city import platform_for  # noqa: E402
from bench.reports import pgbench_tps  # noqa: E402

# The condition sets people use most (the /query form's common paths), by name.
SETS: dict[str, dict[str, str]] = {
    "all_newest": {},
    "open_handling": {"status": "handling"},
    "complaints": {"kind": "complaint"},
    "last_30_days": {"created_from": "2026-10-26"},
    "lead_unit_cgj": {"lead_unit": "@cgj"},
    "red_light": {"light": "red"},
    "overdue": {"overdue": "1"},
    "text_3_chars": {"q": "噪声扰"},
    "phone_channel_by_number": {"channel": "phone", "sort": "number"},
    "unreplied_complaints": {"reply": "unreplied", "kind": "complaint"},
}


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) >= 2 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("BENCH_DATABASE_URL"))
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--export", type=int, default=100_000)
    parser.add_argument("--end", type=datetime.fromisoformat, default=datetime(2026, 11, 25, 9))
    parser.add_argument("--pgbench-seconds", type=int, default=10)
    parser.add_argument("--pgbench-db", default="huiyin_pgbench_query")
    args = parser.parse_args()
    if not args.url:
        raise SystemExit("set BENCH_DATABASE_URL to a database bench/city.py filled")
    url = args.url.replace("postgresql://", "postgresql+psycopg://", 1) if args.url.startswith("postgresql://") \
        else args.url
    if args.pgbench_seconds and url.startswith("postgresql"):
        tps = pgbench_tps(url, args.pgbench_db, args.pgbench_seconds)
        print(f"pgbench_tps {tps if tps is not None else 'nan'} tps", flush=True)
    print(f"loadavg_start {_load()} 1min", flush=True)
    upgrade(url)
    with tempfile.TemporaryDirectory() as instance:
        p = platform_for(url, args.end, instance)
        with p.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            if p.db.engine.dialect.name == "postgresql":
                conn.execute(text('ANALYZE "case"'))
            total = conn.scalar(text('SELECT count(*) FROM "case"'))
        print(f"cases {total} rows")
        with p.db.reading() as session:
            units = {u.code: u.id for u in session.scalars(select(Unit))}
            people = {u.staff_no: actor_for(u) for u in session.scalars(select(User).where(
                User.staff_no.in_(["leader01", "cgleader01"])))}
        for who, actor in (("centre", people["leader01"]), ("cgj", people["cgleader01"])):
            for name, given in SETS.items():
                params = {k: [str(units[v[1:]]) if v.startswith("@") else v] for k, v in given.items()}
                query = parse(params)
                first, typical = _timed(p, actor, query, args.repeat)
                print(f"{who}.{name}.page1_p95 {first:.1f} ms (p50 {typical:.1f})", flush=True)
                cursor = _cursor_at(p, actor, query, 4950)
                if cursor is None:
                    print(f"{who}.{name}.page100_p95 nan ms (fewer than 4,950 rows)")
                    continue
                later, typical = _timed(p, actor, parse({**params, "after": [cursor]}), args.repeat)
                print(f"{who}.{name}.page100_p95 {later:.1f} ms (p50 {typical:.1f})", flush=True)
        if args.export:
            for fmt in ("xlsx", "csv"):
                _export(p, people["leader01"], args.export, fmt)
        p.db.dispose()
    print(f"loadavg_end {_load()} 1min")


def _load() -> str:
    return Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg").exists() else "nan"


def _timed(p, actor, query: CaseQuery, repeat: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """p95 and median of `repeat` calls after one that warms the caches (on a shared box the p95 is mostly
    the scheduler's: the median says what the query costs)."""
    times = []
    for _ in range(repeat + 1):
        t = time.perf_counter()
        case_query.search(p, actor, query)
        times.append((time.perf_counter() - t) * 1000)
    return p95(times[1:]), statistics.median(times[1:])


def _cursor_at(p, actor, query: CaseQuery, row: int) -> str | None:  # type: ignore[no-untyped-def]
    column = case_query.SORT_COLUMNS[query.sort]
    with p.db.reading() as session:
        found = session.execute(case_query.base_select(session, p, actor, query)
                                .order_by(*case_query.order(column, query.descending, False))
                                .offset(row - 1).limit(1)).first()
    return encode_cursor(getattr(found[0], column.key), found[0].id) if found else None


def _export(p, actor, rows: int, fmt: str) -> None:  # type: ignore[no-untyped-def]
    """The whole city newest first, masked, through the export's own row reader and writer."""
    with p.db.reading() as session:
        query = parse({"sort": ["-created_at"]})
        t, cpu = time.perf_counter(), time.process_time()
        written = exports.write_table(Path(p.settings.INSTANCE_PATH) / f"bench.{fmt}", fmt, exports.HEADER,
                                      exports.case_rows(session, p, actor, query, False, rows))
        seconds, cpu_seconds = time.perf_counter() - t, time.process_time() - cpu
    print(f"export.{fmt}.rows {written} rows")
    print(f"export.{fmt}.seconds {seconds:.1f} s (CPU {cpu_seconds:.1f} s)")
    print(f"export.{fmt}.rate {written / seconds:.0f} rows/s (per CPU second {written / cpu_seconds:.0f})", flush=True)


if __name__ == "__main__":
    main()
