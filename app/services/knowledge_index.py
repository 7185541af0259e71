"""The knowledge base's search index: one token string per entry, looked up by the database's own index.

PostgreSQL: `knowledge_entry.search_vector` (tsvector, 'simple' config over the segmented tokens, questions
weighted A and the answer D) under a GIN index, matched with `@@` and ranked by `ts_rank`.
SQLite: the FTS5 table `knowledge_fts` (rowid = entry id), matched with MATCH and ranked by `bm25`.
Both find the best candidates by text; they are ranked again, in the same statement, by category and freshness
(`app.domain.knowledge.rank`, written as SQL in `search`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    Date,
    Float,
    case,
    cast,
    column,
    delete,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    table,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, defer

from app.domain import knowledge as rules
from app.models import KnowledgeEntry, KnowledgeSynonym, KnowledgeTerm, Unit
from app.models.knowledge import FTS_TABLE

# SQLite only: the FTS5 table, rowid = entry id
FTS = table(FTS_TABLE, column("rowid"), column("questions"), column("answer"))
CANDIDATES = 100  # the best this many by text are ranked again by category and freshness
MAX_QUERY_TOKENS = 40  # a pasted page of text searches by its first words, not by every bigram
MAX_USED = 12  # the rarest this many tokens go to the index
COMMON = 0.08  # a token more than this share of the entries hold tells little: left out …
KEEP = 3  # … unless fewer than this many tokens would be left
MATCH_ROWS = 1000  # the rarest tokens whose entries add up to about this many find the candidates
MAX_TERM = 100  # characters: knowledge_term.term


def synonyms(session: Session) -> dict[str, str]:
    """Every word of every synonym group → the group's first word (what the index stores)."""
    return rules.synonym_map(session.scalars(select(KnowledgeSynonym.words)))


def _terms(question_tokens: str | None, answer_tokens: str | None) -> set[str]:
    return {t for t in f"{question_tokens or ''} {answer_tokens or ''}".split() if len(t) <= MAX_TERM}


def term_changes(before: set[str], after: set[str], *, new_entry: bool) -> dict[str, int]:
    """+1 for each token the entry gained, -1 for each it lost ('' counts the entries)."""
    changes = {t: 1 for t in after - before} | {t: -1 for t in before - after}
    if new_entry:
        changes[""] = 1
    return changes


def count_terms(session: Session, changes: Mapping[str, int]) -> None:
    """Add the changes to knowledge_term's counts, in term order, so two writers touching the same terms queue
    rather than deadlock. One multi-row upsert for the gains and one for the losses."""
    table = KnowledgeTerm.__table__
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    for gains in (True, False):
        rows = [{"term": t, "entries": d if gains else 0} for t, d in sorted(changes.items())
                if (d > 0 if gains else d < 0)]
        if not rows:
            continue
        stmt = dialect.insert(KnowledgeTerm).values(rows)
        if gains:
            stmt = stmt.on_conflict_do_update(index_elements=[table.c.term],
                                              set_={"entries": table.c.entries + stmt.excluded.entries})
        else:  # a loss is -1 per entry edited (only imports add up changes, and they only gain)
            stmt = stmt.on_conflict_do_update(index_elements=[table.c.term], set_={"entries": table.c.entries - 1})
        session.execute(stmt)


def index_entry(session: Session, entry: KnowledgeEntry, words: Mapping[str, str],
                tally: Counter[str] | None = None) -> None:
    """Write the entry's tokens, its row of the database's index and the token counts (after it has an id).
    An import passes `tally` and writes the counts once at the end (`count_terms`): on PostgreSQL, updating the
    same common terms once an entry inside one transaction (and a savepoint a row) grew slower with every row —
    5,000 entries did not finish in 12 minutes."""
    new_entry = not entry.question_tokens and not entry.answer_tokens
    before = _terms(entry.question_tokens, entry.answer_tokens)
    entry.question_tokens = rules.token_string(
        "\n".join([entry.title, *[str(q) for q in entry.questions or []], entry.keywords or ""]), words)
    entry.answer_tokens = rules.token_string(entry.answer, words)
    session.flush()
    changes = term_changes(before, _terms(entry.question_tokens, entry.answer_tokens), new_entry=new_entry)
    if tally is not None:
        tally.update(changes)
    elif changes:
        count_terms(session, changes)
    if session.get_bind().dialect.name == "postgresql":
        vector = func.setweight(func.to_tsvector("simple", entry.question_tokens), literal_column("'A'")).op("||")(
            func.setweight(func.to_tsvector("simple", entry.answer_tokens), literal_column("'D'")))
        session.execute(update(KnowledgeEntry).where(KnowledgeEntry.id == entry.id).values(search_vector=vector)
                        .execution_options(synchronize_session=False))
        return
    session.execute(delete(FTS).where(FTS.c.rowid == entry.id))
    session.execute(insert(FTS).values(rowid=entry.id, questions=entry.question_tokens, answer=entry.answer_tokens))


