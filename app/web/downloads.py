"""Files sent to a browser (PDFs, exports): never stored by a cache, and named safely."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

from flask import Response, request

from app.services import tabular

_NOT_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def content_disposition(filename: str, *, attachment: bool = True) -> str:
    """`inline` or `attachment` with an ASCII `filename=` that never begins with `-` or `.` (a name a shell or
    a file manager would read as an option or a hidden file) and the full UTF-8 name in `filename*=`."""
    name = _CONTROL.sub("", filename).strip() or "download"
    ascii_name = _NOT_SAFE.sub("", unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode())
    ascii_name = ascii_name.lstrip("-.")
    stem, dot, ext = name.rpartition(".")
    if not ascii_name or ascii_name == ext:
        ascii_name = "download" + (dot + _NOT_SAFE.sub("", ext) if stem else "")
    kind = "attachment" if attachment else "inline"
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def file_response(data: bytes, mimetype: str, filename: str, *, attachment: bool = True) -> Response:
    """The bytes as a download: `Cache-Control: no-store`, since what we send carries personal data."""
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = content_disposition(filename, attachment=attachment)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def spreadsheet(data: bytes, stem: str, fmt: str) -> Response:
    """An export (CSV or XLSX, from app.services.tabular) as a download named `stem.fmt`."""
    mimetype = tabular.FORMATS[fmt] + ("; charset=utf-8" if fmt == "csv" else "")
    return file_response(data, mimetype, f"{stem}.{fmt}")


def uploaded(field: str = "file", pasted: str = "csv") -> tuple[bytes, str]:
    """An import's bytes and file name: the uploaded file, else the CSV text pasted into the form."""
    upload = request.files.get(field)
    if upload is not None and upload.filename:
        return upload.read(), upload.filename
    return request.form.get(pasted, "").encode("utf-8"), "粘贴的内容.csv"
