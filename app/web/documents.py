"""Printed documents (办理转送单, 交办函, 督办通知单) as PDF downloads."""

from __future__ import annotations

from flask import Blueprint, Response

from app.documents import kind_for_slug
from app.errors import NotFound
from app.services import documents
from app.web.context import current_actor, platform
from app.web.downloads import file_response

bp = Blueprint("documents", __name__)


@bp.get("/cases/<int:case_id>/documents/<any('transfer-form', 'assignment-letter', 'supervision-notice'):slug>.pdf")
def download(case_id: int, slug: str) -> Response:
    """One document of a case, numbered on first issue; 404 unless the reader may see the case."""
    kind = kind_for_slug(slug)
    if kind is None:
        raise NotFound("文书类型不存在")
    doc = documents.document_pdf(platform(), current_actor(), case_id, kind.key)
    return file_response(doc.pdf, "application/pdf", doc.filename)
