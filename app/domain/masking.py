"""Masks for personal information shown to readers who need not see all of it (个人信息保护法).

Masking never raises: a value that does not parse is still masked, more heavily, so a bad legacy
value cannot leak on a list page.
"""

from __future__ import annotations

import re

from app.domain.identity import InvalidPhone, normalise_phone

__all__ = ["SENSITIVE_KINDS", "mask_address", "mask_digits_in_text", "mask_id_number", "mask_name", "mask_phone"]

STARS = "****"
SENSITIVE_KINDS = frozenset({"report"})  # 举报: the accuser's identity is protected (信访工作条例 art. 30 ¶3)


def _mask_tail(value: str, keep: int) -> str:
    """Everything but the last ``keep`` characters as '*' (at least four stars)."""
    hidden = max(len(value) - keep, 4)
    return "*" * hidden + value[-keep:] if keep else "*" * hidden


def mask_phone(phone: str) -> str:
    """'13812345678' → '138****5678'; '010-62345678' → '010-****5678' (extension dropped)."""
    if not phone.strip():
        return ""
    try:
        value = normalise_phone(phone)
    except InvalidPhone:
        return _mask_tail("".join(phone.split()), 2)
    if "-" not in value:
        return f"{value[:3]}{STARS}{value[-4:]}"
    area, number = value.split("-")[:2]
    keep = max(2, min(4, len(number) // 2))
    return f"{area}-{_mask_tail(number, keep)}"


def mask_id_number(id_number: str) -> str:
    """Keeps the first 6 and last 4 characters: '11010519491231002X' → '110105********002X'."""
    value = "".join(id_number.split()).upper()
    if not value:
        return ""
    if len(value) <= 10:
        return "*" * max(len(value), 4)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_name(name: str) -> str:
    """Keeps the first character: '张三丰' → '张**'; a one-character name becomes '*'."""
    value = name.strip()
    if len(value) <= 1:
        return "*" * len(value)
    return value[0] + "*" * (len(value) - 1)


def mask_address(address: str) -> str:
    """Keeps the first 6 characters then '****' ('北京市朝阳区建国路88号' → '北京市朝阳区****');
    an address of 6 characters or fewer keeps only its first half.
    """
    value = address.strip()
    if not value:
        return ""
    keep = 6 if len(value) > 6 else len(value) // 2
    return value[:keep] + STARS


# Seven or more digits in a row, allowing the spaces and dashes people type in numbers, and an ID number's
# check character: a phone, an ID or a bank account — not a house number, nor a date written 2026-11-25.
_NUMBER_RUN = re.compile(r"(?<![0-9０-９])[0-9０-９](?:[ \-－]?[0-9０-９]){5,}[0-9０-９Xx]")
_DATE = re.compile(r"[0-9０-９]{4}[\-－][0-9０-９]{1,2}[\-－][0-9０-９]{1,2}")


def mask_digits_in_text(text: str) -> str:
    """Free text with every phone-, ID- or account-like run of digits starred out (whatever its length), for
    text shown to the public (the Open311 description): '请拨13812345678' → '请拨***********'."""
    return _NUMBER_RUN.sub(lambda m: m.group(0) if _DATE.fullmatch(m.group(0)) else "*" * len(m.group(0)), text)
