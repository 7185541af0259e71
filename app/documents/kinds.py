"""The printed documents, three to units and six notices to the requester: identifier, title, 文号 prefix, slug."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DocumentKind:
    key: str  # glossary identifier, also the template name
    title: str  # printed title
    prefix: str  # the character in the 文号 after the issuing unit: 转 / 交 / 督
    slug: str  # in the URL: /cases/<id>/documents/<slug>.pdf
    needs_supervision: bool = False  # only printable once the case has been supervised
    needs_overdue: bool = False  # only printable once the escalation ladder issued it (a task overdue)
    to_requester: bool = False  # a written notice to the requester (one per case), not a form to a unit

    @property
    def template(self) -> str:
        return "requester_notice" if self.to_requester else self.key


KINDS: dict[str, DocumentKind] = {k.key: k for k in (
    DocumentKind("transfer_form", "办理转送单", "转", "transfer-form"),
    DocumentKind("assignment_letter", "交办函", "交", "assignment-letter"),
    DocumentKind("supervision_notice", "督办通知单", "督", "supervision-notice", needs_supervision=True),
    DocumentKind("acceptance_notice", "受理告知书", "受告", "acceptance-notice", to_requester=True),
    DocumentKind("rejection_notice", "不予受理告知书", "不受告", "rejection-notice", to_requester=True),
    DocumentKind("extension_notice", "延期告知书", "延告", "extension-notice", to_requester=True),
    DocumentKind("handling_opinion", "信访处理意见书", "处意", "handling-opinion", to_requester=True),
    DocumentKind("review_opinion", "复查意见书", "复查", "review-opinion", to_requester=True),
    DocumentKind("re_review_opinion", "复核意见书", "复核", "re-review-opinion", to_requester=True),
    DocumentKind("urge_notice", "催办通知书", "催", "urge-notice", needs_overdue=True),
)}
SLUGS = tuple(k.slug for k in KINDS.values())

_BY_SLUG = {k.slug: k for k in KINDS.values()}


def kind_for_slug(slug: str) -> DocumentKind | None:
    """The document kind a URL names, or None."""
    return _BY_SLUG.get(slug)
