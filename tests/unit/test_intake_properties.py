"""Property tests (hypothesis) for the intake normalisers: 身份证号, phones, Unicode text, the validator."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.identity import (
    InvalidIdNumber,
    InvalidPhone,
    id_number_check_char,
    is_service_number,
    normalise_id_number,
    normalise_phone,
)
from app.domain.intake import IntakeDictionary, IntakeRefused, check_intake, text_fault

TODAY = date(2026, 11, 25)
FULL_WIDTH = {str(d): chr(0xFF10 + d) for d in range(10)} | {"X": "ｘ"}
DICTIONARY = IntakeDictionary(kinds={"complaint": "投诉", "report": "举报"}, channels={"phone": "电话"},
                              categories={"城乡建设": False, "城乡建设/供水": True})

area_codes = st.integers(110000, 659999).map(str)
birth_dates = st.dates(min_value=date(1900, 1, 1), max_value=TODAY)


@st.composite
def id_numbers(draw: st.DrawFn) -> str:
    """A valid 18-character ID number: area, birth date, sequence, GB 11643 check character."""
    first17 = draw(area_codes) + draw(birth_dates).strftime("%Y%m%d") + f"{draw(st.integers(0, 999)):03d}"
    return first17 + id_number_check_char(first17)


@given(id_numbers())
def test_a_valid_id_number_passes_and_round_trips_through_full_width_and_lower_x(id_number: str) -> None:
    assert normalise_id_number(id_number, today=TODAY) == id_number
    typed = "".join(FULL_WIDTH[c] for c in id_number)
    assert normalise_id_number(typed, today=TODAY) == id_number
    assert normalise_id_number(id_number.lower(), today=TODAY) == id_number


@given(id_numbers(), st.integers(0, 17), st.integers(1, 9))
def test_any_single_digit_change_fails(id_number: str, position: int, shift: int) -> None:
    """GB 11643's MOD 11-2 catches every single-character substitution (the date check may catch it first)."""
    old = id_number[position]
    alphabet = "0123456789X" if position == 17 else "0123456789"
    new = alphabet[(alphabet.index(old) + shift) % len(alphabet)]
    changed = id_number[:position] + new + id_number[position + 1:]
    with pytest.raises(InvalidIdNumber):
        normalise_id_number(changed, today=TODAY)


@given(id_numbers(), st.integers(1, 3000))
def test_a_birth_date_after_today_is_refused(id_number: str, days: int) -> None:
    born = TODAY + timedelta(days=days)
    first17 = id_number[:6] + born.strftime("%Y%m%d") + id_number[14:17]
    with pytest.raises(InvalidIdNumber, match="出生日期无效"):
        normalise_id_number(first17 + id_number_check_char(first17), today=TODAY)


mobiles = st.builds(lambda second, rest: f"1{second}{rest:09d}", st.sampled_from("3456789"),
                    st.integers(0, 10**9 - 1))
separators = st.sampled_from(["", " ", "-", "\u3000"])


@given(mobiles, separators, st.sampled_from(["", "+86", "0086", "+86 "]), st.booleans())
def test_a_mobile_however_written_normalises_to_its_11_digits(mobile: str, sep: str, prefix: str,
                                                              full_width: bool) -> None:
    typed = prefix + sep.join([mobile[:3], mobile[3:7], mobile[7:]])
    if full_width:
        typed = "".join(FULL_WIDTH.get(c, c) for c in typed)
    assert normalise_phone(typed) == mobile
    assert not is_service_number(mobile)


@given(st.sampled_from(["010", "021", "0531", "0755"]), st.integers(2, 9), st.integers(0, 10**6 - 1),
       st.sampled_from(["{a}-{n}", "({a}){n}", "（{a}）{n}", "{a} {n}", "({a}) {n}"]))
def test_a_landline_however_written_normalises_to_area_dash_number(area: str, first: int, rest: int,
                                                                   shape: str) -> None:
    number = f"{first}{rest:06d}" + ("1" if len(area) == 3 else "")  # 8 digits after 3-digit codes, else 7
    assert normalise_phone(shape.format(a=area, n=number)) == f"{area}-{number}"


@given(st.text())
def test_the_phone_normaliser_answers_a_number_or_a_chinese_refusal_never_a_crash(typed: str) -> None:
    try:
        result = normalise_phone(typed)
    except InvalidPhone as e:
        assert any("\u4e00" <= c <= "\u9fff" for c in str(e))
    else:
        assert normalise_phone(result) == result  # normalising twice changes nothing


storable = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), min_size=1)


@given(storable)
def test_any_text_without_nul_or_surrogates_is_storable_and_kept_as_typed(text: str) -> None:
    assert text_fault(text) is None
    raw = {"kind": "complaint", "channel": "phone", "subject": "标题", "content": "x" + text + "x",
           "requester": {"name": "张三"}}
    assert check_intake(raw, DICTIONARY, TODAY).content == "x" + text + "x"


@given(st.text(max_size=20), st.sampled_from(["\x00", "\ud800", "\udfff", "\udbff"]), st.text(max_size=20))
def test_a_nul_or_a_lone_surrogate_anywhere_is_refused(before: str, bad: str, after: str) -> None:
    assert text_fault(before + bad + after) is not None
    raw = {"kind": "complaint", "channel": "phone", "subject": before + bad + after, "content": "x",
           "requester": {"name": "张三"}}
    with pytest.raises(IntakeRefused) as refused:
        check_intake(raw, DICTIONARY, TODAY)
    assert list(refused.value.errors) == ["subject"]


@settings(max_examples=100)
@given(st.dictionaries(st.text(max_size=12), st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=30),
                                                       st.lists(st.integers(), max_size=3)), max_size=8))
def test_the_validator_answers_any_input_with_a_case_or_chinese_field_errors(raw: dict[str, object]) -> None:
    try:
        check_intake(raw, DICTIONARY, TODAY)
    except IntakeRefused as e:
        assert e.errors and all(any("\u4e00" <= c <= "\u9fff" for c in m) for m in e.errors.values())
