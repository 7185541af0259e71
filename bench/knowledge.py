"""知识库 search at 20,000 entries, SQLite and PostgreSQL: how long a search and a suggestion take, and loading.

Seeds the demo city (its ~50 entries and synonyms), then generates entries until there are `--entries`
(default 20,000): each a variant of a demo entry for one of forty districts and streets, with sentences
drawn from all the demo answers, so common words (本市, 办理, 社保) have posting lists of thousands, as in a
real city's base. Entries go in through the same indexing as the import (`knowledge_index.index_entry`:
jieba + bigrams + synonyms, then the tsvector or the FTS5 row), timed per entry.

Then it times, through the services as the desk and the API call them (session, synonyms, segmentation,
the index lookup, loading the entries): `knowledge_desk.suggest` (published and in force, the intake page
and POST /api/v1/knowledge/suggest) and `knowledge_desk.search_entries` (GET /api/v1/knowledge) over a set
of callers' phrasings (synonyms, 繁体, word order), and checks the plan uses the index (PostgreSQL: the
GIN index on search_vector; SQLite: the FTS5 table). Prints `name value unit` lines.

Run: ``nice .venv/bin/python bench/knowledge.py [--entries 20000] [--queries 300] [--only sqlite|postgresql]
[--bulk] [--import 5000] [--schema NAME]``; `--bulk` loads the generated entries set-wise instead of entry by
entry; `--import N` first loads N entries as one CSV through the import page's service, timed.
PostgreSQL comes from BENCH_DATABASE_URL or TEST_DATABASE_URL (a schema `huiyin_bench_knowledge` is recreated).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a plain script from anywhere

from sqlalchemy import func, select, text  # noqa: E402

from app.clock import FrozenClock  # noqa: E402
from app.crypto import load_keys  # noqa: E402
from app.db import Database  # noqa: E402
from app.domain import knowledge as rules  # noqa: E402
from app.models import KnowledgeEntry, Unit  # noqa: E402
from app.services import knowledge_desk, knowledge_index  # noqa: E402
from app.services.actors import Actor  # noqa: E402
from app.services.platform import Platform  # noqa: E402
from app.services.seed import seed_demo  # noqa: E402
from app.services.seed_knowledge import ENTRIES  # noqa: E402
from app.settings import Settings  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from engine import KEYS, NOW, pct, postgres_url, sqlite_url  # noqa: E402

SCHEMA = "huiyin_bench_knowledge"
PLACES = [f"{d}{s}" for d in ("东城区", "西城区", "朝阳区", "海淀区", "丰台区", "石景山区", "通州区", "顺义区")
          for s in ("", "和平里街道", "建国门街道", "德胜门街道", "望京街道")]
QUERIES = ["外地户口怎么办居住证", "暫住證怎麼辦", "社保卡丢了怎么补办", "补办社会保障卡", "老板不给发工资",
           "公司拖欠工资去哪投诉", "租房提取公积金要什么材料", "暖气不热找谁", "家里暖气温度低", "楼下饭店噪音太吵",
           "工地晚上施工", "网上买的东西能退吗", "健身房跑路了卡里的钱", "闻到煤气味", "电梯坏了没人修",
           "小区门口摆摊", "邻居私搭乱建", "孩子上小学怎么报名", "异地就医备案", "劳动仲裁要钱吗",
           "身份证丢了", "失业金怎么领", "物业不管事", "河水发黑发臭", "垃圾好几天没人收", "试用期工资",
           "怎么查工单进度", "违章罚款在哪交", "老年卡怎么办理", "个体户营业执照"]
READER = Actor(label="bench", permissions=frozenset({"knowledge.read"}))


def platform_for(url: str, tmp: Path) -> Platform:
    settings = Settings(DATABASE_URL=url, INSTANCE_PATH=str(tmp / "instance"), ARGON2_TIME_COST=1,
                        ARGON2_MEMORY_KIB=1024, **KEYS)  # type: ignore[arg-type]
    return Platform(db=Database(url), settings=settings, keys=load_keys(KEYS, str(tmp / "instance")),
                    clock=FrozenClock(NOW))


def generate(p: Platform, total: int, rng: random.Random) -> tuple[int, float]:
    """Add entries until there are `total`; answers how many were added and the seconds per entry."""
    sentences = [s for e in ENTRIES for s in re.split(r"(?<=[。;])", e[4]) if s.strip()]
    with p.db.unit_of_work() as session:
        have = session.scalar(select(func.count()).select_from(KnowledgeEntry)) or 0
        units = {u.code: u.id for u in session.scalars(select(Unit))}
        words = knowledge_index.synonyms(session)
        session.commit()
    added, started = 0, time.perf_counter()
    while have + added < total:
        with p.db.unit_of_work() as session:
            for _ in range(min(500, total - have - added)):
                unit, category, title, questions, answer, basis, keywords = ENTRIES[added % len(ENTRIES)]
                place = rng.choice(PLACES)
                extra = "".join(rng.sample(sentences, 2))
                state = rules.PUBLISHED if added % 10 else rules.DRAFT
                entry = KnowledgeEntry(
                    title=f"{place}{title}", questions=[f"{place}{q}" for q in questions], answer=answer + extra,
                    category=category, unit_id=units[unit], legal_basis=basis, keywords=keywords, internal_note="",
                    state=state, use_count=rng.randrange(0, 30), reviewed_at=NOW, created_at=NOW, updated_at=NOW)
                session.add(entry)
                session.flush()
                knowledge_index.index_entry(session, entry, words)
                added += 1
            session.commit()
    return added, (time.perf_counter() - started) / max(added, 1)


def generate_bulk(p: Platform, total: int, rng: random.Random) -> tuple[int, float]:
    """The same entries, loaded set-wise (`--bulk`): tokens in Python, multi-row INSERTs, then the database's
    index filled in one statement and the token counts recounted. What a first load of a large base can do;
    the import page goes entry by entry through `index_entry`."""
    from collections import Counter

    from sqlalchemy import delete, insert

    from app.models import KnowledgeTerm

    sentences = [s for e in ENTRIES for s in re.split(r"(?<=[。;])", e[4]) if s.strip()]
    started = time.perf_counter()
    with p.db.unit_of_work() as session:
        have = session.scalar(select(func.count()).select_from(KnowledgeEntry)) or 0
        top = session.scalar(select(func.max(KnowledgeEntry.id))) or 0
        units = {u.code: u.id for u in session.scalars(select(Unit))}
        words = knowledge_index.synonyms(session)
        rows = []
        for n in range(total - have):
            unit, category, title, questions, answer, basis, keywords = ENTRIES[n % len(ENTRIES)]
            place = rng.choice(PLACES)
            phrasings = [f"{place}{q}" for q in questions]
            body = answer + "".join(rng.sample(sentences, 2))
            rows.append({"title": f"{place}{title}", "questions": phrasings, "answer": body, "category": category,
                         "unit_id": units[unit], "legal_basis": basis, "keywords": keywords, "internal_note": "",
                         "state": rules.PUBLISHED if n % 10 else rules.DRAFT, "use_count": rng.randrange(0, 30),
                         "reviewed_at": NOW, "created_at": NOW, "updated_at": NOW,
                         "question_tokens": rules.token_string("\n".join([f"{place}{title}", *phrasings, keywords]),
                                                               words),
                         "answer_tokens": rules.token_string(body, words)})
        for i in range(0, len(rows), 1000):
            session.execute(insert(KnowledgeEntry), rows[i:i + 1000])
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("UPDATE knowledge_entry SET search_vector = "
                                 "setweight(to_tsvector('simple', question_tokens), 'A') || "
                                 "setweight(to_tsvector('simple', answer_tokens), 'D') WHERE id > :top"), {"top": top})
        else:
            session.execute(text("INSERT INTO knowledge_fts (rowid, questions, answer) "
                                 "SELECT id, question_tokens, answer_tokens FROM knowledge_entry WHERE id > :top"),
                            {"top": top})
        counts: Counter[str] = Counter()
        entries = 0
        for q, a in session.execute(select(KnowledgeEntry.question_tokens, KnowledgeEntry.answer_tokens)):
            counts.update({t for t in f"{q} {a}".split() if len(t) <= 100})
            entries += 1
        session.execute(delete(KnowledgeTerm))
        terms = [{"term": t, "entries": c} for t, c in counts.items()] + [{"term": "", "entries": entries}]
        for i in range(0, len(terms), 2000):
            session.execute(insert(KnowledgeTerm), terms[i:i + 2000])
        session.commit()
    return len(rows), (time.perf_counter() - started) / max(len(rows), 1)


def timed(call, queries: list[str]) -> tuple[list[float], list[float]]:  # type: ignore[no-untyped-def]
    """Wall-clock and this process's CPU milliseconds per call (on a shared machine the wall clock also counts
    the time others' processes held the cores; SQLite runs in this process, so its CPU time is all of it)."""
    wall, cpu = [], []
    for q in queries:
        started, used = time.perf_counter(), time.process_time()
        call(q)
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - used) * 1000)
    return wall, cpu


