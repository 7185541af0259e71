"""常见问题 on the public portal: /portal/faq (search the published entries), /portal/faq/<id>, and the JSON the
portal's submit form asks before a citizen files a consultation. Open without sign-in, so rate-limited per
address; only published entries in force are ever answered, and never their internal notes."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template, request
from flask.typing import ResponseReturnValue

from app.services import knowledge_desk, knowledge_files
from app.web.context import platform, rate_limited
from app.web.downloads import file_response

bp = Blueprint("portal_faq", __name__, url_prefix="/portal/faq")


@bp.get("")
@rate_limited()
def faq() -> ResponseReturnValue:
    q = request.args.get("q", "")[:200]
    return render_template("portal_faq.html", found=knowledge_desk.public_faq(platform(), q), q=q)


@bp.get("/<int:entry_id>")
@rate_limited()
def faq_entry(entry_id: int) -> ResponseReturnValue:
    return render_template("portal_faq_entry.html", e=knowledge_desk.public_entry(platform(), entry_id))


@bp.get("/<int:entry_id>/attachments/<int:attachment_id>")
@rate_limited()
def faq_attachment(entry_id: int, attachment_id: int) -> ResponseReturnValue:
    """An attachment of a published entry in force (a form, a map); 404 for any other."""
    found = knowledge_files.public_file(platform(), entry_id, attachment_id)
    return file_response(found.data, found.content_type, found.filename)


@bp.get("/suggest")
@rate_limited()
def faq_suggest() -> ResponseReturnValue:
    """JSON: the published entries that may already answer what the citizen is typing (`content`)."""
    return jsonify(knowledge_desk.public_suggest(platform(), request.args.get("content", "")[:2000]))
