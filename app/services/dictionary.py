"""The data dictionary: the words for every code (kinds, channels, categories, case statuses, reasons).

Python compares codes; pages, documents and the API show these words, which administrators may rename
at any time. Seeding adds missing codes and never touches a word an administrator has chosen.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import kept
from app.domain.statuses import DICTIONARY_KIND as STATUS_KIND
from app.errors import Invalid, NotFound, NotPermitted
from app.models import DictionaryEntry
from app.services import audit
from app.services.actors import Actor
from app.services.platform import Platform

MAX_LABEL = 100  # DictionaryEntry.label's length


class Entry(NamedTuple):
    id: int
    code: str
    label: str
    parent_id: int | None
    active: bool


def entries(session: Session, kind: str) -> list[Entry]:
    """Every entry of one list (retired ones too), in its order. The whole dictionary is read in one query
    when it changed (`kept`): a page, a registration and a run read no dictionary row otherwise."""
    return list(_lists(session).get(kind, ()))


def preload(session: Session, *kinds: str) -> None:
    """Make sure the lists a page is about to ask for are at hand (they all come with the dictionary)."""
    _lists(session)


def _lists(session: Session) -> dict[str, tuple[Entry, ...]]:
    return kept(session, "dictionary", lambda: _read(session))


def _read(session: Session) -> dict[str, tuple[Entry, ...]]:
    found: dict[str, list[Entry]] = {}
    rows = session.execute(select(DictionaryEntry.kind, DictionaryEntry.id, DictionaryEntry.code, DictionaryEntry.label,
                                  DictionaryEntry.parent_id, DictionaryEntry.active)
                           .order_by(DictionaryEntry.kind, DictionaryEntry.sort, DictionaryEntry.id))
    for kind, id_, code, words, parent_id, active in rows:
        found.setdefault(kind, []).append(Entry(id_, code, words, parent_id, active))
    return {kind: tuple(items) for kind, items in found.items()}


def labels(session: Session, kind: str, *, active_only: bool = True) -> dict[str, str]:
    """code → words of one dictionary list, in its order."""
    return {e.code: e.label for e in entries(session, kind) if e.active or not active_only}


def label(session: Session, kind: str, code: str | None) -> str:
    """The words for one code (retired entries too: old cases still carry them); the code if unknown."""
    if not code:
        return ""
    return labels(session, kind, active_only=False).get(code) or code


def status_labels(session: Session) -> dict[str, str]:
    """Every case status code → its words, in the dictionary's order (status filters list these)."""
    return labels(session, STATUS_KIND, active_only=False)


def status_label(session: Session, code: str | None) -> str:
    """The words users read for a case status code."""
    return label(session, STATUS_KIND, code)


def add_missing(session: Session, kind: str, items: dict[str, str], parent_id: int | None = None) -> int:
    """Add the entries of `items` (code → words) whose code the list lacks; answers how many were added."""
    known = set(session.scalars(select(DictionaryEntry.code).where(DictionaryEntry.kind == kind)))
    added = [DictionaryEntry(kind=kind, code=code, label=words, parent_id=parent_id, sort=i)
             for i, (code, words) in enumerate(items.items()) if code not in known]
    session.add_all(added)
    session.flush()
    return len(added)


def list_entries(platform: Platform, actor: Actor, kind: str) -> list[dict[str, Any]]:
    """One dictionary list as administrators edit it (any signed-in user may read the words)."""
    with platform.db.reading() as session:
        rows = session.scalars(select(DictionaryEntry).where(DictionaryEntry.kind == kind)
                               .order_by(DictionaryEntry.sort, DictionaryEntry.id)).all()
        if not rows:
            raise NotFound(f"数据字典中没有此类:{kind}")
        codes = {r.id: r.code for r in rows}
        return [{"code": r.code, "label": r.label, "parent": codes.get(r.parent_id) if r.parent_id else None,
                 "active": r.active, "sort": r.sort} for r in rows]


def rename(platform: Platform, actor: Actor, kind: str, code: str, words: str) -> dict[str, Any]:
    """Give a code new words; every page, document and API answer shows them at once. Audited."""
    if not actor.can("dictionary.edit"):
        raise NotPermitted("没有维护数据字典的权限")
    words = words.strip() if isinstance(words, str) else ""
    if not words or len(words) > MAX_LABEL:
        message = f"名称必填,且不超过 {MAX_LABEL} 个字"
        raise Invalid(message, {"label": message})
    with platform.db.unit_of_work() as session:
        row = session.scalar(select(DictionaryEntry).where(DictionaryEntry.kind == kind,
                                                           DictionaryEntry.code == code))
        if row is None:
            raise NotFound(f"数据字典条目不存在:{kind}/{code}")
        before, row.label = row.label, words
        audit.record(session, platform, actor, "dictionary.renamed",
                     detail={"kind": kind, "code": code, "before": before, "after": words})
        session.commit()
        return {"kind": kind, "code": code, "label": words}