def server_times(p: Platform, queries: list[str]) -> list[float]:
    """PostgreSQL's own execution time (EXPLAIN ANALYZE) of the search's main statement, the one that finds,
    ranks and loads the entries, as `knowledge_desk.suggest` sends it, without the client's share."""
    from sqlalchemy import event

    took = []
    filters = knowledge_index.Filters(states=(rules.PUBLISHED,), valid_on=NOW.date())
    with p.db.reading() as session:
        sent: list[tuple[str, object]] = []

        def catch(conn, cursor, statement, parameters, context, many):  # type: ignore[no-untyped-def]
            sent.append((statement, parameters))

        event.listen(session.get_bind(), "before_cursor_execute", catch)
        raw = session.connection().connection.driver_connection
        for q in queries:
            knowledge_index.search(session, q, filters, today=NOW.date(), review_days=180, limit=5)
            statement, parameters = sent[-1]
            with raw.cursor() as cursor:  # type: ignore[union-attr]
                cursor.execute("EXPLAIN (ANALYZE) " + statement, parameters)
                plan = [r[0] for r in cursor.fetchall()]
            took.append(float(re.search(r"Execution Time: ([\d.]+)", plan[-1]).group(1)))  # type: ignore[union-attr]
        event.remove(session.get_bind(), "before_cursor_execute", catch)
    return took


