"""The two Open311 states from our status codes, and the digits starred out of text shown to the public."""

from __future__ import annotations

import pytest

from app.domain import statuses
from app.domain.masking import mask_digits_in_text


@pytest.mark.parametrize(("status", "state"), [
    (statuses.REGISTERED, "open"), (statuses.HANDLING, "open"), (statuses.REPLIED, "open"),
    (statuses.FOLLOW_UP, "open"), (statuses.REVIEWING, "open"), (statuses.CLOSED, "closed"),
    (statuses.ARCHIVED, "closed"), (statuses.REJECTED, "closed"), (statuses.TERMINATED, "closed"),
    ("已办结", "closed"), ("办理中", "open"),  # the words of definitions deployed before codes
])
def test_a_case_is_open_until_it_is_finished(status: str, state: str) -> None:
    assert statuses.open311_status(status) == state


@pytest.mark.parametrize(("text", "shown"), [
    ("请拨13812345678联系", "请拨***********联系"),
    ("身份证11010519491231002X", "身份证******************"),
    ("电话 138-1234-5678 王", "电话 ************* 王"),
    ("０１０-６２３４５６７８", "************"),
    ("3号楼2单元 100号 2026-11-25 停水", "3号楼2单元 100号 2026-11-25 停水"),
])
def test_phone_and_id_numbers_in_public_text_are_starred_out_but_not_house_numbers_or_dates(text: str,
                                                                                             shown: str) -> None:
    assert mask_digits_in_text(text) == shown
