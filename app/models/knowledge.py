"""The knowledge base (知识库): entries, the cases they answered, feedback on them, synonyms for search.

`question_tokens` / `answer_tokens` hold the segmented, folded text (app/domain/knowledge.py `tokens`).
The index over them is the database's own: on PostgreSQL `search_vector` (a tsvector, 'simple' config,
GIN-indexed, questions weighted A, answer D); on SQLite the FTS5 table `knowledge_fts` (rowid = entry id),
which is no model: `FTS_TABLES` names it so schema comparison leaves it alone.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base
from app.models.portal import StoredFile

SEARCH_VECTOR = Text().with_variant(postgresql.TSVECTOR(), "postgresql")
FTS_TABLE = "knowledge_fts"
# The FTS5 table and the shadow tables SQLite keeps for it.
FTS_TABLES = frozenset({FTS_TABLE, *(f"{FTS_TABLE}_{s}" for s in ("data", "idx", "content", "docsize", "config"))})


class KnowledgeEntry(Base):
    """One answer: the questions as people ask them, the answer read aloud, who owns it, where and when it holds."""

    __tablename__ = "knowledge_entry"
    __table_args__ = (Index("ix_knowledge_entry_search_vector", "search_vector", postgresql_using="gin"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    questions: Mapped[list[Any]]  # the phrasings, as typed
    answer: Mapped[str] = mapped_column(Text)  # plain text: what the agent reads aloud, the SMS, the index
    answer_html: Mapped[str] = mapped_column(Text, default="", server_default="")  # the rich answer, sanitised
    category: Mapped[str | None] = mapped_column(String(80), index=True)  # a dictionary `category` code
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)  # the owning unit
    area_unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))  # district/street; None = citywide
    legal_basis: Mapped[str] = mapped_column(Text, default="")
    keywords: Mapped[str] = mapped_column(String(500), default="")
    internal_note: Mapped[str] = mapped_column(Text, default="")  # for staff only, never on the portal
    valid_from: Mapped[date | None]
    valid_until: Mapped[date | None]
    state: Mapped[str] = mapped_column(String(20), index=True)  # app.domain.knowledge.STATES
    use_count: Mapped[int] = mapped_column(default=0)
    reviewed_at: Mapped[datetime | None]  # published or confirmed last; the review date counts from here
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    question_tokens: Mapped[str] = mapped_column(Text, default="")
    answer_tokens: Mapped[str] = mapped_column(Text, default="")
    search_vector: Mapped[str | None] = mapped_column(SEARCH_VECTOR)


class KnowledgeUse(Base):
    """The entry that answered a case at intake (用此答复): 知识库命中 in the statistics."""

    __tablename__ = "knowledge_use"
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("knowledge_entry.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    used_at: Mapped[datetime] = mapped_column(index=True)


class KnowledgeFeedback(Base):
    """答复不准确: a desk's word to the owning unit that an entry needs correcting."""

    __tablename__ = "knowledge_feedback"
    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("knowledge_entry.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    note: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]


class KnowledgeAttachment(StoredFile, Base):
    """A file of an entry (a form, a map), checked as a case's are (INSTANCE_PATH/attachments/knowledge)."""

    __tablename__ = "knowledge_attachment"
    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("knowledge_entry.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))


class KnowledgeSynonym(Base):
    """A group of words that mean the same to a caller (居住证=暂住证); the first is the one indexed."""

    __tablename__ = "knowledge_synonym"
    id: Mapped[int] = mapped_column(primary_key=True)
    words: Mapped[str] = mapped_column(String(300))


class KnowledgeTerm(Base):
    """How many entries hold each search token (the row '' counts the entries): a search drops the tokens nearly
    every entry holds, so the index answers a few thousand rows at most, not the whole base."""

    __tablename__ = "knowledge_term"
    term: Mapped[str] = mapped_column(String(100), primary_key=True)
    entries: Mapped[int] = mapped_column(default=0)
