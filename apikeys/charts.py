"""The usage chart and sparklines of the key pages: pure geometry, drawn as inline SVG by the templates.

No database, no Django: a list of days in, the numbers a template needs out (bar
rectangles, axis ticks, the text summary). The SVG uses presentation attributes
only (``x``, ``height``...) and classes of ``static/css/app.css``, so it needs no
script, no chart library and no inline style (the CSP forbids them).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

CHART_WIDTH = 720
CHART_HEIGHT = 220
# Room for the y-axis labels (left), the day labels (bottom) and the top tick's label.
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 52, 20, 12, 28
BAR_FILL = 0.7  # of each day's slot; the rest is the gap between bars
LABEL_EVERY = 7  # days between labels on the x axis, counted back from the last day

SPARK_WIDTH, SPARK_HEIGHT, SPARK_PAD = 96, 28, 3


@dataclass(frozen=True)
class DayCount:
    """One UTC day's requests to a key: successes (status < 400) and errors."""

    day: date
    successes: int = 0
    errors: int = 0

    @property
    def total(self) -> int:
        return self.successes + self.errors

    @property
    def label(self) -> str:
        """``"3 Nov"``."""
        return short_day(self.day)


def short_day(day: date) -> str:
    return f"{day.day} {day:%b}"


def plural(count: int, word: str) -> str:
    """``"1 request"``, ``"1,234 requests"``."""
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def fill_days(counts: Iterable[tuple[date, int, int]], *, last_day: date, days: int) -> list[DayCount]:
    """The ``days`` days up to ``last_day`` (included), oldest first; a day with no row counts zero.

    Rows outside the window are ignored; two rows of one day are added up.
    """
    first_day = last_day - timedelta(days=days - 1)
    by_day: dict[date, tuple[int, int]] = {}
    for day, successes, errors in counts:
        if first_day <= day <= last_day:
            ok, bad = by_day.get(day, (0, 0))
            by_day[day] = (ok + successes, bad + errors)
    window = (first_day + timedelta(days=offset) for offset in range(days))
    return [DayCount(day, *by_day.get(day, (0, 0))) for day in window]


def nice_scale(peak: int, *, ticks: int = 4) -> tuple[int, int]:
    """``(top, step)`` of a y axis reaching ``peak`` in about ``ticks`` whole steps of 1, 2 or 5 x 10ⁿ."""
    if peak <= 0:
        return 0, 1
    raw = peak / ticks
    magnitude = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    return step * math.ceil(peak / step), step


@dataclass(frozen=True)
class Bar:
    """One day's stacked bar: successes at the bottom, errors on top (SVG y grows downwards)."""

    day: DayCount
    x: float
    width: float
    success_y: float
    success_height: float
    error_y: float
    error_height: float
    label_x: float
    show_label: bool

    @property
    def title(self) -> str:
        """What hovering the bar says: ``"3 Nov: 210 requests, 2 errors"``."""
        return f"{self.day.label}: {plural(self.day.total, 'request')}, {plural(self.day.errors, 'error')}"


@dataclass(frozen=True)
class Tick:
    value: int
    y: float

    @property
    def label(self) -> str:
        return f"{self.value:,}"


@dataclass(frozen=True)
class BarChart:
    days: list[DayCount]
    bars: list[Bar]
    ticks: list[Tick]
    width: int
    height: int
    plot_left: int
    plot_right: int
    plot_top: int
    baseline: float
    label_y: float

    @property
    def total(self) -> int:
        return sum(day.total for day in self.days)

    @property
    def errors(self) -> int:
        return sum(day.errors for day in self.days)

    @property
    def empty(self) -> bool:
        return self.total == 0

    @property
    def busiest(self) -> DayCount | None:
        """The day with the most requests (the latest of equal days); none without traffic."""
        if self.empty:
            return None
        return max(reversed(self.days), key=lambda day: day.total)

    @property
    def center_x(self) -> float:
        return (self.plot_left + self.plot_right) / 2

    @property
    def center_y(self) -> float:
        return (self.plot_top + self.baseline) / 2

    @property
    def summary(self) -> str:
        """``"1,234 requests in the last 30 days, 12 errors (1.0 %); busiest day 3 Nov: 210"``."""
        period = f"the last {len(self.days)} days"
        busiest = self.busiest
        if busiest is None:
            return f"No requests in {period}"
        rate = 100 * self.errors / self.total
        return (
            f"{plural(self.total, 'request')} in {period}, {plural(self.errors, 'error')} ({rate:.1f} %); "
            f"busiest day {busiest.label}: {busiest.total:,}"
        )