def statements_per_call(p: Platform) -> int:
    """How many statements one suggestion sends (session, settings, synonyms, token counts, the search)."""
    from sqlalchemy import event

    sent: list[str] = []

    def catch(conn, cursor, statement, *rest):  # type: ignore[no-untyped-def]
        if statement.lstrip().split(None, 1)[0].upper() == "SELECT":
            sent.append(statement)

    event.listen(p.db.engine, "before_cursor_execute", catch)
    knowledge_desk.suggest(p, READER, "外地户口怎么办居住证")
    event.remove(p.db.engine, "before_cursor_execute", catch)
    return len(sent)


def import_rows(p: Platform, count: int, rng: random.Random) -> tuple[float, float]:
    """A city's first `count` entries as one CSV through the import (`knowledge_io.import_file`, published at once
    by a reviewer: check, segmentation, index, token counts, an audit row each, one transaction). Answers the
    wall and CPU seconds."""
    from app.services import knowledge_io, tabular

    with p.db.reading() as session:
        centre = session.scalars(select(Unit).where(Unit.parent_id.is_(None))).first()
        codes = {u.code for u in session.scalars(select(Unit))}
    rows = []
    for n in range(count):
        unit, category, title, questions, answer, basis, keywords = ENTRIES[n % len(ENTRIES)]
        place = rng.choice(PLACES)
        rows.append([f"{place}{title}(导入{n})", "\n".join(f"{place}{q}" for q in questions), answer, category,
                     unit if unit in codes else "", "", basis, keywords, "", "", ""])
    data = tabular.write("csv", list(knowledge_io.COLUMNS.values())[:11], rows, "知识库")
    reviewer = Actor(label="bench-import", unit_id=centre.id if centre else None,
                     unit_path=centre.path if centre else "",
                     permissions=frozenset({"knowledge.read", "knowledge.edit", "knowledge.review"}))
    started, used = time.perf_counter(), time.process_time()
    done = knowledge_io.import_file(p, reviewer, data, "first.csv", publish=True)
    assert done["added"] == count, done
    return time.perf_counter() - started, time.process_time() - used


