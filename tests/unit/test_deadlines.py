"""Deadline rules: 民法典 period arithmetic on the real 2026 calendar, extensions, and the seed."""

from datetime import UTC, date, datetime, time, timedelta

import pytest

from app.domain.calendar import CalendarYearMissing, WorkCalendar, official_calendar_entries
from app.domain.deadlines import (
    CHINA_TIME,
    SEED_RULES,
    ExtensionRefused,
    InvalidDeadlineRule,
    TimeLimit,
    due_at,
    due_date,
    extended_due_date,
    hour_warn_at,
    seed_rule,
)


@pytest.fixture(scope="module")
def calendar_2026() -> WorkCalendar:
    """The real 2026 State Council calendar."""
    return WorkCalendar(official_calendar_entries(2026), confirmed_years={2026})


def test_notify_period_ending_on_national_day_rolls_to_the_first_working_day(
    calendar_2026: WorkCalendar,
) -> None:
    # 15 日 from 9-16 is 10-01 (国庆节); 10-01…10-07 are holidays.
    assert due_date(seed_rule("petition.notify"), date(2026, 9, 16), calendar_2026) == date(2026, 10, 8)


def test_handling_period_of_sixty_days_rolls_past_the_national_day_holiday(
    calendar_2026: WorkCalendar,
) -> None:
    # 60 日 from 8-03 is 10-02.
    assert due_date(seed_rule("petition.handle"), date(2026, 8, 3), calendar_2026) == date(2026, 10, 8)


def test_consultation_period_counts_the_adjusted_saturday_and_skips_spring_festival(
    calendar_2026: WorkCalendar,
) -> None:
    # 2-13 Fri, 2-14 Sat (调休), 2-15…2-23 春节, then 2-24, 2-25, 2-26.
    rule = seed_rule("hotline.consultation")
    assert due_date(rule, date(2026, 2, 12), calendar_2026) == date(2026, 2, 26)


def test_objection_period_ends_on_an_adjusted_saturday_workday(calendar_2026: WorkCalendar) -> None:
    # 9-29, 9-30, then 10-08, 10-09 and the 调休 Saturday 10-10, which does not roll.
    due = due_date(seed_rule("petition.objection"), date(2026, 9, 28), calendar_2026)
    assert due == date(2026, 10, 10)
    assert due.weekday() == 5


def test_a_calendar_day_period_ending_on_a_working_day_does_not_roll(calendar_2026: WorkCalendar) -> None:
    # 15 日 from 3-02 (Mon) is 3-17 (Tue).
    assert due_date(seed_rule("petition.forward"), date(2026, 3, 2), calendar_2026) == date(2026, 3, 17)


def test_a_calendar_day_period_ending_on_a_weekend_rolls_to_monday(calendar_2026: WorkCalendar) -> None:
    # 30 日 from 2-05 is 3-07 (Sat).
    assert due_date(seed_rule("petition.review_request"), date(2026, 2, 5), calendar_2026) == date(2026, 3, 9)


def test_a_rule_without_roll_forward_may_end_on_a_rest_day(calendar_2026: WorkCalendar) -> None:
    rule = TimeLimit(
        key="local.strict",
        name="严格时限",
        amount=15,
        unit="calendar_day",
        legal_basis="测试",
        roll_forward=False,
    )
    assert due_date(rule, date(2026, 9, 16), calendar_2026) == date(2026, 10, 1)


def test_counting_the_start_day_ends_one_day_earlier(calendar_2026: WorkCalendar) -> None:
    calendar_rule = TimeLimit(
        key="local.a", name="甲", amount=15, unit="calendar_day", legal_basis="测试", count_start_day=True
    )
    working_rule = TimeLimit(
        key="local.b", name="乙", amount=5, unit="working_day", legal_basis="测试", count_start_day=True
    )
    assert due_date(calendar_rule, date(2026, 3, 2), calendar_2026) == date(2026, 3, 16)
    assert due_date(working_rule, date(2026, 3, 2), calendar_2026) == date(2026, 3, 6)
    # A Saturday start is not a working day, so it cannot be day 1.
    assert due_date(working_rule, date(2026, 3, 7), calendar_2026) == date(2026, 3, 13)


