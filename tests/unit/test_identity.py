"""身份证号 and phone validation, and the masks for personal information."""

from datetime import date

import pytest

from app.domain.identity import (
    InvalidIdNumber,
    InvalidPhone,
    birth_date_of,
    id_number_check_char,
    is_service_number,
    normalise_id_number,
    normalise_phone,
)
from app.domain.masking import mask_address, mask_id_number, mask_name, mask_phone

# The worked examples printed in GB 11643-1999.
STANDARD_EXAMPLE_X = "11010519491231002X"
STANDARD_EXAMPLE_4 = "440524188001010014"


def test_the_standards_worked_examples_are_valid() -> None:
    assert normalise_id_number(STANDARD_EXAMPLE_X) == STANDARD_EXAMPLE_X
    assert normalise_id_number(STANDARD_EXAMPLE_4) == STANDARD_EXAMPLE_4
    assert id_number_check_char("11010519491231002") == "X"


def test_full_width_digits_a_lower_case_x_and_spaces_are_normalised() -> None:
    assert normalise_id_number(" １１０１０５ １９４９１２３１ ００２ｘ ") == STANDARD_EXAMPLE_X
    assert normalise_id_number("11010519491231002x") == STANDARD_EXAMPLE_X
    assert normalise_id_number("11010519491231002Ｘ") == STANDARD_EXAMPLE_X


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "身份证号不能为空"),
        ("110105194912310", "身份证号应为18位，当前为15位"),
        ("11010519491231002Y", "身份证号前17位应为数字，最后一位应为数字或X"),
        ("1101051949123X0021", "身份证号前17位应为数字，最后一位应为数字或X"),
        ("110105194902300021", "身份证号中的出生日期无效"),  # 2-30
        ("110105194912310021", "身份证号校验位错误"),
    ],
)
def test_an_invalid_id_number_is_refused_with_a_chinese_message(text: str, message: str) -> None:
    with pytest.raises(InvalidIdNumber, match=f"^{message}$"):
        normalise_id_number(text)


def test_a_birth_date_after_today_is_refused_when_today_is_given() -> None:
    first17 = "11010520300101001"
    future = first17 + id_number_check_char(first17)
    assert normalise_id_number(future) == future
    with pytest.raises(InvalidIdNumber, match="出生日期无效"):
        normalise_id_number(future, today=date(2026, 11, 25))


def test_the_birth_date_is_read_from_the_id_number() -> None:
    assert birth_date_of(STANDARD_EXAMPLE_X) == date(1949, 12, 31)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("13812345678", "13812345678"),
        ("138 1234 5678", "13812345678"),
        ("138-1234-5678", "13812345678"),
        ("１３８１２３４５６７８", "13812345678"),
        ("+8613812345678", "13812345678"),
        ("+86 138 1234 5678", "13812345678"),
        ("008613812345678", "13812345678"),
        ("010-62345678", "010-62345678"),
        ("01062345678", "010-62345678"),
        ("0531-86012345", "0531-86012345"),
        ("05318601234", "0531-8601234"),
        ("０５３１－８６０１２３４５", "0531-86012345"),
        ("010-62345678-801", "010-62345678-801"),
        ("+86 10 6234 5678", "010-62345678"),
        ("+86-531-86012345", "0531-86012345"),
        # an area code in brackets, as hotlines write it (issue 9 item 4): normalised, not refused
        ("(010)62345678", "010-62345678"),
        ("（0531）87654321", "0531-87654321"),
        ("(010) 6234-5678", "010-62345678"),
        ("(0531)8765-4321-12", "0531-87654321-12"),
        # service numbers (FAULT-TABLE row 23): accepted, written as their digits (400/800 grouped)
        ("95588", "95588"),
        ("96777", "96777"),
        ("400-123-4567", "400-123-4567"),
        ("800 123 4567", "800-123-4567"),
        ("４００１２３４５６７", "400-123-4567"),
    ],
)
def test_mobiles_and_landlines_are_normalised(text: str, expected: str) -> None:
    assert normalise_phone(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "电话号码不能为空"),
        ("1381234567", "手机号码应为以1开头的11位数字"),
        ("12812345678", "手机号码应为以1开头的11位数字"),
        ("62345678", "固定电话应为区号加7至8位号码"),
        ("010-623456", "固定电话应为区号加7至8位号码"),
        ("(010)6234abcd", "电话号码只能包含数字和“-”"),
        ("12345", "手机号码应为以1开头的11位数字"),  # a hotline's short number is no requester's phone
        ("9558", "服务号码应为95/96开头的5至8位,或400/800开头的10位"),
        ("400-123-456", "服务号码应为95/96开头的5至8位,或400/800开头的10位"),
        ("138abcd5678", "电话号码只能包含数字和“-”"),
    ],
)
def test_an_invalid_phone_is_refused_with_a_chinese_message(text: str, message: str) -> None:
    with pytest.raises(InvalidPhone, match=message):
        normalise_phone(text)


def test_service_numbers_are_told_apart_from_personal_phones() -> None:
    assert is_service_number("95588") and is_service_number("400-123-4567") and is_service_number("96777")
    assert not is_service_number("13812345678") and not is_service_number("010-62345678")


def test_a_mobile_is_masked_in_the_middle() -> None:
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("+86 138 1234 5678") == "138****5678"


def test_a_landline_keeps_its_area_code_and_last_digits() -> None:
    assert mask_phone("010-62345678") == "010-****5678"
    assert mask_phone("0531-8601234") == "0531-****234"
    assert mask_phone("010-62345678-801") == "010-****5678"


def test_an_unparseable_phone_is_still_masked() -> None:
    assert mask_phone("62345678") == "******78"
    assert mask_phone("123") == "****23"
    assert mask_phone("") == ""


def test_an_id_number_keeps_the_first_six_and_last_four() -> None:
    assert mask_id_number("11010519491231002X") == "110105********002X"
    assert mask_id_number("110101199001011234") == "110101********1234"


def test_a_name_keeps_only_its_first_character() -> None:
    assert mask_name("张三丰") == "张**"
    assert mask_name("张三") == "张*"
    assert mask_name("张") == "*"


def test_an_address_keeps_its_first_six_characters() -> None:
    assert mask_address("北京市朝阳区建国路88号") == "北京市朝阳区****"
    assert mask_address("朝阳区") == "朝****"
