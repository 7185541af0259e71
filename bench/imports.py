"""A city's first load, timed: 5,000 categories and 2,000 accounts imported through the admin services on
SQLite and PostgreSQL (the units the accounts belong to are imported first, 200 of them).

The category tree is GB/T 39666-style: 2-digit top codes, each level adding two digits, 3 to 4 levels
deep (10 × 10 × 10 and then 3,890 fourth-level codes). Each list is written as XLSX (openpyxl write-only, as
the export does) and imported by `dictionary_admin.import_catalogue`, `units.import_units` and
`users.import_users` — the functions behind the pages and the API — as the 系统管理员 and the 安全管理员.
Then the same files again (nothing changes: the idempotent path), and the exports. Accounts are hashed at
the **configured** argon2 cost (Settings: ARGON2_TIME_COST / ARGON2_MEMORY_KIB), which is the import's cost:
the bench prints the time per hash measured beside it, and the SQL statements each import issued (a
`before_cursor_execute` listener) with the time spent in them, to show there is no per-row query storm.

Run: ``nice .venv/bin/python bench/imports.py [--categories 5000] [--users 2000] [--only sqlite|postgresql]
[--fast-hash]`` (`--fast-hash`: the tests' argon2 cost, to see the database side alone).
PostgreSQL comes from BENCH_DATABASE_URL or TEST_DATABASE_URL (a schema `huiyin_bench_imports` is recreated).
Prints `name value unit` lines.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a plain script from anywhere

from openpyxl import Workbook  # noqa: E402
from sqlalchemy import event, func, select  # noqa: E402

from app.clock import FrozenClock  # noqa: E402
from app.crypto import load_keys  # noqa: E402
from app.db import Database  # noqa: E402
from app.models import DictionaryEntry, Unit, User  # noqa: E402
from app.services import dictionary_admin, units, users  # noqa: E402
from app.services.auth import actor_for  # noqa: E402
from app.services.platform import Platform  # noqa: E402
from app.services.seed import seed_demo  # noqa: E402
from app.settings import Settings  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from engine import KEYS, NOW, postgres_url, sqlite_url  # noqa: E402

SCHEMA = "huiyin_bench_imports"
ROLE_MIX = ["handler", "handler", "handler", "handler|leader", "dispatcher", "agent"]


def xlsx(rows: Iterator[list[Any]]) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Sheet1")
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def catalogue(n: int) -> bytes:
    """n categories: 10 tops, 100 second-level, 1,000 third-level, the rest fourth-level (GB/T 39666 style)."""
    def rows() -> Iterator[list[Any]]:
        yield ["kind", "code", "label", "parent", "sort", "active"]
        made, level = 0, [f"{a:02d}" for a in range(1, 11)]
        parents: list[str | None] = [None] * len(level)
        while made < n:
            for i, (code, parent) in enumerate(zip(level, parents, strict=True)):
                if made >= n:
                    return
                yield ["category", code, f"分类{code}", parent or "", i % 10, 1]
                made += 1
            fanout = 10 if len(level[0]) < 6 else max(1, -(-(n - made) // len(level)))
            parents = [c for c in level for _ in range(fanout)]
            level = [f"{c}{k + 1:02d}" for c in level for k in range(fanout)]
    return xlsx(rows())


def unit_sheet(n: int) -> bytes:
    def rows() -> Iterator[list[Any]]:
        yield ["编码", "名称", "类型", "上级编码"]
        for d in range(n // 10):
            yield [f"qx{d:02d}", f"第{d + 1}区", "district", "centre"]
            for s in range(9):
                yield [f"qx{d:02d}.jd{s}", f"第{d + 1}区第{s + 1}街道", "street", f"qx{d:02d}"]
    return xlsx(rows())


def user_sheet(n: int, unit_codes: list[str]) -> bytes:
    def rows() -> Iterator[list[Any]]:
        yield ["工号", "姓名", "单位编码", "角色"]
        for i in range(n):
            yield [f"u{i:05d}", f"用户{i}", unit_codes[i % len(unit_codes)], ROLE_MIX[i % len(ROLE_MIX)]]
    return xlsx(rows())


@contextmanager
def counted(platform: Platform) -> Iterator[dict[str, float]]:
    """Statements issued and seconds spent in them while the block runs."""
    found = {"statements": 0.0, "sql_s": 0.0}
    started: list[float] = []
    engine = platform.db.engine

    def before(*_: Any) -> None:
        started.append(time.perf_counter())

    def after(*_: Any) -> None:
        found["statements"] += 1
        found["sql_s"] += time.perf_counter() - started.pop()

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        yield found
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)


def timed(platform: Platform, name: str, db: str, action: Callable[[], Any], rows: int) -> Any:
    with counted(platform) as sql:
        start = time.perf_counter()
        result = action()
        seconds = time.perf_counter() - start
    print(f"{db}.{name}.seconds {seconds:.2f} s", flush=True)
    print(f"{db}.{name}.rows_per_second {rows / seconds:.0f} rows/s", flush=True)
    print(f"{db}.{name}.statements {sql['statements']:.0f} statements", flush=True)
    print(f"{db}.{name}.sql_seconds {sql['sql_s']:.2f} s", flush=True)
    return result


def run(db: str, url: str, tmp: Path, n_categories: int, n_users: int, fast_hash: bool) -> None:
    cost = {"ARGON2_TIME_COST": 1, "ARGON2_MEMORY_KIB": 1024} if fast_hash else {}  # default: the configured cost
    settings = Settings(DATABASE_URL=url, INSTANCE_PATH=str(tmp / "instance"), **cost)
    platform = Platform(db=Database(url), settings=settings, keys=load_keys(KEYS, str(tmp / "instance")),
                        clock=FrozenClock(NOW))
    seed_demo(platform)
    with platform.db.reading() as session:
        sysadmin, secadmin = (actor_for(session.scalar(select(User).where(User.staff_no == s)))
                              for s in ("sysadmin", "secadmin"))
    cat_file, unit_file = catalogue(n_categories), unit_sheet(200)
    done = timed(platform, "dictionary_import", db,
                 lambda: dictionary_admin.import_catalogue(platform, sysadmin, cat_file, "catalogue.xlsx"),
                 n_categories)
    assert done["added"] == n_categories, done
    again = timed(platform, "dictionary_reimport", db,
                  lambda: dictionary_admin.import_catalogue(platform, sysadmin, cat_file, "catalogue.xlsx"),
                  n_categories)
    assert again["added"] == again["changed"] == 0, again
    timed(platform, "dictionary_export_xlsx", db,
          lambda: dictionary_admin.export(platform, sysadmin, "category", "xlsx"), n_categories)
    timed(platform, "units_import", db, lambda: units.import_units(platform, sysadmin, unit_file, "units.xlsx"), 200)
    with platform.db.reading() as session:
        codes = list(session.scalars(select(Unit.code).where(Unit.code.like("qx%")).order_by(Unit.code)))
        levels = session.scalar(select(func.max(func.length(DictionaryEntry.code))).where(
            DictionaryEntry.kind == "category", DictionaryEntry.code.like("0%"))) // 2
    print(f"{db}.category_levels {levels} levels", flush=True)

    start = time.perf_counter()
    for _ in range(5):
        platform.hasher.hash("Hy0123456789a2@")
    per_hash = (time.perf_counter() - start) / 5
    print(f"{db}.argon2_hash_t{settings.ARGON2_TIME_COST}_m{settings.ARGON2_MEMORY_KIB}KiB {per_hash * 1000:.0f} ms",
          flush=True)
    user_file = user_sheet(n_users, codes)
    made = timed(platform, "users_import", db,
                 lambda: users.import_users(platform, secadmin, user_file, "users.xlsx"), n_users)
    assert len(made.issued) == n_users
    again_users = timed(platform, "users_reimport", db,
                        lambda: users.import_users(platform, secadmin, user_file, "users.xlsx"), n_users)
    assert not again_users.issued and again_users.changed == 0
    print(f"{db}.users_import_hashing_share {n_users * per_hash:.0f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--categories", type=int, default=5000)
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--fast-hash", action="store_true",
                        help="argon2 t=1, 1 MiB (the tests' cost): the database side alone, names prefixed fast_hash.")
    args = parser.parse_args()
    prefix = "fast_hash." if args.fast_hash else ""
    with tempfile.TemporaryDirectory() as tmp:
        if args.only != "postgresql":
            run(prefix + "sqlite", sqlite_url(Path(tmp)), Path(tmp) / "s", args.categories, args.users, args.fast_hash)
        if args.only != "sqlite":
            run(prefix + "postgresql", postgres_url(SCHEMA + ("_fast" if args.fast_hash else "")), Path(tmp) / "p",
                args.categories, args.users, args.fast_hash)


if __name__ == "__main__":
    main()
