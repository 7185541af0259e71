"""Files attached to a case: stored under generated names in INSTANCE_PATH/attachments (never under the web
root, never under the sender's name), listed with the case, read only by whoever may read the case.

The content rules (images and PDFs only, by their bytes; images re-encoded without EXIF) are
`app.domain.uploads.check_upload`; `checked` applies them with the size cap of the settings.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.uploads import CheckedUpload, UploadRefused, check_upload
from app.errors import Invalid, NotFound
from app.models import Attachment, Case
from app.services import audit
from app.services.actors import Actor
from app.services.platform import Platform
from app.services.scope import find_case


@dataclass(frozen=True)
class Upload:
    """A file as it arrived (the web layer reads it; services never see Flask's FileStorage)."""

    filename: str
    data: bytes


def folder(platform: Platform) -> Path:
    return Path(platform.settings.INSTANCE_PATH) / "attachments"


def checked(platform: Platform, uploads: Sequence[Upload], field: str = "attachments") -> list[CheckedUpload]:
    """Every file checked by content and size; Invalid naming the first file at fault (nothing is stored)."""
    most = platform.settings.ATTACHMENT_MAX_FILES
    files = [u for u in uploads if u.filename or u.data]
    if len(files) > most:
        message = f"附件最多 {most} 个"
        raise Invalid(message, {field: message})
    result = []
    for upload in files:
        try:
            result.append(check_upload(upload.filename, upload.data, platform.settings.ATTACHMENT_MAX_BYTES))
        except UploadRefused as e:
            raise Invalid(str(e), {field: str(e)}) from e
    return result


def store(session: Session, platform: Platform, actor: Actor, case: Case, files: Sequence[CheckedUpload],
          source: str) -> list[Attachment]:
    """Write the files under generated names and add their rows, in the caller's transaction (audited)."""
    rows = []
    now = platform.clock.now()
    for f in files:
        name = f"{now:%Y%m}/{secrets.token_hex(16)}.{f.extension}"
        path = folder(platform) / name
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o750)
        path.write_bytes(f.data)
        row = Attachment(case_id=case.id, stored_name=name, filename=f.filename, content_type=f.content_type,
                         size=len(f.data), sha256=f.sha256, source=source, created_at=now)
        session.add(row)
        rows.append(row)
    if rows:
        session.flush()
        audit.record(session, platform, actor, "case.attachments_added", case_id=case.id,
                     detail={"attachments": [{"id": r.id, "filename": r.filename, "size": r.size,
                                              "content_type": r.content_type} for r in rows]})
    return rows


def listed(session: Session, case_id: int) -> list[dict[str, Any]]:
    """The case's attachments for a page or a document: id, name, type, size in KB."""
    rows = session.scalars(select(Attachment).where(Attachment.case_id == case_id).order_by(Attachment.id))
    return [{"id": r.id, "filename": r.filename, "content_type": r.content_type, "size": r.size,
             "size_label": f"{max(1, round(r.size / 1024))} KB", "is_image": r.content_type.startswith("image/")}
            for r in rows]


@dataclass(frozen=True)
class AttachmentFile:
    filename: str
    content_type: str
    data: bytes


def read(platform: Platform, actor: Actor, case_id: int, attachment_id: int) -> AttachmentFile:
    """One attachment for a reader of the case (scope: out of scope is 'not found'); the read is audited."""
    with platform.db.unit_of_work() as session:
        find_case(session, actor, case_id)
        row = session.get(Attachment, attachment_id)
        if row is None or row.case_id != case_id:
            raise NotFound("附件不存在")
        path = folder(platform) / row.stored_name
        if not path.is_file():
            raise NotFound("附件文件已不存在,请联系系统管理员")
        data = path.read_bytes()
        audit.record(session, platform, actor, "case.attachment_read", case_id=case_id,
                     detail={"attachment_id": row.id, "filename": row.filename})
        session.commit()
        return AttachmentFile(filename=row.filename, content_type=row.content_type, data=data)
