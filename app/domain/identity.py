"""Validation and normalisation of a requester's 身份证号 and phone number.

Exceptions (both ``ValueError``, messages in Chinese for the user): ``InvalidIdNumber``,
``InvalidPhone``.
"""

from __future__ import annotations

import re
from datetime import date

__all__ = [
    "InvalidIdNumber",
    "InvalidPhone",
    "birth_date_of",
    "is_service_number",
    "id_number_check_char",
    "normalise_id_number",
    "normalise_phone",
]

# Full-width digits, letters X/x, plus, hyphen and the ideographic space, as typed with a Chinese IME.
_FULL_WIDTH = str.maketrans(
    {
        **{chr(0xFF10 + i): str(i) for i in range(10)},
        "Ｘ": "X",
        "ｘ": "X",
        "＋": "+",
        "－": "-",
        "（": "(",
        "）": ")",
        "\u3000": " ",
    }
)
# GB 11643-1999 / ISO 7064 MOD 11-2: weight of position i is 2**(17 - i) mod 11.
_WEIGHTS = tuple(2 ** (17 - i) % 11 for i in range(17))
_CHECK_CHARS = "10X98765432"
_ID_SHAPE = re.compile(r"\d{17}[\dX]")

_MOBILE = re.compile(r"1[3-9]\d{9}")
# 010 and 02x are three-digit area codes; every other area code has four digits.
_AREA_CODE = r"0(?:10|2\d|[3-9]\d{2})"
_LANDLINE = re.compile(rf"({_AREA_CODE})-?([2-9]\d{{6,7}})(?:-(\d{{1,6}}))?")
# An area code in brackets, as hotlines and letterheads write it: (010)62345678, （0531）87654321.
_BRACKETED_AREA = re.compile(r"\((0\d{2,3})\)-?(.*)")
# Service numbers reach a company or an office, never a person's handset: 95xxx(x) nationwide services,
# 96xxx local public services, 400/800 company numbers. (10xxx/12xxx short numbers are not a requester's.)
_SERVICE = re.compile(r"95\d{3,6}|96\d{3,4}|[48]00\d{7}")


class InvalidIdNumber(ValueError):
    """The text is not a valid 18-character resident ID number."""


class InvalidPhone(ValueError):
    """The text is not a mainland mobile, a landline with area code or a service number."""


def _clean(text: str) -> str:
    return "".join(text.translate(_FULL_WIDTH).split())


def id_number_check_char(first17: str) -> str:
    """The GB 11643 check character for the first 17 digits of an ID number."""
    total = sum(int(digit) * weight for digit, weight in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARS[total % 11]


def normalise_id_number(text: str, *, today: date | None = None) -> str:
    """The ID number in canonical form (ASCII, upper-case X, no spaces), or ``InvalidIdNumber``.

    With ``today`` given, a birth date after it is refused too.
    """
    value = _clean(text).upper()
    if not value:
        raise InvalidIdNumber("身份证号不能为空")
    if len(value) != 18:
        raise InvalidIdNumber(f"身份证号应为18位，当前为{len(value)}位")
    if not _ID_SHAPE.fullmatch(value):
        raise InvalidIdNumber("身份证号前17位应为数字，最后一位应为数字或X")
    born = _parse_birth_date(value)
    if born is None or born.year < 1800 or (today is not None and born > today):
        raise InvalidIdNumber("身份证号中的出生日期无效")
    if id_number_check_char(value[:17]) != value[17]:
        raise InvalidIdNumber("身份证号校验位错误")
    return value


def _parse_birth_date(value: str) -> date | None:
    try:
        return date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return None


def birth_date_of(id_number: str) -> date:
    """The birth date recorded in a valid ID number."""
    value = normalise_id_number(id_number)
    return date(int(value[6:10]), int(value[10:12]), int(value[12:14]))


def normalise_phone(text: str) -> str:
    """A mobile as 11 digits ('13812345678'), a landline as 'area-number[-ext]' ('010-62345678'), a
    service number as its digits ('95588', '96777') or, for 400/800, '400-123-4567'.

    Full-width characters and spaces are cleaned, an area code in brackets is taken as one, and a
    '+86' / '0086' prefix is dropped (a landline written after it without its leading 0, as in
    '+86 10 1234 5678', gets the 0 back).
    """
    value = _clean(text)
    if not value:
        raise InvalidPhone("电话号码不能为空")
    international = False
    for prefix in ("+86", "0086"):
        if value.startswith(prefix):
            value = value[len(prefix) :].lstrip("-")
            international = True
            break
    if (bracketed := _BRACKETED_AREA.fullmatch(value)) is not None:
        value = f"{bracketed.group(1)}-{_local_number(bracketed.group(2))}"
    if not re.fullmatch(r"[\d-]+", value):
        raise InvalidPhone("电话号码只能包含数字和“-”(区号可写在括号里)")
    digits = value.replace("-", "")
    if _MOBILE.fullmatch(digits):
        return digits
    if not international and _SERVICE.fullmatch(digits):
        return f"{digits[:3]}-{digits[3:6]}-{digits[6:]}" if digits[:3] in ("400", "800") else digits
    if digits[:3] in ("400", "800") or digits[:2] in ("95", "96"):
        raise InvalidPhone("服务号码应为95/96开头的5至8位,或400/800开头的10位,如 95588、400-123-4567")
    if international and not value.startswith("0"):
        value = "0" + value
    return _normalise_landline(value)


def _local_number(rest: str) -> str:
    """The number after a bracketed area code, its grouping dashes dropped ('6234-5678' → '62345678'),
    an extension kept ('6234-5678-801' → '62345678-801')."""
    parts = rest.split("-")
    for cut in (len(parts), len(parts) - 1):
        number = "".join(parts[:cut])
        if number.isdigit() and 7 <= len(number) <= 8:
            return "-".join([number, *parts[cut:]])
    return rest


def is_service_number(phone: str) -> bool:
    """Whether a normalised phone is a service number (95xxx, 400/800 …): it takes calls, not SMS."""
    return _SERVICE.fullmatch(phone.replace("-", "")) is not None


def _normalise_landline(value: str) -> str:
    match = _LANDLINE.fullmatch(value)
    if match is None:
        if value.startswith("1"):
            raise InvalidPhone("手机号码应为以1开头的11位数字")
        raise InvalidPhone("固定电话应为区号加7至8位号码，如 010-62345678 或 0531-86012345")
    area, number, extension = match.groups()
    return f"{area}-{number}-{extension}" if extension else f"{area}-{number}"