def uses_index(p: Platform) -> bool:
    """The plan of a search reads the index, not the whole table."""
    with p.db.reading() as session:
        tokens = knowledge_index.query_tokens(session, "外地户口怎么办居住证")
        if session.get_bind().dialect.name == "postgresql":
            q = " | ".join(f"'{t}'" for t in knowledge_index.narrowest(session, tokens))
            plan = "\n".join(session.scalars(text(
                "EXPLAIN SELECT id FROM knowledge_entry WHERE search_vector @@ to_tsquery('simple', :q)"), {"q": q}))
            return "ix_knowledge_entry_search_vector" in plan
        match = " OR ".join(f'"{t}"' for t in tokens)
        plan = " ".join(str(r[-1]) for r in session.execute(text(
            "EXPLAIN QUERY PLAN SELECT rowid FROM knowledge_fts WHERE knowledge_fts MATCH :m"), {"m": match}))
        return "VIRTUAL TABLE INDEX" in plan


def run(name: str, url: str, tmp: Path, entries: int, count: int, bulk: bool = False, imported: int = 0) -> None:
    p = platform_for(url, tmp)
    seed_demo(p)
    rng = random.Random(16)
    if imported:
        wall, cpu = import_rows(p, imported, rng)
        print(f"{name}.knowledge.import_{imported}.wall {wall:.1f} s")
        print(f"{name}.knowledge.import_{imported}.cpu {cpu:.1f} s")
        print(f"{name}.knowledge.import_{imported}.load_average {os.getloadavg()[0]:.1f} processes")
    added, per_entry = (generate_bulk if bulk else generate)(p, entries, rng)
    if name == "postgresql":
        with p.db.unit_of_work() as session:
            session.execute(text("ANALYZE knowledge_entry"))
            session.commit()
    with p.db.reading() as session:
        total = session.scalar(select(func.count()).select_from(KnowledgeEntry))
    print(f"{name}.knowledge.entries {total} entries")
    print(f"{name}.knowledge.{'bulk_load' if bulk else 'index'}_per_entry {per_entry * 1000:.2f} ms")
    print(f"{name}.knowledge.index_uses_index {int(uses_index(p))} bool")
    print(f"{name}.knowledge.suggest.statements {statements_per_call(p)} statements")
    queries = [rng.choice(QUERIES) for _ in range(count)]
    timed(lambda q: knowledge_desk.suggest(p, READER, q), QUERIES)  # warm: jieba, caches, connections
    for label, call in (("suggest", lambda q: knowledge_desk.suggest(p, READER, q)),
                        ("search", lambda q: knowledge_desk.search_entries(p, READER, q))):
        wall, cpu = timed(call, queries)
        print(f"{name}.knowledge.{label}.p50 {statistics.median(wall):.1f} ms")
        print(f"{name}.knowledge.{label}.p95 {pct(wall, 95):.1f} ms")
        print(f"{name}.knowledge.{label}.max {max(wall):.1f} ms")
        print(f"{name}.knowledge.{label}.cpu_p50 {statistics.median(cpu):.1f} ms")
        print(f"{name}.knowledge.{label}.cpu_p95 {pct(cpu, 95):.1f} ms")
    if name == "postgresql":
        server = server_times(p, queries)
        print(f"{name}.knowledge.search_statement.server_p50 {statistics.median(server):.1f} ms")
        print(f"{name}.knowledge.search_statement.server_p95 {pct(server, 95):.1f} ms")
    print(f"{name}.knowledge.load_average {os.getloadavg()[0]:.1f} processes")
    found = knowledge_desk.suggest(p, READER, "外地户口怎么办居住证")["items"]
    print(f"{name}.knowledge.top_hit_is_residence_permit {int('居住证' in found[0]['title'])} bool")
    p.db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=20000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--schema", default=SCHEMA, help="the PostgreSQL schema to recreate")
    parser.add_argument("--bulk", action="store_true", help="load the generated entries set-wise (faster)")
    parser.add_argument("--import", dest="imported", type=int, default=0, metavar="N",
                        help="first import N entries as one CSV, timed (how a city loads its first base)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        if args.only in (None, "sqlite"):
            run("sqlite", sqlite_url(tmp), tmp, args.entries, args.queries, args.bulk, args.imported)
        if args.only in (None, "postgresql"):
            run("postgresql", postgres_url(args.schema), tmp, args.entries, args.queries, args.bulk, args.imported)


if __name__ == "__main__":
    main()
