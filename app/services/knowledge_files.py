"""An entry's attachments (a form to fill in, a map): checked as a case's are (`attachments.checked`: images and
PDFs by their bytes, the size cap, images re-encoded without EXIF), stored under generated names in
INSTANCE_PATH/attachments/knowledge (never under the web root, never under the sender's name).

Staff read them where they may read the entry; the portal serves those of a published entry in force only.
Adding or removing one is an edit: audited, and an editor's change to a published entry sends it back to 待审核.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain import knowledge as rules
from app.errors import Invalid, NotFound, NotPermitted
from app.models import KnowledgeAttachment, KnowledgeEntry
from app.services import attachments, audit, knowledge
from app.services.actors import Actor, require
from app.services.attachments import AttachmentFile, Upload
from app.services.platform import Platform

MAX_FILES = 10  # on one entry, all uploads together


def listed(session: Session, entry_id: int) -> list[dict[str, Any]]:
    """The entry's attachments for its page: id, name, type, size in KB."""
    rows = session.scalars(select(KnowledgeAttachment).where(KnowledgeAttachment.entry_id == entry_id)
                           .order_by(KnowledgeAttachment.id))
    return [{"id": r.id, "filename": r.filename, "content_type": r.content_type, "size": r.size,
             "size_label": f"{max(1, round(r.size / 1024))} KB", "is_image": r.content_type.startswith("image/")}
            for r in rows]


def _editable(session: Session, actor: Actor, entry_id: int) -> KnowledgeEntry:
    require(actor, "knowledge.edit")
    entry = knowledge.find_entry(session, actor, entry_id)
    if not knowledge.may_edit(session, actor, entry):
        raise NotPermitted("只能维护本单位的知识条目")
    return entry


def _edited(platform: Platform, actor: Actor, entry: KnowledgeEntry) -> None:
    """As any edit: an editor's change to a published entry sends it to review again."""
    if entry.state == rules.PUBLISHED and not actor.can("knowledge.review"):
        entry.state = rules.PENDING
    entry.updated_at = platform.clock.now()


def add_files(platform: Platform, actor: Actor, entry_id: int, uploads: Sequence[Upload]) -> dict[str, Any]:
    """附件 for an entry: every file checked first (nothing stored if one is refused), then written and audited."""
    with platform.db.unit_of_work() as session:
        entry = _editable(session, actor, entry_id)
        files = attachments.checked(platform, uploads)
        if not files:
            message = "请选择要上传的附件(图片或 PDF)"
            raise Invalid(message, {"attachments": message})
        have = len(listed(session, entry.id))
        if have + len(files) > MAX_FILES:
            message = f"每个知识条目最多 {MAX_FILES} 个附件,已有 {have} 个"
            raise Invalid(message, {"attachments": message})
        now = platform.clock.now()
        rows = []
        for f in files:
            name = f"knowledge/{now:%Y%m}/{secrets.token_hex(16)}.{f.extension}"
            path = attachments.folder(platform) / name
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o750)
            path.write_bytes(f.data)
            rows.append(KnowledgeAttachment(entry_id=entry.id, stored_name=name, filename=f.filename,
                                            content_type=f.content_type, size=len(f.data), sha256=f.sha256,
                                            created_at=now, created_by_id=actor.user_id))
        session.add_all(rows)
        before = entry.state
        _edited(platform, actor, entry)
        session.flush()
        audit.record(session, platform, actor, "knowledge.attachments_added",
                     detail={"entry": entry.id, "state": [before, entry.state],
                             "attachments": [{"id": r.id, "filename": r.filename, "size": r.size,
                                              "content_type": r.content_type} for r in rows]})
        done = {"id": entry.id, "state": entry.state, "attachments": [r.id for r in rows]}
        session.commit()
        return done


def remove_file(platform: Platform, actor: Actor, entry_id: int, attachment_id: int) -> dict[str, Any]:
    """Take an attachment off an entry (its file is deleted after the commit). Audited."""
    with platform.db.unit_of_work() as session:
        entry = _editable(session, actor, entry_id)
        row = session.get(KnowledgeAttachment, attachment_id)
        if row is None or row.entry_id != entry.id:
            raise NotFound("附件不存在")
        path = attachments.folder(platform) / row.stored_name
        session.delete(row)
        before = entry.state
        _edited(platform, actor, entry)
        state = entry.state
        audit.record(session, platform, actor, "knowledge.attachment_removed",
                     detail={"entry": entry.id, "attachment": attachment_id, "filename": row.filename,
                             "state": [before, state]})
        session.commit()
    path.unlink(missing_ok=True)
    return {"id": entry_id, "state": state}


def _file(platform: Platform, row: KnowledgeAttachment | None, entry_id: int) -> AttachmentFile:
    if row is None or row.entry_id != entry_id:
        raise NotFound("附件不存在")
    path = attachments.folder(platform) / row.stored_name
    if not path.is_file():
        raise NotFound("附件文件已不存在,请联系系统管理员")
    return AttachmentFile(filename=row.filename, content_type=row.content_type, data=path.read_bytes())


def read_file(platform: Platform, actor: Actor, entry_id: int, attachment_id: int) -> AttachmentFile:
    """An attachment for staff who may read the entry (a draft of another unit is 'not found')."""
    require(actor, "knowledge.read")
    with platform.db.reading() as session:
        entry = knowledge.find_entry(session, actor, entry_id)
        return _file(platform, session.get(KnowledgeAttachment, attachment_id), entry.id)


def public_file(platform: Platform, entry_id: int, attachment_id: int) -> AttachmentFile:
    """An attachment on the portal: only of a published entry in force, else 'not found'."""
    with platform.db.reading() as session:
        entry = session.get(KnowledgeEntry, entry_id)
        if entry is None or entry.state != rules.PUBLISHED or not rules.currently_valid(
                entry.valid_from, entry.valid_until, platform.clock.now().date()):
            raise NotFound("该问题不存在或已下线")
        return _file(platform, session.get(KnowledgeAttachment, attachment_id), entry.id)
