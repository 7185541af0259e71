"""The three printed documents: their glossary identifier, Chinese title, 文号 prefix and URL slug."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DocumentKind:
    key: str  # glossary identifier, also the template name
    title: str  # printed title
    prefix: str  # the character in the 文号 after the issuing unit: 转 / 交 / 督
    slug: str  # in the URL: /cases/<id>/documents/<slug>.pdf
    needs_supervision: bool = False  # only printable once the case has been supervised


KINDS: dict[str, DocumentKind] = {k.key: k for k in (
    DocumentKind("transfer_form", "办理转送单", "转", "transfer-form"),
    DocumentKind("assignment_letter", "交办函", "交", "assignment-letter"),
    DocumentKind("supervision_notice", "督办通知单", "督", "supervision-notice", needs_supervision=True),
)}

_BY_SLUG = {k.slug: k for k in KINDS.values()}


def kind_for_slug(slug: str) -> DocumentKind | None:
    """The document kind a URL names, or None."""
    return _BY_SLUG.get(slug)