def drop_entry(session: Session, entry_id: int) -> None:
    if session.get_bind().dialect.name == "sqlite":
        session.execute(delete(FTS).where(FTS.c.rowid == entry_id))


def reindex(session: Session, entry_ids: Sequence[int] | None = None) -> int:
    """Tokens again for some entries (or all): after the synonyms changed. Answers how many."""
    words = synonyms(session)
    query = select(KnowledgeEntry).order_by(KnowledgeEntry.id)
    if entry_ids is not None:
        query = query.where(KnowledgeEntry.id.in_(list(entry_ids)))
    count = 0
    for entry in session.scalars(query):
        index_entry(session, entry, words)
        count += 1
    return count


@dataclass(frozen=True)
class Filters:
    """What narrows a search besides its words."""

    category: str | None = None  # a code; its subtree counts too
    unit_id: int | None = None
    area_unit_id: int | None = None  # entries for this area or citywide
    states: tuple[str, ...] | None = (rules.PUBLISHED,)
    valid_on: date | None = None  # only entries in force that day
    unit_path: str | None = None  # an editor's own unit and those below it, besides published ones


def filter_clauses(filters: Filters) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if filters.states is not None:
        where.append(KnowledgeEntry.state.in_(filters.states))
    if filters.category:
        where.append(or_(KnowledgeEntry.category == filters.category,
                         KnowledgeEntry.category.like(filters.category.replace("%", r"\%") + "/%", escape="\\")))
    if filters.unit_id is not None:
        where.append(KnowledgeEntry.unit_id == filters.unit_id)
    if filters.area_unit_id is not None:
        where.append(or_(KnowledgeEntry.area_unit_id.is_(None), KnowledgeEntry.area_unit_id == filters.area_unit_id))
    if filters.valid_on is not None:
        day = filters.valid_on
        where.append(or_(KnowledgeEntry.valid_from.is_(None), KnowledgeEntry.valid_from <= day))
        where.append(or_(KnowledgeEntry.valid_until.is_(None), KnowledgeEntry.valid_until >= day))
    return where


def query_tokens(session: Session, query: str) -> list[str]:
    """The query's tokens that can tell entries apart: those no entry holds are dropped, and those more than
    COMMON of the entries hold (本市, 投诉) too, unless fewer than KEEP would be left; the rarest first."""
    return query_terms(session, query)[0]


def query_terms(session: Session, query: str) -> tuple[list[str], dict[str, int]]:
    """`query_tokens` with how many entries hold each, from one look-up of knowledge_term (`narrowest` reuses it)."""
    wanted = [t for t in rules.tokens(query, synonyms(session)) if len(t) <= MAX_TERM][:MAX_QUERY_TOKENS]
    if not wanted:
        return [], {}
    counts = term_counts(session, [*wanted, ""])
    total = counts.pop("", 0)
    present = sorted((t for t in wanted if counts.get(t, 0) > 0), key=lambda t: (counts[t], wanted.index(t)))
    informative = [t for t in present if counts[t] <= COMMON * total]
    used = (informative if len(informative) >= KEEP else present[:max(KEEP, len(informative))])[:MAX_USED]
    return used, {t: counts[t] for t in used}


def term_counts(session: Session, terms: Sequence[str]) -> dict[str, int]:
    """How many entries hold each of the terms (knowledge_term; '' is every entry); a term none holds is absent."""
    return dict(session.execute(select(KnowledgeTerm.term, KnowledgeTerm.entries).where(
        KnowledgeTerm.term.in_(list(terms)))).all())


def narrowest(session: Session, tokens: Sequence[str], counts: Mapping[str, int] | None = None) -> list[str]:
    """The rarest of the tokens (at least one) whose entries add up to no more than MATCH_ROWS: what PostgreSQL
    finds the candidates by, so the GIN index is worth taking and ts_rank reads hundreds of vectors, not the
    thousands a common token would bring. A small base keeps every token. `counts` from `query_terms` spares
    the look-up."""
    counts = term_counts(session, tokens) if counts is None else counts
    ordered = sorted(tokens, key=lambda t: (counts.get(t, 0), list(tokens).index(t)))
    used: list[str] = []
    rows = 0
    for token in ordered:
        rows += counts.get(token, 0)
        if used and rows > MATCH_ROWS:
            break
        used.append(token)
    return used


def _fts_any(tokens: Sequence[str]) -> str:
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in tokens)


def _tsquery(tokens: Sequence[str]) -> Any:
    return func.to_tsquery("simple", " | ".join("'" + t.replace("'", "''") + "'" for t in tokens))


class Hit(NamedTuple):
    """An entry found, its score (0–1) and the name of its owning unit (read with it, in the same statement)."""

    entry: KnowledgeEntry
    score: float
    unit: str


