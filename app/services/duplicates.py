"""判重: which earlier cases may be the same matter as a draft — the same requester, or the same place and
problem — found through indexes, never a scan, judged by `app.domain.similarity`, ranked with their reasons.

Three indexed lookups, each bounded, all within the window (setting `dedupe.lookback_days`):
- the same requester: the keyed hashes of phone and ID number (`requesters.same_requester`);
- the same place: `dedupe_place` (place_key, created_at) for the draft's site and shop keys;
- the same problem: `dedupe_band` (band_key, created_at) for the draft's MinHash LSH bands (BANDS × ROWS).
All three and the rows of the cases found go in one statement (`_candidates`), driven from the few ids to the
case rows by key; the JUDGED with the most hits are judged; the best is the decision (`dedupe.threshold`).

Scope: a caller is shown only the candidates they may see (`scope.visible_cases`) — a hint is a case read.
The registration itself judges against every case (no reader is shown anything) and records the best
candidates in its audit event, for whoever may later read both cases.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, delete, false, func, insert, select, text, true, union
from sqlalchemy.orm import Session

from app.domain import similarity, statuses
from app.domain.similarity import Appeal
from app.errors import Invalid
from app.models import Case, DedupeBand, DedupePlace, Requester
from app.services import requesters
from app.services.actors import Actor, require
from app.services.cases import RequesterInput
from app.services.dictionary import status_label
from app.services.platform import Platform
from app.services.scope import visible_cases
from app.services.settings import get_setting

BANDS, ROWS = 16, 2  # a pair shares a band with P = 1-(1-J²)^16: J=0.2 → 0.48, J=0.3 → 0.78, J=0.4 → 0.93
PER_KEY = 30  # the newest cases read per band or place key: bounded work however common a key is
PER_REQUESTER = 50
SHOWN = 5
JUDGED = 50  # the candidates with the most key hits are judged (~0.5 ms each); the rest share too little
CONTENT_MAX = 20000


@dataclass(frozen=True)
class Draft:
    """The intake fields of a draft that judging reads; all but `content` may be missing."""

    content: str
    subject: str = ""
    location: str | None = None
    category: str | None = None
    phone: str | None = None
    id_number: str | None = None


@dataclass(frozen=True)
class Candidate:
    case_id: int
    number: str
    score: float
    reasons: tuple[str, ...]
    status: str
    subject: str
    created_at: datetime
    seen: bool = True  # the reader may see it (`find`'s `seen`)

    def as_json(self) -> dict[str, Any]:
        return {"case_id": self.case_id, "number": self.number, "score": self.score, "reasons": list(self.reasons)}


@dataclass(frozen=True)
class Finding:
    candidates: list[Candidate]
    is_duplicate: bool
    days: int


@dataclass(frozen=True)
class _Rules:
    days: int
    threshold: float
    aliases: dict[str, str]
    words: dict[str, list[str]]


def _rules(session: Session) -> _Rules:
    aliases = {similarity.fold(k): similarity.fold(v) for k, v in get_setting(session, "dedupe.place_aliases").items()}
    return _Rules(days=int(get_setting(session, "dedupe.lookback_days")),
                  threshold=float(get_setting(session, "dedupe.threshold")),
                  aliases=aliases, words=dict(get_setting(session, "dedupe.problem_words")))


def _appeal(rules: _Rules, subject: str, content: str, location: str | None, category: str | None) -> Appeal:
    return similarity.appeal(subject, content, location, category, rules.aliases, rules.words)


# --- the index ----------------------------------------------------------------------------------------------------

def index_case(session: Session, case: Case, *, new: bool = False) -> Appeal:
    """Write the case's band and place keys (in the registration's transaction; a re-index replaces them,
    a `new` case has none to replace); answers the case parsed, for judging it next."""
    rules = _rules(session)
    appeal = _appeal(rules, case.subject, case.content, case.location, case.category)
    if not new:
        session.execute(delete(DedupeBand).where(DedupeBand.case_id == case.id))
        session.execute(delete(DedupePlace).where(DedupePlace.case_id == case.id))
    # Core inserts, one statement each: a registration writes ~20 keys, and ORM objects would cost more than the SQL
    bands = [{"band_key": k, "created_at": case.created_at, "case_id": case.id}
             for k in set(similarity.minhash_bands(appeal.shingles, BANDS, ROWS))]
    places = [{"place_key": k, "created_at": case.created_at, "case_id": case.id}
              for k in similarity.index_keys(appeal)]
    for table, rows in ((DedupeBand, bands), (DedupePlace, places)):
        if rows:
            session.execute(insert(table), rows)
    return appeal


def reindex(platform: Platform, batch: int = 500) -> int:
    """Index every case (cases registered before the index existed, or after the aliases changed)."""
    done, last = 0, 0
    while True:
        with platform.db.unit_of_work() as session:
            found = list(session.scalars(select(Case).where(Case.id > last).order_by(Case.id).limit(batch)))
            for case in found:
                index_case(session, case)
            session.commit()
        if not found:
            return done
        done, last = done + len(found), found[-1].id


# --- the search ---------------------------------------------------------------------------------------------------

def _newest_sql(table: str, column: str, count: int) -> str:
    """One index range per key, newest first, bounded; written as text: built per search it costs nothing."""
    # Table, column and limit are our constants; every value is a bound parameter.
    one = (f"SELECT case_id FROM (SELECT case_id FROM {table} WHERE {column} = :{column}_{{n}} "  # noqa: S608
           f"AND created_at >= :since ORDER BY created_at DESC LIMIT {PER_KEY}) AS {table}_{{n}}")
    return " UNION ALL ".join(one.format(n=n) for n in range(count))


def _candidates(platform: Platform, draft: Draft, appeal: Appeal, since: datetime,
                exclude: int | None) -> Select[*tuple[Any, ...]]:
    """One statement for the candidates: the requester's newest cases and the cases with the most key hits,
    each row with its hit count and whether it is the same requester's (`same`). The caller adds the scope."""
    who = requesters.same_requester(platform, requesters.normalised(
        RequesterInput(name="-", phone=draft.phone or None, id_number=draft.id_number or None)))
    others = Case.id != exclude if exclude is not None else true()
    same = (select(Case.id).join(Requester).where(who, Case.created_at >= since, others)
            .order_by(Case.created_at.desc()).limit(PER_REQUESTER).cte("same")) if who is not None else None
    places = sorted(similarity.index_keys(appeal))
    bands = sorted(set(similarity.minhash_bands(appeal.shingles, BANDS, ROWS)))
    parts = [sql for sql in (_newest_sql("dedupe_place", "place_key", len(places)),
                             _newest_sql("dedupe_band", "band_key", len(bands))) if sql]
    params = {"since": since} | {f"place_key_{n}": k for n, k in enumerate(places)} | {
        f"band_key_{n}": k for n, k in enumerate(bands)} if parts else {}
    keyed = text(" UNION ALL ".join(parts) or "SELECT CAST(NULL AS INTEGER) AS case_id WHERE 1 = 0").bindparams(
        **params).columns(case_id=Integer).subquery("keyed")
    hits = (select(keyed.c.case_id, func.count().label("hits"))
            .where(keyed.c.case_id != exclude if exclude is not None else true())
            .group_by(keyed.c.case_id).order_by(func.count().desc(), keyed.c.case_id.desc()).limit(JUDGED)
            .cte("hits"))  # CTEs: each read once though named twice
    wanted = select(hits.c.case_id)
    ids = (union(select(same.c.id.label("case_id")), wanted) if same is not None else wanted).subquery("ids")
    is_same = Case.id.in_(select(same.c.id)) if same is not None else false()
    # Driven from the few ids to the case rows by their key: never a pass over the cases.
    return (select(Case.id, Case.number, Case.subject, Case.content, Case.location, Case.category, Case.status,
                   Case.created_at, func.coalesce(hits.c.hits, 0).label("hits"), is_same.label("same"))
            .select_from(ids).join(Case, Case.id == ids.c.case_id).outerjoin(hits, hits.c.case_id == Case.id))


