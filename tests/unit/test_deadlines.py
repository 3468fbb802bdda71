from datetime import UTC, datetime, timedelta

from civicgrid_dispatch.domain.deadlines import CITY_TZ, add_working_days, due, is_working_day


def test_national_day_golden_week_is_skipped() -> None:
    # 2025: 1-8 October off; Sunday 28 September and Saturday 11 October are make-up days.
    start = datetime(2025, 9, 30, 10, 0, tzinfo=CITY_TZ)
    assert add_working_days(start, 1) == datetime(2025, 10, 9, 10, 0, tzinfo=CITY_TZ)
    assert add_working_days(start, 3) == datetime(2025, 10, 11, 10, 0, tzinfo=CITY_TZ)


def test_make_up_working_day_counts() -> None:
    assert is_working_day(datetime(2025, 9, 28).date())  # a Sunday worked for the holiday
    assert not is_working_day(datetime(2025, 10, 1).date())


def test_seven_working_days_across_a_weekend() -> None:
    start = datetime(2026, 11, 20, 9, 0, tzinfo=CITY_TZ)  # a Friday
    assert add_working_days(start, 7) == datetime(2026, 12, 1, 9, 0, tzinfo=CITY_TZ)


def test_days_are_counted_in_city_time_not_utc() -> None:
    # 17:00 UTC on Friday is 01:00 Saturday in the city: one working day is Monday.
    start = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)
    assert add_working_days(start, 1).date() == datetime(2026, 11, 23).date()


def test_hours_are_clock_hours() -> None:
    start = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)  # a Saturday
    assert due(start, 2, "hours") == start + timedelta(hours=2)


def test_unknown_year_falls_back_to_weekends() -> None:
    start = datetime(2035, 3, 2, 9, 0, tzinfo=CITY_TZ)  # a Friday
    assert add_working_days(start, 1).weekday() == 0
