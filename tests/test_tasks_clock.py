"""The Airflow task bodies' clock: a manual Airflow 3 run may have no data interval (None)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from groundswell.app import tasks


def test_week_of_is_the_monday_of_the_week_of_the_moment() -> None:
    assert tasks.week_of(datetime(2026, 11, 22, 23, 0, tzinfo=UTC)) == date(2026, 11, 16)  # a Sunday
    assert tasks.week_of(datetime(2026, 11, 23, 0, 30, tzinfo=UTC)) == date(2026, 11, 23)


def test_week_of_without_a_data_interval_is_the_last_complete_week() -> None:
    this_monday = tasks.week_of(datetime.now(UTC))
    assert tasks.week_of(None) == this_monday - timedelta(days=7)
