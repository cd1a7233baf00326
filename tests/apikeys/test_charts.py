"""The usage chart's and sparklines' geometry (apikeys/charts.py): days in, bars and text out."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from apikeys.charts import DayCount, bar_chart, fill_days, nice_scale, sparkline, sparklines

LAST = date(2025, 11, 10)


def days_of(*totals: tuple[int, int]) -> list[DayCount]:
    """Consecutive days ending on ``LAST``, from ``(successes, errors)`` pairs."""
    first = LAST - timedelta(days=len(totals) - 1)
    return [DayCount(first + timedelta(days=i), ok, bad) for i, (ok, bad) in enumerate(totals)]


def test_fill_days_zero_fills_orders_and_keeps_only_the_window():
    rows = [
        (LAST, 5, 1),
        (LAST - timedelta(days=2), 3, 0),
        (LAST - timedelta(days=2), 1, 1),  # two rows of one day add up
        (LAST - timedelta(days=7), 100, 100),  # before the window
        (LAST + timedelta(days=1), 100, 100),  # after it
    ]
    days = fill_days(rows, last_day=LAST, days=7)
    assert [d.day for d in days] == [LAST - timedelta(days=6 - i) for i in range(7)]
    assert [(d.successes, d.errors) for d in days] == [(0, 0)] * 4 + [(4, 1), (0, 0), (5, 1)]


@pytest.mark.parametrize(
    ("peak", "expected"),
    [
        (0, (0, 1)),
        (1, (1, 1)),
        (3, (3, 1)),
        (4, (4, 1)),
        (7, (8, 2)),
        (10, (10, 5)),
        (210, (300, 100)),
        (1234, (1500, 500)),
    ],
)
def test_nice_scale_uses_whole_steps_of_1_2_5(peak, expected):
    assert nice_scale(peak) == expected


def test_bars_are_stacked_and_proportional():
    chart = bar_chart(days_of((0, 0), (100, 0), (150, 50)), width=320, height=140)
    # plot: y 12 (top) to 112 (baseline), 100 high; peak 200 → top of the axis 200.
    assert chart.baseline == 112
    empty, full_ok, mixed = chart.bars
    assert (empty.success_height, empty.error_height) == (0, 0)
    assert (full_ok.success_height, full_ok.error_height, full_ok.success_y) == (50, 0, 62)
    assert (mixed.success_height, mixed.error_height) == (75, 25)
    assert mixed.success_y == 37
    assert mixed.error_y + mixed.error_height == mixed.success_y  # errors sit on the successes
    assert mixed.error_y == chart.plot_top
    assert [tick.value for tick in chart.ticks] == [0, 50, 100, 150, 200]
    assert [tick.y for tick in chart.ticks] == [112, 87, 62, 37, 12]
    assert all(bar.width > 0 for bar in chart.bars)
    assert empty.x < full_ok.x < mixed.x


def test_thirty_days_fit_and_are_labelled_weekly_from_the_last():
    chart = bar_chart(days_of(*[(1, 0)] * 30))
    assert len(chart.bars) == 30
    assert chart.bars[0].x >= chart.plot_left
    assert chart.bars[-1].x + chart.bars[-1].width <= chart.plot_right
    labelled = [bar.day.label for bar in chart.bars if bar.show_label]
    assert labelled == ["13 Oct", "20 Oct", "27 Oct", "3 Nov", "10 Nov"]


def test_summary_counts_errors_and_names_the_busiest_day():
    days = days_of(*[(0, 0)] * 20, (1000, 4), *[(0, 0)] * 8, (222, 8))
    chart = bar_chart(days)
    assert chart.summary == "1,234 requests in the last 30 days, 12 errors (1.0 %); busiest day 1 Nov: 1,004"
    assert chart.bars[20].title == "1 Nov: 1,004 requests, 4 errors"


def test_summary_speaks_in_the_singular_and_prefers_the_latest_busiest_day():
    chart = bar_chart(days_of((1, 0), (0, 0), (0, 1)))
    assert chart.summary == "2 requests in the last 3 days, 1 error (50.0 %); busiest day 10 Nov: 1"
    assert chart.bars[0].title == "8 Nov: 1 request, 0 errors"


def test_no_traffic_is_an_empty_chart_with_zero_bars():
    chart = bar_chart(days_of(*[(0, 0)] * 30))
    assert chart.empty
    assert chart.busiest is None
    assert chart.summary == "No requests in the last 30 days"
    assert all(bar.success_height == bar.error_height == 0 for bar in chart.bars)
    assert all(bar.success_y == chart.baseline for bar in chart.bars)
    assert [tick.value for tick in chart.ticks] == [0]


def test_sparkline_runs_from_left_to_right_peak_on_top():
    spark = sparkline(days_of((0, 0), (2, 2), (1, 0)), width=46, height=26)
    # x from 3 to 43, y from 23 (zero) to 3 (the peak).
    assert spark.points == "3,23 23,3 43,18"
    assert spark.area == "3,23 3,23 23,3 43,18 43,23"
    assert spark.label == "5 requests in the last 3 days"


def test_sparkline_without_traffic_is_a_flat_line_at_the_bottom():
    spark = sparkline(days_of(*[(0, 0)] * 7))
    assert {point.split(",")[1] for point in spark.points.split()} == {str(spark.height - 3)}
    assert spark.label == "0 requests in the last 7 days"


def test_sparklines_give_every_key_one_even_without_rows():
    spark = sparklines({1: [(LAST, 1, 0)]}, key_ids=[1, 2], last_day=LAST, days=7)
    assert spark[1].label == "1 request in the last 7 days"
    assert spark[2].label == "0 requests in the last 7 days"