def _by_text(session: Session, tokens: Sequence[str], filters: Filters, extra: Sequence[ColumnElement[bool]],
             counts: Mapping[str, int] | None, limit: int) -> Any:
    """The best `limit` entries by text (id, text score: larger is better), through the database's index."""
    where = [*filter_clauses(filters), *extra]
    if session.get_bind().dialect.name == "postgresql":
        score = func.ts_rank(KnowledgeEntry.search_vector, _tsquery(tokens))  # ranked by every token …
        found_by = _tsquery(narrowest(session, tokens, counts))  # … among the entries the rarest ones find
        return (select(KnowledgeEntry.id.label("id"), cast(score, Float).label("text"))
                .where(KnowledgeEntry.search_vector.op("@@")(found_by), *where)
                .order_by(score.desc(), KnowledgeEntry.id).limit(limit))
    fts: ColumnElement[Any] = literal_column(FTS_TABLE)
    match = _fts_any(tokens)
    if (found_by := narrowest(session, tokens, counts)) != list(tokens):
        # The rarest tokens find the rows, every token ranks them: bm25 scores each phrase of the expression,
        # so (rare) AND (all) counts the rare ones twice and reads hundreds of rows, not thousands (3× less CPU
        # at 20,000 entries, the same top hit for the bench's phrasings).
        match = f"({_fts_any(found_by)}) AND ({match})"
    bm25 = func.bm25(fts, 10.0, 1.0)
    return (select(KnowledgeEntry.id.label("id"), (-bm25).label("text")).select_from(FTS)
            .join(KnowledgeEntry, KnowledgeEntry.id == FTS.c.rowid)
            .where(fts.op("MATCH")(match), *where).order_by(bm25, KnowledgeEntry.id).limit(limit))


def candidates(session: Session, tokens: Sequence[str], filters: Filters,
               extra: Sequence[ColumnElement[bool]] = (), limit: int = CANDIDATES,
               counts: Mapping[str, int] | None = None) -> list[rules.Candidate]:
    """The entries matching any token, best by text first, as `rules.rank` takes them: the reference the ranking
    in SQL (`search`) is held to by the tests."""
    if not tokens:
        return []
    found = _by_text(session, tokens, filters, extra, counts, limit).subquery()
    rows = session.execute(select(found.c.id, found.c.text, KnowledgeEntry.category, KnowledgeEntry.reviewed_at,
                                  KnowledgeEntry.use_count).join(KnowledgeEntry, KnowledgeEntry.id == found.c.id)
                           .order_by(found.c.text.desc(), found.c.id))
    return [rules.Candidate(r[0], float(r[1]), r[2], r[3], r[4]) for r in rows]


def _score(session: Session, match: Any, *, category: str | None, today: date, review_days: int) -> Any:
    """`rules.rank` as an SQL expression, term by term in the same order (the same floats, the same order)."""
    entry = KnowledgeEntry
    score = match
    if category:
        branch = category.split("/")[0]
        score = score + case((entry.category == category, rules.SAME_CATEGORY),
                             (or_(entry.category == branch, entry.category.like(
                                 branch.replace("%", r"\%").replace("_", r"\_") + "/%", escape="\\")),
                              rules.SAME_BRANCH), else_=0.0)
    if session.get_bind().dialect.name == "postgresql":
        age: Any = cast(literal(today), Date) - cast(entry.reviewed_at, Date)
        greatest: Any = func.greatest
        least: Any = func.least
    else:
        age = func.julianday(literal(today.isoformat())) - func.julianday(func.date(entry.reviewed_at))
        greatest, least = func.max, func.min
    fresh = rules.FRESHNESS * greatest(0.0, 1.0 - age / float(max(review_days, 1)))
    score = score + func.coalesce(fresh, 0.0)
    score = score + least(entry.use_count, rules.USE_CAP) / 1000.0
    return score / rules.SCALE


def search(session: Session, query: str, filters: Filters, *, today: date, review_days: int,
           category_hint: str | None = None, extra: Sequence[ColumnElement[bool]] = (),
           limit: int = 10) -> list[Hit]:
    """The best entries for the words, ranked by match, the category asked about and freshness.
    Two statements after the synonyms: the token counts, then one that finds the best CANDIDATES by text
    through the index, ranks them in SQL as `rules.rank` does and answers the best `limit` with their units."""
    tokens, counts = query_terms(session, query)
    if not tokens:
        return []
    found = _by_text(session, tokens, filters, extra, counts, CANDIDATES).subquery()
    best = func.max(found.c.text).over()
    matched = select(found.c.id, (found.c.text / func.coalesce(func.nullif(best, 0.0), 1.0)).label("match")
                     ).subquery()
    score = _score(session, matched.c.match, category=category_hint or filters.category, today=today,
                   review_days=review_days)
    rows = session.execute(select(KnowledgeEntry, Unit.name, score).join(matched, matched.c.id == KnowledgeEntry.id)
                           .outerjoin(Unit, Unit.id == KnowledgeEntry.unit_id)
                           .options(defer(KnowledgeEntry.search_vector), defer(KnowledgeEntry.question_tokens),
                                    defer(KnowledgeEntry.answer_tokens))  # the index's own, never shown
                           .order_by(score.desc(), KnowledgeEntry.id).limit(limit))
    return [Hit(entry, float(value), name or "") for entry, name, value in rows]