def test_a_period_reaching_an_unconfirmed_year_raises(calendar_2026: WorkCalendar) -> None:
    with pytest.raises(CalendarYearMissing) as caught:
        due_date(seed_rule("petition.handle"), date(2026, 12, 1), calendar_2026)
    assert caught.value.year == 2027


def test_due_at_is_the_last_second_of_the_due_day(calendar_2026: WorkCalendar) -> None:
    start = datetime(2026, 9, 28, 16, 30)
    assert due_at(seed_rule("petition.objection"), start, calendar_2026) == datetime(2026, 10, 10, 23, 59, 59)


def test_due_at_reads_an_aware_start_in_china_time(calendar_2026: WorkCalendar) -> None:
    # 2026-02-12 17:00 UTC is already 2026-02-13 01:00 in Beijing, a Friday.
    start = datetime(2026, 2, 12, 17, 0, tzinfo=UTC)
    result = due_at(seed_rule("hotline.accept"), start, calendar_2026)
    assert result == datetime(2026, 2, 14, 23, 59, 59, tzinfo=CHINA_TIME)
    assert result.utcoffset() == timedelta(hours=8)


def test_handling_may_be_extended_by_up_to_thirty_days(calendar_2026: WorkCalendar) -> None:
    rule = seed_rule("petition.handle")
    # 10-08 + 30 日 = 11-07, a Saturday → Monday 11-09.
    assert extended_due_date(rule, date(2026, 10, 8), 30, calendar_2026) == date(2026, 11, 9)


def test_an_extension_over_the_maximum_is_refused(calendar_2026: WorkCalendar) -> None:
    with pytest.raises(ExtensionRefused, match="最多可延期 30日"):
        extended_due_date(seed_rule("petition.handle"), date(2026, 10, 8), 31, calendar_2026)


def test_earlier_extensions_count_towards_the_maximum(calendar_2026: WorkCalendar) -> None:
    rule = seed_rule("hotline.complaint")
    assert extended_due_date(rule, date(2026, 3, 2), 4, calendar_2026, already_extended=6) == date(2026, 3, 6)
    with pytest.raises(ExtensionRefused, match="还可延期 4个工作日"):
        extended_due_date(rule, date(2026, 3, 2), 5, calendar_2026, already_extended=6)


def test_a_rule_without_extension_refuses_any(calendar_2026: WorkCalendar) -> None:
    with pytest.raises(ExtensionRefused, match="不允许延期"):
        extended_due_date(seed_rule("petition.notify"), date(2026, 3, 2), 1, calendar_2026)


def test_a_rule_with_an_unknown_unit_is_rejected() -> None:
    with pytest.raises(InvalidDeadlineRule):
        TimeLimit(key="x", name="x", amount=5, unit="week", legal_basis="x")  # type: ignore[arg-type]


def test_the_seed_holds_the_limits_and_articles_of_domain_md() -> None:
    limits = {rule.key: (rule.amount, rule.unit, rule.max_extension) for rule in SEED_RULES}
    assert limits == {
        "petition.forward": (15, "calendar_day", 0),
        "petition.notify": (15, "calendar_day", 0),
        "petition.objection": (5, "working_day", 0),
        "petition.handle": (60, "calendar_day", 30),
        "petition.review_request": (30, "calendar_day", 0),
        "petition.review_decision": (30, "calendar_day", 0),
        "petition.re_review_request": (30, "calendar_day", 0),
        "petition.re_review_decision": (30, "calendar_day", 0),
        "hotline.accept": (1, "working_day", 0),
        "hotline.consultation": (5, "working_day", 10),
        "hotline.complaint": (15, "working_day", 10),
        "hotline.report": (30, "working_day", 10),
        "hotline.help": (5, "working_day", 10),
        "hotline.suggestion": (15, "working_day", 10),
        "hotline.praise": (5, "working_day", 10),
        "hotline.extension": (10, "working_day", 0),
        "hotline.return": (2, "working_day", 0),
        "hotline.centre_intake": (1, "working_day", 0),
        "centre.follow_up": (2, "working_day", 0),
        "approval.rejection": (2, "working_day", 0),
        "approval.return": (2, "working_day", 0),
        "approval.extension": (2, "working_day", 0),
    }
    counted = {rule.key: rule.counted_from for rule in SEED_RULES if rule.counted_from != "step_start"}
    assert counted == {"petition.notify": "registration", "hotline.centre_intake": "registration",
                       **{f"hotline.{k}": "sign_for" for k in ("consultation", "complaint", "report", "help",
                                                               "suggestion", "praise")}}
    assert "第二十二条" in seed_rule("petition.forward").legal_basis
    assert "第二十三条第三款" in seed_rule("petition.objection").legal_basis
    assert "第三十四条" in seed_rule("petition.handle").legal_basis
    assert "第三十五条" in seed_rule("petition.review_decision").legal_basis
    assert "第三十六条" in seed_rule("petition.re_review_request").legal_basis
    assert all(rule.name and rule.legal_basis for rule in SEED_RULES)
    assert seed_rule("petition.objection").label == "5个工作日"


