"""判重: precision and recall on the labelled set, and the hint's latency with a million cases.

Default run: `tests/data/duplicates.jsonl` (202 appeals composed for this bench: clusters of the same matter
written differently, hard negatives, singletons) goes in time order through the real services on a real
database — for each appeal, first `duplicates.check` (the `POST /api/v1/duplicates` use case, as agent01)
with the frozen clock at the appeal's time, so it sees only earlier appeals; then `intake.register`. A
flagged appeal (is_duplicate) is right when its top candidate carries the same label. Precision = right /
flagged; recall = right / appeals that have an earlier one with their label.

`--cases 1000000`: bulk-loads that many synthetic cases (requester, case, dedupe_band, dedupe_place rows; a
year of registrations; texts from place × problem × phrasing templates, so keys repeat as real ones do)
into a PostgreSQL bench schema (the distinct texts with COPY, the rows by INSERT … SELECT over
generate_series), then times `duplicates.check` for drafts of the labelled set and
synthetic ones (p50/p95/max). Run it with `nice`.

Run: ``.venv/bin/python bench/duplicates.py [--only sqlite|postgresql] [--cases N] [--queries 300]``;
PostgreSQL from BENCH_DATABASE_URL or TEST_DATABASE_URL (schema `huiyin_bench_dedupe` is recreated).
Output: `name value unit` lines.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from engine import pct, platform_for, postgres_url, sqlite_url  # noqa: E402
from sqlalchemy import select, text  # noqa: E402

from app.clock import FrozenClock  # noqa: E402
from app.domain import similarity  # noqa: E402
from app.models import Setting, Unit, User  # noqa: E402
from app.services import duplicates, intake  # noqa: E402
from app.services.auth import actor_for  # noqa: E402
from app.services.platform import Platform  # noqa: E402

DATA = ROOT / "tests" / "data" / "duplicates.jsonl"
ALIASES = {"北塘小区": "北塘家园"}  # what the city's administrator sets in 判重地名别名
SCHEMA = "huiyin_bench_dedupe"


def appeals() -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line.strip()]
    return sorted(rows, key=lambda r: r["time"])


def draft_of(row: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {"subject": row["subject"], "content": row["content"], "category": row["category"],
                            "requester": {"phone": row["phone"]}}
    if row.get("location"):
        body["location"] = row["location"]
    return body


def set_aliases(p: Platform) -> None:
    with p.db.unit_of_work() as session:
        session.add(Setting(key="dedupe.place_aliases", value={"value": ALIASES}, updated_at=p.clock.now()))
        session.commit()


def agent(p: Platform) -> Any:
    with p.db.reading() as session:
        return actor_for(session.scalars(select(User).where(User.staff_no == "agent01")).one())


def labelled(p: Platform) -> dict[str, float]:
    """Precision and recall of is_duplicate + top candidate on the labelled set, in time order."""
    set_aliases(p)
    who = agent(p)
    label_of: dict[int, str] = {}
    seen: set[str] = set()
    flagged = right = positives = 0
    misses, wrong = [], []
    for row in appeals():
        assert isinstance(p.clock, FrozenClock)
        p.clock.at = datetime.fromisoformat(row["time"])
        found = duplicates.check(p, who, draft_of(row))
        has_earlier = row["label"] in seen
        positives += has_earlier
        top = found["candidates"][0] if found["candidates"] else None
        if found["is_duplicate"] and top is not None:
            flagged += 1
            if label_of.get(top["case_id"]) == row["label"]:
                right += 1
            else:
                wrong.append(f"{row['id']} {row['subject']} → {top['number']} {top['reasons']}")
        if has_earlier and not (found["is_duplicate"] and top and label_of.get(top["case_id"]) == row["label"]):
            misses.append(f"{row['id']} {row['subject']} ({row['label']}) top={top and top['reasons']}")
        made = intake.register(p, who, {
            "kind": "complaint", "channel": "phone", "subject": row["subject"], "content": row["content"],
            "category": row["category"], "location": row.get("location"),
            "requester": {"name": "市民", "phone": row["phone"]}})
        label_of[made["id"]] = row["label"]
        seen.add(row["label"])
    for line in wrong:
        print("# flagged wrongly:", line)
    for line in misses:
        print("# missed:", line)
    return {"appeals": len(label_of), "positives": positives, "flagged": flagged, "right": right,
            "precision": right / flagged if flagged else 0.0, "recall": right / positives if positives else 0.0}


# --- a million cases ------------------------------------------------------------------------------------------

ESTATES = [a + b for a in ("幸福", "阳光", "金色", "和平", "东湖", "锦绣", "康乐", "青年", "新华", "富力", "万科",
                           "龙湖", "碧水", "翠竹", "枫林", "丽景", "华府", "天通", "望京", "朝阳")
           for b in ("家园", "花园", "小区", "里", "苑", "新村", "嘉园", "公寓", "华庭", "雅居")]
ROADS = [a + b for a in ("建国", "安定", "德胜", "朝阳", "北塘", "滨河", "学院", "幸福", "青年", "光明", "人民", "解放",
                         "胜利", "长安", "和平")
         for b in ("路", "大街", "北街", "南路", "东大街", "西路")]
PROBLEMS = [
    ("电梯故障", ["{p}的电梯又坏了，老人上下楼很困难", "{p}电梯经常停运，今天又困人了", "电梯三天两头坏，{p}物业不修"]),
    ("暖气不热", ["{p}暖气一点都不热，室温只有十四度", "{p}供暖温度不达标，家里很冷", "暖气片冰凉，{p}热力公司不来"]),
    ("夜间施工", ["{p}工地晚上十一点还在施工，噪音很大", "{p}半夜打桩吵得睡不着", "{p}夜间违规施工扰民"]),
    ("停水", ["{p}突然停水没有通知", "{p}从早上开始没水了", "{p}停水半天了什么时候来水"]),
    ("垃圾清运", ["{p}垃圾好几天没人清运，臭气熏天", "{p}垃圾站垃圾堆积发臭", "{p}垃圾桶满了环卫车不来"]),
    ("占道经营", ["{p}门口摊贩占道经营", "{p}早市摊位占了人行道", "{p}小商贩堵住道路"]),
    ("油烟", ["{p}饭店油烟直排，窗户都不敢开", "{p}烧烤店油烟很大", "{p}楼下餐馆没装油烟净化器"]),
    ("漏水", ["{p}楼上漏水到我家", "{p}天花板一直滴水", "{p}卫生间渗水物业不管"]),
    ("违建", ["{p}楼顶私搭乱建", "{p}有人违章加盖房屋", "{p}私自扩建占用公共通道"]),
    ("路灯", ["{p}路灯不亮一个多月了", "{p}晚上路灯坏了很黑", "{p}附近照明设施损坏"]),
    ("停车收费", ["{p}停车费涨了一倍", "{p}物业乱收停车费", "{p}停车收费不合理"]),
    ("欠薪", ["{p}老板拖欠工资三个月", "{p}工厂不发工资", "{p}包工头欠农民工工资"]),
    ("燃气味", ["{p}楼道里有燃气味", "{p}疑似燃气泄漏", "{p}闻到很浓的煤气味"]),
    ("噪声", ["{p}广场舞音响太吵", "{p}KTV深夜噪音扰民", "{p}商铺大喇叭吵个不停"]),
    ("井盖", ["{p}井盖丢失很危险", "{p}路口没有井盖", "{p}井盖破损有人摔倒"]),
]


def synthetic(rng: random.Random) -> tuple[str, str, str, str]:
    """(location, subject, content, category) of one synthetic appeal."""
    if rng.random() < 0.6:
        location = f"{rng.choice(ESTATES)}{rng.randint(1, 30)}号楼"
    else:
        location = f"{rng.choice(ROADS)}{rng.randint(1, 200)}号"
    subject, phrasings = rng.choice(PROBLEMS)
    content = rng.choice(phrasings).format(p=location) + rng.choice(["，请尽快处理。", "，希望有关部门管一管。", "。",
                                                                      "，已经反映过多次。", "，影响居民生活。"])
    category = rng.choice(["城乡建设/物业管理", "城市管理/市容环卫", "环境保护/噪声", "城乡建设/供水"])
    return location, subject, content, category


def _copy(conn: Any, table: str, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    buffer = io.StringIO()
    for row in rows:
        buffer.write("\t".join("\\N" if v is None else str(v).replace("\t", " ") for v in row) + "\n")
    with conn.cursor() as cursor, cursor.copy(f'COPY "{table}" ({", ".join(columns)}) FROM STDIN') as copy:
        copy.write(buffer.getvalue())


def fill(p: Platform, cases: int, rng: random.Random) -> None:
    """`cases` synthetic cases over the year before now, with their index rows. The distinct texts (one per ten
    cases) and their keys are parsed here and COPYed into scratch tables; PostgreSQL then makes every case and
    index row itself with INSERT … SELECT over generate_series (a case's time is a function of its id)."""
    import psycopg

    with p.db.reading() as session:
        centre = session.scalars(select(Unit.id).where(Unit.parent_id.is_(None))).first()
    url = p.settings.DATABASE_URL.replace("postgresql+psycopg://", "postgresql://", 1)
    distinct = max(1, cases // 10)  # each text about ten times: keys repeat as real complaints do
    texts, bands, places = [], [], []
    for t in range(distinct):
        location, subject, content, category = synthetic(rng)
        a = similarity.appeal(subject, content, location, category, {}, similarity.PROBLEM_WORDS)
        texts.append((t, location, subject, content, category))
        bands.extend((t, k) for k in set(similarity.minhash_bands(a.shingles, duplicates.BANDS, duplicates.ROWS)))
        places.extend((t, k) for k in similarity.index_keys(a))
    now = p.clock.now()
    created = f"timestamp '{now:%Y-%m-%d %H:%M:%S}' - ((g::bigint * 7919) % {365 * 86400}) * interval '1 second'"
    with psycopg.connect(url) as conn:
        first = conn.execute('SELECT coalesce(max(id), 0) FROM "case"').fetchone()[0] + 1  # type: ignore[index]
        for ddl in ("CREATE TEMP TABLE bench_text (t int, location text, subject text, content text, category text)",
                    "CREATE TEMP TABLE bench_band (t int, band_key bigint)",
                    "CREATE TEMP TABLE bench_place (t int, place_key text)"):
            conn.execute(ddl)
        _copy(conn, "bench_text", ["t", "location", "subject", "content", "category"], texts)
        _copy(conn, "bench_band", ["t", "band_key"], bands)
        _copy(conn, "bench_place", ["t", "place_key"], places)
        conn.execute("CREATE INDEX ON bench_band (t)")
        conn.execute("CREATE INDEX ON bench_place (t)")
        last = first + cases - 1
        span = f"generate_series({first}, {last}) AS g"
        steps = {
            "requester": f"INSERT INTO requester (id, name, phone_hash, created_at) "
                         f"SELECT g, '市民', md5(g::text), {created} FROM {span}",
            "case": f'INSERT INTO "case" (id, number, query_code, kind, channel, category, subject, content, '
                    f"requester_id, status, process_key, registering_unit_id, location, sensitivity, created_at) "
                    f"SELECT g, 'B-' || g, 'Q' || g, 'complaint', 'phone', x.category, x.subject, x.content, g, "
                    f"'handling', 'hotline_order', {centre}, x.location, 'normal', {created} "
                    f"FROM {span} JOIN bench_text x ON x.t = g % {distinct}",
            "dedupe_band": f"INSERT INTO dedupe_band (band_key, created_at, case_id) SELECT b.band_key, {created}, g "
                           f"FROM {span} JOIN bench_band b ON b.t = g % {distinct}",
            "dedupe_place": f"INSERT INTO dedupe_place (place_key, created_at, case_id) "
                            f"SELECT k.place_key, {created}, g FROM {span} JOIN bench_place k ON k.t = g % {distinct}",
        }
        for table, sql in steps.items():
            started = time.perf_counter()
            keyed = table.startswith("dedupe_")  # millions of random keys: load bare, then build the indexes sorted
            if keyed:
                conn.execute(f"ALTER TABLE {table} DROP CONSTRAINT pk_{table}")
                conn.execute(f"ALTER TABLE {table} DROP CONSTRAINT fk_{table}_case_id_case")
                conn.execute(f"DROP INDEX ix_{table}_case_id")
            conn.execute(sql)
            if keyed:
                key = "band_key" if table == "dedupe_band" else "place_key"
                conn.execute(f"ALTER TABLE {table} ADD CONSTRAINT pk_{table} PRIMARY KEY ({key}, created_at, case_id)")
                conn.execute(f"CREATE INDEX ix_{table}_case_id ON {table} (case_id)")
                conn.execute(f'ALTER TABLE {table} ADD CONSTRAINT fk_{table}_case_id_case FOREIGN KEY (case_id) '
                             f'REFERENCES "case" (id) ON DELETE CASCADE')
            conn.commit()
            print(f"# {table} filled in {time.perf_counter() - started:.0f} s", flush=True)
        conn.execute("SELECT setval(pg_get_serial_sequence('case', 'id'), (SELECT max(id) FROM \"case\"))")
        conn.execute("SELECT setval(pg_get_serial_sequence('requester', 'id'), (SELECT max(id) FROM requester))")
        conn.commit()
        conn.autocommit = True
        for table in ('"case"', "requester", "dedupe_band", "dedupe_place"):
            conn.execute(f"ANALYZE {table}")


def latency(p: Platform, queries: int, rng: random.Random) -> dict[str, float]:
    """Time `duplicates.check` (the API's use case, one reading transaction) for labelled and synthetic drafts."""
    who = agent(p)
    rows = appeals()
    drafts = []
    for n in range(queries):
        if n % 2:
            drafts.append(draft_of(rng.choice(rows)))
        else:
            location, subject, content, category = synthetic(rng)
            drafts.append({"subject": subject, "content": content, "location": location, "category": category,
                           "requester": {"phone": f"139{rng.randrange(10**8):08d}"}})
    for body in drafts[:10]:  # warm the pool and the caches
        duplicates.check(p, who, body)
    times, found = [], []
    for body in drafts:
        t = time.perf_counter()
        answer = duplicates.check(p, who, body)
        times.append((time.perf_counter() - t) * 1000)
        found.append(len(answer["candidates"]))
    return {"p50": pct(times, 50), "p95": pct(times, 95), "max": max(times),
            "candidates": sum(found) / len(found)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--cases", type=int, default=0, help="bulk-load this many cases (PostgreSQL) and time the hint")
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args()
    rng = random.Random(13)
    with tempfile.TemporaryDirectory() as tmp:
        if args.cases:
            p = platform_for(postgres_url(SCHEMA), Path(tmp))
            p.clock = FrozenClock(datetime(2026, 11, 25, 9, 0))
            started = time.perf_counter()
            fill(p, args.cases, rng)
            print(f"duplicates.load_seconds {time.perf_counter() - started:.0f} s")
            with p.db.reading() as session:
                total = session.scalar(text('SELECT count(*) FROM "case"'))
                bands = session.scalar(text("SELECT count(*) FROM dedupe_band"))
            print(f"duplicates.cases {total} cases")
            print(f"duplicates.band_rows {bands} rows")
            result = latency(p, args.queries, rng)
            for name in ("p50", "p95", "max"):
                print(f"duplicates.hint_{name}_{args.cases} {result[name]:.1f} ms")
            print(f"duplicates.candidates_shown {result['candidates']:.1f} candidates")
            return
        for name in ("sqlite", "postgresql"):
            if args.only and args.only != name:
                continue
            url = sqlite_url(Path(tmp)) if name == "sqlite" else postgres_url(SCHEMA)
            p = platform_for(url, Path(tmp))
            result = labelled(p)
            p.db.dispose()
            print(f"duplicates.{name}.appeals {result['appeals']} appeals")
            print(f"duplicates.{name}.repeats {result['positives']} appeals")
            print(f"duplicates.{name}.flagged {result['flagged']} appeals")
            print(f"duplicates.{name}.precision {result['precision']:.3f} ratio")
            print(f"duplicates.{name}.recall {result['recall']:.3f} ratio")


if __name__ == "__main__":
    main()