def find(session: Session, platform: Platform, draft: Draft, *, visible: ColumnElement[bool] | None = None,
         exclude: int | None = None, limit: int = SHOWN, seen: ColumnElement[bool] | None = None,
         appeal: Appeal | None = None) -> Finding:
    """The ranked candidates for a draft among the earlier cases of the window (those `visible` only, when given);
    `seen`: whether the reader may see each, read with them (a registration records what it may not show);
    `appeal`: the draft already parsed (a registration has just indexed it)."""
    rules = _rules(session)
    now = platform.clock.now()
    appeal = appeal or _appeal(rules, draft.subject, draft.content, draft.location, draft.category)
    query = _candidates(platform, draft, appeal, now - timedelta(days=rules.days), exclude).add_columns(
        (seen if seen is not None else true()).label("seen")).where(Case.created_at <= now)
    if visible is not None:
        query = query.where(visible)
    rows = sorted(session.execute(query), key=lambda r: (not r.same, -r.hits, -r.id))[:JUDGED]
    found = []
    for row in rows:
        verdict = similarity.judge(appeal, _appeal(rules, row.subject, row.content, row.location, row.category),
                                   bool(row.same))
        reasons = verdict.reasons
        if row.status == statuses.TERMINATED and row.same:
            reasons = (*reasons, "已三级终结,不再受理")
        found.append(Candidate(row.id, row.number, verdict.score, reasons, row.status, row.subject, row.created_at,
                               bool(row.seen)))
    found.sort(key=lambda c: (-c.score, c.created_at))
    shown = [c for c in found[:limit] if c.score >= 0.3 or "同一诉求人" in c.reasons]
    return Finding(shown, bool(shown) and shown[0].score >= rules.threshold, rules.days)


