"""The working calendar: official entries, weekday defaults, and refusing unconfirmed years."""

from datetime import date

import pytest

from app.domain.calendar import CalendarDay, CalendarYearMissing, WorkCalendar, official_calendar_entries


@pytest.fixture(scope="module")
def calendar_2026() -> WorkCalendar:
    """The real 2026 State Council calendar, as the lead will load it from the calendar_day table."""
    return WorkCalendar(official_calendar_entries(2026), confirmed_years={2026})


def test_weekdays_work_and_weekends_rest_unless_an_entry_says_otherwise() -> None:
    calendar = WorkCalendar([], confirmed_years={2026})
    assert calendar.is_working_day(date(2026, 3, 2))  # Monday
    assert calendar.is_rest_day(date(2026, 3, 7))  # Saturday
    assert calendar.is_rest_day(date(2026, 3, 8))  # Sunday


def test_an_explicit_entry_overrides_the_weekday_default() -> None:
    calendar = WorkCalendar(
        [CalendarDay(date(2026, 3, 2), False, "市级假日"), CalendarDay(date(2026, 3, 7), True, "调休上班")],
        confirmed_years={2026},
    )
    assert calendar.is_rest_day(date(2026, 3, 2))
    assert calendar.is_working_day(date(2026, 3, 7))
    assert calendar.note(date(2026, 3, 7)) == "调休上班"
    assert calendar.note(date(2026, 3, 3)) is None


def test_official_2026_entries_name_national_day_and_its_adjusted_workdays() -> None:
    entries = {entry.day: entry for entry in official_calendar_entries(2026)}
    assert entries[date(2026, 10, 1)] == CalendarDay(date(2026, 10, 1), False, "国庆节")
    assert entries[date(2026, 10, 10)] == CalendarDay(date(2026, 10, 10), True, "国庆节调休上班")
    assert entries[date(2026, 2, 14)] == CalendarDay(date(2026, 2, 14), True, "春节调休上班")
    assert date(2026, 3, 2) not in entries
    assert all(day.year == 2026 for day in entries)


def test_official_entries_for_a_year_the_package_does_not_know_raise() -> None:
    with pytest.raises(CalendarYearMissing) as caught:
        official_calendar_entries(2027)
    assert caught.value.year == 2027
    assert "2027 年的工作日历尚未确认" in str(caught.value)
    assert "has not been confirmed" in str(caught.value)


def test_a_date_in_an_unconfirmed_year_raises_instead_of_guessing() -> None:
    calendar = WorkCalendar([], confirmed_years={2026})
    with pytest.raises(CalendarYearMissing) as caught:
        calendar.is_working_day(date(2027, 1, 4))
    assert caught.value.year == 2027


def test_counting_past_the_last_confirmed_day_raises(calendar_2026: WorkCalendar) -> None:
    with pytest.raises(CalendarYearMissing):
        calendar_2026.add_working_days(date(2026, 12, 30), 3)


def test_the_next_working_day_after_national_day_eve_is_the_eighth(calendar_2026: WorkCalendar) -> None:
    assert calendar_2026.next_working_day(date(2026, 9, 30)) == date(2026, 10, 8)
    assert calendar_2026.previous_working_day(date(2026, 10, 8)) == date(2026, 9, 30)


def test_an_adjusted_saturday_is_a_working_day(calendar_2026: WorkCalendar) -> None:
    assert date(2026, 10, 10).weekday() == 5
    assert calendar_2026.is_working_day(date(2026, 10, 10))
    assert calendar_2026.working_day_on_or_after(date(2026, 10, 10)) == date(2026, 10, 10)


def test_adding_working_days_excludes_the_start_day(calendar_2026: WorkCalendar) -> None:
    assert calendar_2026.add_working_days(date(2026, 3, 2), 0) == date(2026, 3, 2)
    assert calendar_2026.add_working_days(date(2026, 3, 2), 1) == date(2026, 3, 3)
    assert calendar_2026.add_working_days(date(2026, 3, 6), 1) == date(2026, 3, 9)  # Friday → Monday
    assert calendar_2026.add_working_days(date(2026, 9, 30), 1) == date(2026, 10, 8)


def test_adding_a_negative_number_of_working_days_is_refused(calendar_2026: WorkCalendar) -> None:
    with pytest.raises(ValueError):
        calendar_2026.add_working_days(date(2026, 3, 2), -1)


def test_working_days_between_counts_the_end_but_not_the_start(calendar_2026: WorkCalendar) -> None:
    assert calendar_2026.working_days_between(date(2026, 9, 28), date(2026, 10, 10)) == 5
    assert calendar_2026.working_days_between(date(2026, 3, 2), date(2026, 3, 2)) == 0


def test_a_local_holiday_is_a_rest_day_inside_its_region_only(calendar_2026: WorkCalendar) -> None:
    eid = date(2026, 5, 27)  # a Wednesday
    county, other = 7, 8
    calendar = WorkCalendar(official_calendar_entries(2026), {2026}, [(county, CalendarDay(eid, False, "古尔邦节"))])
    assert calendar.is_working_day(eid) and calendar.for_region([1, other]) is calendar
    local = calendar.for_region([1, county, 12])  # a street below the county keeps it too
    assert local.is_rest_day(eid) and local.note(eid) == "古尔邦节"
    assert local.add_working_days(date(2026, 5, 26), 1) == date(2026, 5, 28)
    assert calendar.add_working_days(date(2026, 5, 26), 1) == eid
    saturday_work = date(2026, 2, 28)  # a 调休 Saturday of 2026: a local festival on it still rests
    assert calendar_2026.is_working_day(saturday_work)
    on_it = WorkCalendar(official_calendar_entries(2026), {2026}, [(county, CalendarDay(saturday_work, False, "节"))])
    assert on_it.for_region([county]).is_rest_day(saturday_work)


def test_a_previewed_year_or_local_change_leaves_the_calendar_as_it_was() -> None:
    calendar = WorkCalendar([CalendarDay(date(2026, 1, 1), False, "元旦")], {2026},
                            [(7, CalendarDay(date(2026, 5, 27), False, "古尔邦节"))])
    with pytest.raises(CalendarYearMissing):
        calendar.is_working_day(date(2027, 1, 4))
    next_year = calendar.with_year(2027, [CalendarDay(date(2027, 1, 4), False, "测试")])
    assert next_year.is_rest_day(date(2027, 1, 4)) and next_year.is_rest_day(date(2026, 1, 1))
    assert next_year.for_region([7]).is_rest_day(date(2026, 5, 27))
    assert 2027 not in calendar.confirmed_years
    cleared = calendar.with_local(7, None)
    assert cleared.regions == frozenset() and calendar.regions == {7}
    moved = calendar.with_local(7, {date(2026, 5, 28): "古尔邦节"})
    assert moved.for_region([7]).is_working_day(date(2026, 5, 27)) and moved.for_region([7]).is_rest_day(
        date(2026, 5, 28))
