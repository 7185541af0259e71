"""A city's first load over the API: the dictionary, the unit tree and the accounts, imported from and
exported to CSV or XLSX (multipart `file`), by the same services as the admin pages."""

from __future__ import annotations

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from app.errors import Invalid
from app.services import dictionary_admin, units, users
from app.web.api import bp
from app.web.context import current_actor, platform
from app.web.downloads import spreadsheet


def _file() -> tuple[bytes, str]:
    """The uploaded `file` (multipart); none is an empty file, which the service refuses after its own check."""
    upload = request.files.get("file")
    return (upload.read(), upload.filename or "") if upload is not None else (b"", "")


def _format() -> str:
    fmt = request.args.get("format") or "csv"
    if fmt not in ("csv", "xlsx"):
        raise Invalid("导出格式只能是 csv 或 xlsx", {"format": "只能是 csv 或 xlsx"})
    return fmt


@bp.post("/dictionary/import")
def import_dictionary() -> ResponseReturnValue:
    actor = current_actor()
    return jsonify(dictionary_admin.import_catalogue(platform(), actor, *_file()))


@bp.get("/dictionary/export")
def export_dictionary() -> ResponseReturnValue:
    actor, fmt = current_actor(), _format()
    kind = request.args.get("kind") or None
    if kind is not None and kind not in dictionary_admin.KINDS:
        raise Invalid("字典类别无效", {"kind": f"字典类别无效:{kind[:30]}"})
    return spreadsheet(dictionary_admin.export(platform(), actor, kind, fmt), f"dictionary-{kind or 'all'}", fmt)


@bp.post("/units/import")
def import_units() -> ResponseReturnValue:
    actor = current_actor()
    return jsonify(units.import_units(platform(), actor, *_file()))


@bp.get("/units/export")
def export_units() -> ResponseReturnValue:
    actor, fmt = current_actor(), _format()
    return spreadsheet(units.export_units(platform(), actor, fmt), "units", fmt)


@bp.post("/users/import")
def import_users() -> ResponseReturnValue:
    """New accounts answer their one-time passwords here, once; they are stored only as hashes."""
    actor = current_actor()
    done = users.import_users(platform(), actor, *_file())
    return jsonify(rows=done.rows, changed=done.changed, unchanged=done.unchanged,
                   created=[{"staff_no": s, "one_time_password": p} for s, p in done.issued.items()])


@bp.get("/users/export")
def export_users() -> ResponseReturnValue:
    actor, fmt = current_actor(), _format()
    return spreadsheet(users.export_users(platform(), actor, fmt), "users", fmt)