def bar_chart(days: list[DayCount], *, width: int = CHART_WIDTH, height: int = CHART_HEIGHT) -> BarChart:
    """Stacked bars of ``days`` (oldest first) in a ``width`` x ``height`` viewBox."""
    plot_left, plot_right = MARGIN_LEFT, width - MARGIN_RIGHT
    plot_top, baseline = MARGIN_TOP, height - MARGIN_BOTTOM
    plot_height = baseline - plot_top
    top, step = nice_scale(max((day.total for day in days), default=0))

    def scaled(value: int) -> float:
        return round(plot_height * value / top, 2) if top else 0.0

    slot = (plot_right - plot_left) / max(len(days), 1)
    bar_width = round(slot * BAR_FILL, 2)
    bars = []
    for index, day in enumerate(days):
        x = round(plot_left + index * slot + (slot - bar_width) / 2, 2)
        success_height, total_height = scaled(day.successes), scaled(day.total)
        bars.append(
            Bar(
                day=day,
                x=x,
                width=bar_width,
                success_y=round(baseline - success_height, 2),
                success_height=success_height,
                error_y=round(baseline - total_height, 2),
                error_height=round(total_height - success_height, 2),
                label_x=round(x + bar_width / 2, 2),
                show_label=(len(days) - 1 - index) % LABEL_EVERY == 0,
            )
        )
    ticks = [Tick(value, round(baseline - scaled(value), 2)) for value in range(0, top + 1, step)]
    return BarChart(
        days=days,
        bars=bars,
        ticks=ticks,
        width=width,
        height=height,
        plot_left=plot_left,
        plot_right=plot_right,
        plot_top=plot_top,
        baseline=baseline,
        label_y=height - 8,
    )


@dataclass(frozen=True)
class Sparkline:
    """A small line of requests per day (successes and errors together)."""

    days: list[DayCount]
    points: str  # the polyline's "x,y x,y ..."
    area: str  # the same line closed along the bottom, for the shaded area
    width: int
    height: int

    @property
    def total(self) -> int:
        return sum(day.total for day in self.days)

    @property
    def label(self) -> str:
        """``"42 requests in the last 7 days"``."""
        return f"{plural(self.total, 'request')} in the last {len(self.days)} days"


def sparkline(days: list[DayCount], *, width: int = SPARK_WIDTH, height: int = SPARK_HEIGHT) -> Sparkline:
    """The line of ``days`` (oldest first) in a ``width`` x ``height`` viewBox; no traffic is a flat bottom line."""
    bottom = height - SPARK_PAD
    peak = max((day.total for day in days), default=0)
    step = (width - 2 * SPARK_PAD) / max(len(days) - 1, 1)
    coordinates = [
        (
            round(SPARK_PAD + index * step, 2),
            round(bottom - (bottom - SPARK_PAD) * day.total / peak, 2) if peak else float(bottom),
        )
        for index, day in enumerate(days)
    ]
    points = " ".join(f"{x:g},{y:g}" for x, y in coordinates)
    area = f"{coordinates[0][0]:g},{bottom} {points} {coordinates[-1][0]:g},{bottom}" if coordinates else ""
    return Sparkline(days=days, points=points, area=area, width=width, height=height)


def sparklines(
    counts: Mapping[int, Iterable[tuple[date, int, int]]], *, key_ids: Iterable[int], last_day: date, days: int
) -> dict[int, Sparkline]:
    """A sparkline for each of ``key_ids``, from ``counts`` by key id (keys without rows get a flat one)."""
    return {key_id: sparkline(fill_days(counts.get(key_id, ()), last_day=last_day, days=days)) for key_id in key_ids}
