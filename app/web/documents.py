"""Printed documents (办理转送单, 交办函, 督办通知单 and the six notices to the requester) as PDF downloads,
the 送达 of a notice recorded from the case page, and a case's attachments."""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue

from app.documents import kind_for_slug
from app.documents.kinds import SLUGS
from app.errors import NotFound
from app.services import attachments, documents, notices
from app.web.context import current_actor, platform
from app.web.downloads import file_response

bp = Blueprint("documents", __name__)


_SLUGS = ", ".join(f"'{slug}'" for slug in SLUGS)


@bp.get(f"/cases/<int:case_id>/documents/<any({_SLUGS}):slug>.pdf")
def download(case_id: int, slug: str) -> Response:
    """One document of a case, numbered on first issue; 404 unless the reader may see the case."""
    kind = kind_for_slug(slug)
    if kind is None:
        raise NotFound("文书类型不存在")
    doc = documents.document_pdf(platform(), current_actor(), case_id, kind.key)
    return file_response(doc.pdf, "application/pdf", doc.filename)


@bp.post("/cases/<int:case_id>/documents/<slug>/served")
def served(case_id: int, slug: str) -> ResponseReturnValue:
    """登记送达 from the case page: how the notice reached the requester (now)."""
    kind = kind_for_slug(slug)
    if kind is None:
        raise NotFound("文书类型不存在")
    notices.serve(platform(), current_actor(), case_id, kind.key, request.form.get("method", ""))
    flash(f"已登记{kind.title}送达。", "ok")
    return redirect(url_for("pages.case_page", case_id=case_id))


@bp.get("/cases/<int:case_id>/attachments/<int:attachment_id>")
def attachment(case_id: int, attachment_id: int) -> Response:
    """An attachment of the case, for whoever may read the case (404 otherwise); always a download."""
    found = attachments.read(platform(), current_actor(), case_id, attachment_id)
    return file_response(found.data, found.content_type, found.filename)
