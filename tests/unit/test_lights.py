"""Traffic lights: when a step turns yellow, its colour one second either side of each boundary, and the
SQL twin (services.tasks.light_expr) agreeing with the Python rule."""

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine, create_engine, insert, select

from app.domain.calendar import WorkCalendar, official_calendar_entries
from app.domain.lights import light, light_label, warn_at, worst_light
from app.models import HumanTask
from app.services.tasks import LIGHTS, light_expr, light_where

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


def test_a_step_without_a_deadline_stays_green() -> None:
    now = datetime(2026, 3, 11, 23, 59, 59)
    assert light(now, None, None) == "green"
    assert light(now, None, now - SECOND) == "red"  # each missing time on its own never fires
    assert light(now, now, None) == "yellow"


def test_a_paused_step_shows_paused_whatever_its_times_say() -> None:
    warn, due = datetime(2026, 3, 9, 23, 59, 59), datetime(2026, 3, 11, 23, 59, 59)
    assert light(warn - SECOND, warn, due, paused=True) == "paused"
    assert light(due + SECOND, warn, due, paused=True) == "paused"  # never red while the clock stands still
    assert light(due + SECOND, None, None, paused=True) == "paused"
    assert light_label("paused") == "暂停"


def test_the_worst_light_of_several_is_the_most_urgent() -> None:
    assert worst_light(["green", "red", "yellow"]) == "red"
    assert worst_light(["green", "yellow"]) == "yellow"
    assert worst_light([]) is None
    assert worst_light(["paused", "green"]) == "green"
    assert worst_light(["paused"]) == "paused"


def test_lights_have_chinese_labels() -> None:
    assert [light_label(value) for value in ("green", "yellow", "red")] == ["绿灯", "黄灯", "红灯"]


WARN, DUE = datetime(2026, 3, 9, 23, 59, 59), datetime(2026, 3, 11, 23, 59, 59)
BOUNDARIES = {
    "one second before warn": (WARN - SECOND, WARN, DUE),
    "at warn": (WARN, WARN, DUE),
    "at due": (DUE, WARN, DUE),
    "one second after due": (DUE + SECOND, WARN, DUE),
    "no deadline": (DUE + SECOND, None, None),
    "a due time without a warning time": (DUE + SECOND, None, DUE),
}
PAUSED_AT = WARN - timedelta(days=1)


@pytest.fixture(scope="module")
def sqlite() -> Iterator[Engine]:
    """An in-memory SQLite holding only the human_task table (foreign keys are not enforced there)."""
    engine = create_engine("sqlite://")
    HumanTask.__table__.create(engine)
    yield engine
    engine.dispose()


@pytest.mark.parametrize("paused", [False, True], ids=["running", "paused"])
@pytest.mark.parametrize("now, warn, due", BOUNDARIES.values(), ids=BOUNDARIES.keys())
def test_the_sql_light_agrees_with_the_python_rule(sqlite: Engine, now: datetime, warn: datetime | None,
                                                   due: datetime | None, paused: bool) -> None:
    with sqlite.begin() as conn:
        conn.execute(HumanTask.__table__.delete())
        conn.execute(insert(HumanTask).values(id="t", case_id=1, spec_name="handle", title="办理", role="handler",
                                              created_at=WARN - timedelta(days=5), warn_at=warn, due_at=due,
                                              paused_at=PAUSED_AT if paused else None))
        in_sql = conn.scalar(select(light_expr(now)).select_from(HumanTask))
        filtered = [lt for lt in LIGHTS if conn.scalar(select(HumanTask.id).where(light_where(now, lt)))]
    assert in_sql == light(now, warn, due, paused=paused)
    assert filtered == [in_sql]  # the worklist's light filter finds the task under its light and no other
