"""Traffic lights: when a step turns yellow, and its colour one second either side of each boundary."""

from datetime import datetime, timedelta

import pytest

from app.domain.calendar import WorkCalendar, official_calendar_entries
from app.domain.lights import light, light_label, warn_at

SECOND = timedelta(seconds=1)


@pytest.fixture(scope="module")
def calendar_2026() -> WorkCalendar:
    """The real 2026 State Council calendar."""
    return WorkCalendar(official_calendar_entries(2026), confirmed_years={2026})


def test_a_long_period_turns_yellow_when_eighty_percent_has_elapsed(calendar_2026: WorkCalendar) -> None:
    # Ten days exactly; 80 % is eight days, well before the start of the due day (3-11 00:00).
    start = datetime(2026, 3, 1, 23, 59, 59)
    due = datetime(2026, 3, 11, 23, 59, 59)
    assert warn_at(start, due, calendar_2026) == datetime(2026, 3, 9, 23, 59, 59)


def test_a_one_day_period_turns_yellow_at_the_start_of_the_due_day(calendar_2026: WorkCalendar) -> None:
    # 80 % of Mon 10:00 → Tue 23:59:59 would be Tue 16:23:59.2; the start of Tuesday is earlier.
    start = datetime(2026, 3, 2, 10, 0, 0)
    due = datetime(2026, 3, 3, 23, 59, 59)
    assert warn_at(start, due, calendar_2026) == datetime(2026, 3, 3, 0, 0, 0)


def test_a_due_day_in_a_holiday_turns_yellow_at_the_start_of_the_last_working_day_before_it(
    calendar_2026: WorkCalendar,
) -> None:
    # Due on 10-04 (国庆节, rest): the last working day before it is 9-30.
    start = datetime(2026, 9, 29, 12, 0, 0)
    due = datetime(2026, 10, 4, 23, 59, 59)
    assert warn_at(start, due, calendar_2026) == datetime(2026, 9, 30, 0, 0, 0)


def test_a_due_time_of_midnight_looks_at_the_day_before(calendar_2026: WorkCalendar) -> None:
    # Due at Tue 00:00 — Tuesday has not begun before the due moment, so Monday is the last working day
    # (80 % of the 36 hours would be Mon 16:48, later).
    start = datetime(2026, 3, 1, 12, 0, 0)
    due = datetime(2026, 3, 3, 0, 0, 0)
    assert warn_at(start, due, calendar_2026) == datetime(2026, 3, 2, 0, 0, 0)


def test_the_yellow_threshold_never_precedes_the_start(calendar_2026: WorkCalendar) -> None:
    start = datetime(2026, 3, 3, 15, 0, 0)
    due = datetime(2026, 3, 3, 23, 59, 59)
    assert warn_at(start, due, calendar_2026) == start


def test_a_custom_fraction_moves_the_threshold(calendar_2026: WorkCalendar) -> None:
    start = datetime(2026, 3, 1, 23, 59, 59)
    due = datetime(2026, 3, 11, 23, 59, 59)
    assert warn_at(start, due, calendar_2026, fraction=0.5) == datetime(2026, 3, 6, 23, 59, 59)


def test_a_due_time_before_the_start_is_refused(calendar_2026: WorkCalendar) -> None:
    with pytest.raises(ValueError):
        warn_at(datetime(2026, 3, 3), datetime(2026, 3, 2), calendar_2026)


def test_the_light_is_green_until_one_second_before_the_threshold() -> None:
    warn, due = datetime(2026, 3, 9, 23, 59, 59), datetime(2026, 3, 11, 23, 59, 59)
    assert light(warn - SECOND, warn, due) == "green"
    assert light(warn, warn, due) == "yellow"
    assert light(warn + SECOND, warn, due) == "yellow"


def test_the_light_stays_yellow_at_the_due_second_and_turns_red_after_it() -> None:
    warn, due = datetime(2026, 3, 9, 23, 59, 59), datetime(2026, 3, 11, 23, 59, 59)
    assert light(due - SECOND, warn, due) == "yellow"
    assert light(due, warn, due) == "yellow"
    assert light(due + SECOND, warn, due) == "red"


def test_lights_have_chinese_labels() -> None:
    assert [light_label(value) for value in ("green", "yellow", "red")] == ["绿", "黄", "红"]
