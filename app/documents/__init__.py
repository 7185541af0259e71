"""Printed documents: 办理转送单, 交办函 and 督办通知单 as PDF.

kinds (what each document is: title, number prefix, URL slug) · numbering (文号 formatting, counter names,
the issuing unit's short name) · renderer (HTML templates → PDF behind `PdfRenderer`; fetches nothing)
· templates/ (Jinja, autoescaped). Issuing a number and reading the case live in
`app.services.documents`; this package holds no database code.
"""

from app.documents.kinds import KINDS, DocumentKind, kind_for_slug
from app.documents.numbering import counter_name, format_number, short_name
from app.documents.renderer import PdfRenderer, WeasyPrintRenderer, render_pdf

__all__ = ["KINDS", "DocumentKind", "PdfRenderer", "WeasyPrintRenderer", "counter_name", "format_number",
           "kind_for_slug", "render_pdf", "short_name"]
