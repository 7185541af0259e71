"""JSON API under /api/v1: bearer tokens only, errors as {code, message, details}.

schemas (marshmallow, Chinese messages) · access (tokens) · cases (the combined query too) · exports ·
duplicates (判重) · tasks · pauses · definitions · audit · openapi.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from app.web.api import (  # noqa: E402,F401  (routes register on bp)
    access,
    admin,
    audit,
    calls,
    cases,
    channel,
    definitions,
    dictionary,
    duplicates,
    exports,
    imports,
    knowledge,
    openapi,
    pauses,
    portal,
    reports,
    routing,
    supervision,
    tasks,
    units,
)
