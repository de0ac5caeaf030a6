"""The dashboard's charts: the last hour, one point a minute, drawn as inline SVG. Pure.

Drawn on the server so the page needs no chart library and no script (CSP script-src
'self'): a chart is a <polyline> whose points are computed here, coloured by classes from
static/app.css (style-src 'self' allows no style attributes, presentation attributes are fine).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, fields

MINUTES = 60
WIDTH, HEIGHT, PAD = 240.0, 64.0, 4.0


@dataclass(frozen=True, slots=True)
class Point:
    """The figures of one minute (the newest sample taken in it)."""

    minute: int  # minutes since the epoch
    online: int = 0
    away: int = 0
    messages: int = 0  # messages in the minute before the sample
    streams: int = 0
    p99_ms: float | None = None  # delivery latency p99 of the minute; None: nothing delivered


class History:
    """A ring buffer of the last hour's per-minute points."""

    def __init__(self, minutes: int = MINUTES) -> None:
        self.minutes = minutes
        self.points: deque[Point] = deque(maxlen=minutes)

    def record(self, point: Point) -> None:
        """The minute's newest sample replaces its earlier one; a new minute is appended."""
        if self.points and self.points[-1].minute == point.minute:
            self.points[-1] = point
        elif not self.points or self.points[-1].minute < point.minute:
            self.points.append(point)

    def series(self, name: str) -> list[tuple[int, float | None]]:
        """(minute, value) of one figure over the hour."""
        assert name in {f.name for f in fields(Point)} - {"minute"}, name
        return [(p.minute, getattr(p, name)) for p in self.points]


def p99_ms(counts: list[int], bounds: tuple[float, ...]) -> float | None:
    """The 99th percentile of a histogram's counts (one per bound, then +Inf), in ms: the
    upper bound of the bucket holding it (the last bound when it is past them all)."""
    total = sum(counts)
    if total <= 0:
        return None
    needed, seen = 0.99 * total, 0
    for bound, count in zip((*bounds, bounds[-1]), counts, strict=True):
        seen += count
        if seen >= needed:
            return bound * 1000
    return bounds[-1] * 1000


@dataclass(frozen=True)
class Line:
    name: str  # the figure, also the CSS class chart-line-<name>
    points: str  # the polyline's points attribute
    last: float | None  # the newest value, shown beside the chart

    @property
    def end(self) -> tuple[str, str] | None:
        """Where the line ends (a dot marks it: one point alone draws no line)."""
        if not self.points:
            return None
        x, y = self.points.rsplit(" ", 1)[-1].split(",")
        return x, y


@dataclass(frozen=True)
class Chart:
    key: str
    lines: list[Line]
    peak: float  # the top of the scale
    width: float = WIDTH
    height: float = HEIGHT
    pad: float = PAD


def polyline(series: list[tuple[int, float | None]], now_minute: int, peak: float,
             minutes: int = MINUTES) -> str:
    """SVG points: x by the minute's age (now at the right edge), y scaled to `peak`."""
    step = (WIDTH - 2 * PAD) / max(1, minutes - 1)
    usable = HEIGHT - 2 * PAD
    out = []
    for minute, value in series:
        age = now_minute - minute
        if value is None or not 0 <= age < minutes:
            continue
        x = WIDTH - PAD - age * step
        y = HEIGHT - PAD - (value / peak) * usable if peak > 0 else HEIGHT - PAD
        out.append(f"{x:.1f},{y:.1f}")
    return " ".join(out)


def chart(key: str, history: History, names: tuple[str, ...], now_minute: int) -> Chart:
    """One chart of one or more figures sharing a scale."""
    data = {n: history.series(n) for n in names}
    values = [v for s in data.values() for _m, v in s if v is not None]
    peak = _nice(max(values, default=0))
    lines = [Line(n, polyline(s, now_minute, peak, history.minutes),
                  s[-1][1] if s else None) for n, s in data.items()]
    return Chart(key, lines, peak)


def _nice(value: float) -> float:
    """A round top for the scale (1, 2, 5, 10, 20, ...), never below 1."""
    top = 1.0
    while top < value:
        for factor in (2, 2.5, 2):
            top *= factor
            if top >= value:
                break
    return top