EMERGENCY = TimeLimit(key="x.urgent", name="紧急", amount=2, unit="working_hour", legal_basis="种子")


@pytest.mark.parametrize(("start", "due"), [
    ("2026-12-03T10:00", "2026-12-03T12:00"),  # ends exactly as the morning closes, not after lunch
    ("2026-12-03T11:00", "2026-12-03T14:30"),  # across the lunch break
    ("2026-12-03T12:45", "2026-12-03T15:30"),  # begun during lunch: counted from 13:30
    ("2026-12-03T19:00", "2026-12-04T10:30"),  # begun after hours: counted from the next opening
    ("2026-12-04T17:00", "2026-12-07T10:00"),  # Friday evening: the weekend is not counted
    ("2026-02-13T16:30", "2026-02-14T09:30"),  # the 调休 Saturday 2026-02-14 is a working day
    ("2026-09-30T17:00", "2026-10-08T10:00"),  # 国庆节: 1–7 October are rest days
])
def test_working_hours_count_only_the_office_hours_of_working_days(calendar_2026: WorkCalendar, start: str,
                                                                     due: str) -> None:
    assert due_at(EMERGENCY, datetime.fromisoformat(start), calendar_2026) == datetime.fromisoformat(due)


def test_calendar_hours_run_through_nights_and_weekends(calendar_2026: WorkCalendar) -> None:
    rule = TimeLimit(key="x.same_day", name="当日", amount=24, unit="calendar_hour", legal_basis="种子")
    assert due_at(rule, datetime(2026, 12, 4, 17, 0), calendar_2026) == datetime(2026, 12, 5, 17, 0)
    aware = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)  # 17:00 in Beijing
    assert due_at(rule, aware, calendar_2026) == datetime(2026, 12, 5, 17, 0, tzinfo=CHINA_TIME)


def test_other_office_hours_move_a_working_hour_deadline(calendar_2026: WorkCalendar) -> None:
    shifts = ((time(9, 0), time(12, 0)), (time(14, 0), time(18, 0)))
    assert due_at(EMERGENCY, datetime(2026, 12, 3, 11, 0), calendar_2026, shifts) == datetime(2026, 12, 3, 15, 0)


def test_a_working_hour_item_turns_yellow_after_its_share_of_office_time(calendar_2026: WorkCalendar) -> None:
    start = datetime(2026, 12, 3, 11, 0)
    due = due_at(EMERGENCY, start, calendar_2026)
    # 80 % of 2 hours is 96 minutes of office time: 60 before lunch, 36 after.
    assert hour_warn_at(EMERGENCY, start, due, calendar_2026, 0.2) == datetime(2026, 12, 3, 14, 6)


def test_an_hour_rule_is_not_extended_and_has_no_due_day(calendar_2026: WorkCalendar) -> None:
    with pytest.raises(ExtensionRefused, match="按小时计"):
        extended_due_date(EMERGENCY, date(2026, 12, 3), 1, calendar_2026)
    with pytest.raises(InvalidDeadlineRule):
        due_date(EMERGENCY, date(2026, 12, 3), calendar_2026)


def test_working_hours_into_an_unconfirmed_year_are_refused(calendar_2026: WorkCalendar) -> None:
    with pytest.raises(CalendarYearMissing):
        due_at(EMERGENCY, datetime(2026, 12, 31, 17, 0), calendar_2026)


def test_a_rule_counted_from_an_unknown_moment_is_rejected() -> None:
    with pytest.raises(InvalidDeadlineRule, match="起算点"):
        TimeLimit(key="x", name="x", amount=1, unit="working_day", legal_basis="x",
                     counted_from="lunch")  # type: ignore[arg-type]