def check(platform: Platform, actor: Actor, raw: dict[str, Any]) -> dict[str, Any]:
    """`POST /api/v1/duplicates`: the draft's candidates the caller may see, and whether the best is the same matter."""
    require(actor, "case.create")
    draft = draft_from(raw)
    with platform.db.reading() as session:
        finding = find(session, platform, draft, visible=visible_cases(actor))
        return {"candidates": [c.as_json() for c in finding.candidates], "is_duplicate": finding.is_duplicate,
                "days": finding.days}


def draft_from(raw: dict[str, Any]) -> Draft:
    """A draft from the API's intake JSON shape; `content` is required, every other field optional."""
    def field(value: Any, name: str, limit: int) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str) or len(value) > limit:
            message = f"「{name}」应为不超过 {limit} 个字符的文字"
            raise Invalid(message, {name: message})
        return value.strip() or None
    content = field(raw.get("content"), "content", CONTENT_MAX)
    if not content:
        raise Invalid("请填写诉求内容", {"content": "请填写诉求内容"})
    person = raw.get("requester") or {}
    if not isinstance(person, dict):
        raise Invalid("「requester」应为对象", {"requester": "「requester」应为对象"})
    return Draft(content=content, subject=field(raw.get("subject"), "subject", 200) or "",
                 location=field(raw.get("location"), "location", 200),
                 category=field(raw.get("category"), "category", 80),
                 phone=field(person.get("phone"), "requester.phone", 40),
                 id_number=field(person.get("id_number"), "requester.id_number", 40))


def describe(session: Session, finding: Finding) -> list[dict[str, Any]]:
    """The candidates as the intake page lists them (status words added)."""
    return [c.as_json() | {"subject": c.subject, "status": c.status, "status_label": status_label(session, c.status)}
            for c in finding.candidates]


def terminated_matter(session: Session, platform: Platform, r: RequesterInput, category: str | None) -> str | None:
    """三级终结 (信访工作条例 art. 36 ¶3): the refusal when the same person's matter of this category was terminated."""
    same_person = requesters.same_requester(platform, r)
    if same_person is None or not category:
        return None
    earlier = session.scalar(select(Case.number).join(Requester).where(
        same_person, Case.category == category, Case.status == statuses.TERMINATED).limit(1))
    return f"该事项已经复核终结(受理号 {earlier}),依据《信访工作条例》第三十六条不再受理" if earlier else None


def counted_once() -> ColumnElement[bool]:
    """Cases that count in statistics: a 重复件 is counted with its original, not again."""
    return Case.duplicate_of_id.is_(None)
