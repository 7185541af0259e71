"""Property tests (hypothesis) for the working-day arithmetic every deadline stands on, over the real
2025–2026 State Council calendars (调休 Saturdays, the 7-day holidays)."""

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.calendar import CalendarYearMissing, WorkCalendar, official_calendar_entries

CALENDAR = WorkCalendar(official_calendar_entries(2025) + official_calendar_entries(2026), confirmed_years={2025, 2026})
DAYS = st.dates(min_value=date(2025, 1, 1), max_value=date(2026, 10, 31))
COUNTS = st.integers(min_value=0, max_value=40)  # 40 working days from 2026-10-31 still ends inside 2026


@settings(max_examples=300, deadline=None)
@given(start=DAYS, n=COUNTS)
def test_adding_n_working_days_lands_on_a_working_day_exactly_n_working_days_on(start: date, n: int) -> None:
    end = CALENDAR.add_working_days(start, n)
    assert end >= start
    assert CALENDAR.working_days_between(start, end) == n
    if n:
        assert CALENDAR.is_working_day(end)
        assert CALENDAR.working_days_between(start, end - timedelta(days=1)) == n - 1  # not a day later than needed


@settings(max_examples=300, deadline=None)
@given(start=DAYS, a=st.integers(0, 20), b=st.integers(0, 20))
def test_working_days_add_up_whatever_the_steps(start: date, a: int, b: int) -> None:
    """An extension of b days after a period of a days ends where a period of a + b days ends."""
    assert CALENDAR.add_working_days(CALENDAR.add_working_days(start, a), b) == CALENDAR.add_working_days(start, a + b)


@settings(max_examples=300, deadline=None)
@given(day=DAYS)
def test_the_roll_forward_never_moves_a_working_day_and_never_lands_on_a_rest_day(day: date) -> None:
    rolled = CALENDAR.working_day_on_or_after(day)
    assert CALENDAR.is_working_day(rolled)
    assert (rolled == day) == CALENDAR.is_working_day(day)
    assert all(CALENDAR.is_rest_day(day + timedelta(days=i)) for i in range((rolled - day).days))


@settings(max_examples=100, deadline=None)
@given(start=st.dates(min_value=date(2026, 11, 1), max_value=date(2026, 12, 31)), n=st.integers(60, 400))
def test_counting_into_an_unconfirmed_year_is_refused_not_guessed(start: date, n: int) -> None:
    try:
        end = CALENDAR.add_working_days(start, n)
    except CalendarYearMissing as e:
        assert "2027" in str(e)
    else:
        assert end.year == 2026  # only when the count never left the confirmed year
