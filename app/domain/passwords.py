"""The password policy, as a plain function of the candidate and the configured limits."""

from __future__ import annotations

import string
from collections.abc import Iterable


class WeakPassword(ValueError):
    """The password breaks the policy; the message says how, in Chinese."""


def check_password_policy(password: str, *, min_length: int = 8, min_classes: int = 3,
                          staff_no: str = "", known: Iterable[str] = ()) -> None:
    """Require the length and character classes the settings ask for, not the 工号 itself, and none of the
    `known` published passwords (the demo default printed in the README), whatever their case."""
    if any(k and password.casefold() == k.casefold() for k in known):
        raise WeakPassword("不能使用演示或公开的默认密码")
    if len(password) < min_length:
        raise WeakPassword(f"密码至少需要{min_length}位")
    classes = sum((
        any(c in string.ascii_lowercase for c in password),
        any(c in string.ascii_uppercase for c in password),
        any(c in string.digits for c in password),
        any(not c.isalnum() for c in password),
    ))
    if classes < min_classes:
        raise WeakPassword(f"密码需包含小写字母、大写字母、数字、符号中的至少{min_classes}类")
    if staff_no and staff_no.lower() in password.lower():
        raise WeakPassword("密码不能包含工号")
