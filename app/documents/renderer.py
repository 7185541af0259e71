"""HTML templates to PDF behind one small interface; the renderer fetches nothing from anywhere.

User text reaches the PDF only through Jinja's autoescape, so it prints as text; and should markup ever
slip through, the URL fetcher refuses every URL (file://, http(s)://, even data:), so no local file
or network resource can be embedded. Fonts come from the system (fontconfig), not through URLs.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from weasyprint import HTML, URLFetcher

TEMPLATES = Path(__file__).parent / "templates"

log = logging.getLogger("huiyin.documents")


class PdfRenderer(Protocol):
    def render_pdf(self, template: str, context: Mapping[str, Any]) -> bytes: ...


def _environment() -> Environment:
    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined,
                       trim_blocks=True, lstrip_blocks=True)


class WeasyPrintRenderer:
    """Renders `templates/<template>.html` with WeasyPrint to A4 PDF, the CJK font embedded (subset)."""

    def __init__(self) -> None:
        self.env = _environment()

    def render_html(self, template: str, context: Mapping[str, Any]) -> str:
        return self.env.get_template(f"{template}.html").render(**context)

    def render_pdf(self, template: str, context: Mapping[str, Any]) -> bytes:
        return self.html_to_pdf(self.render_html(template, context))

    def html_to_pdf(self, html: str) -> bytes:
        """Any HTML to PDF with every URL refused; a refused URL is logged by WeasyPrint and skipped."""
        # A fresh fetcher per document: it keeps per-request state, and renders may run in parallel threads.
        fetcher = URLFetcher(allowed_protocols=frozenset(), allow_redirects=False, timeout=1)
        pdf = HTML(string=html, base_url=None, url_fetcher=fetcher).write_pdf()
        assert pdf is not None  # write_pdf without a target returns the bytes
        return pdf


_default: WeasyPrintRenderer | None = None


def default_renderer() -> WeasyPrintRenderer:
    global _default
    if _default is None:
        _default = WeasyPrintRenderer()
    return _default


def render_pdf(template: str, context: Mapping[str, Any]) -> bytes:
    """The PDF of one document template with the default renderer."""
    return default_renderer().render_pdf(template, context)
