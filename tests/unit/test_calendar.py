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
