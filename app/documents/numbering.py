"""文号: '市热线转〔2026〕第123号' — issuing unit's short name, kind prefix, year, serial per unit per year."""

from __future__ import annotations

import re

from app.documents.kinds import DocumentKind

# Words an official short name (简称) leaves out: the hotline number and the organisational suffix.
_DROP = re.compile(r"\d+")
_SUFFIXES = ("办公室", "委员会", "中心", "局")


def counter_name(kind: DocumentKind, unit_id: int, year: int) -> str:
    """The gap-free counter a document number is drawn from: one per kind, issuing unit and year."""
    return f"doc:{kind.key}:{unit_id}:{year}"


def format_number(unit_short_name: str, kind: DocumentKind, year: int, serial: int) -> str:
    """The printed 文号, with the 六角括号 〔〕 the official style requires around the year."""
    return f"{unit_short_name}{kind.prefix}〔{year}〕第{serial}号"


def short_name(unit_name: str) -> str:
    """A unit's 简称 for the 文号: '市12345热线中心' → '市热线', '市城管局' → '市城管', '东城区' unchanged.

    A stopgap until units carry an administrator-entered short name (see docs/documents.md).
    """
    name = _DROP.sub("", unit_name).strip()
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name or unit_name
