"""A small line chart of a few numbers, drawn by the server as SVG coordinates a template puts in
an `<svg>` (no script, nothing fetched): the points in order, the limits as lines across, and the
points marked as failing. Any finite floats are drawn, however far apart."""

import math
from dataclasses import dataclass

WIDTH, HEIGHT, PAD = 160, 36, 4


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    value: float
    failing: bool
    label: str


@dataclass(frozen=True)
class Sparkline:
    width: int
    height: int
    points: list[Point]
    # The `d` of the path joining the points (empty for a single point).
    path: str
    # Where the low and high limits run across (None when there is none).
    low_y: float | None
    high_y: float | None


def _scale(values: list[float]):
    """A function taking a value to its height on the chart, highest value at the top. Halves are
    compared so that the span of the largest floats does not overflow to infinity."""
    low, high = min(values) / 2, max(values) / 2
    span = high - low
    inner = HEIGHT - 2 * PAD
    if not span or not math.isfinite(span):
        return lambda value: HEIGHT / 2
    return lambda value: round(PAD + inner * (1 - (value / 2 - low) / span), 2)


def sparkline(
    points: list[tuple[float, bool, str]], *, low: float | None = None, high: float | None = None
) -> Sparkline | None:
    """The chart of `points` (value, failing, label), oldest first, with the limits `low` and
    `high` when given; None without points."""
    finite = [(value, failing, label) for value, failing, label in points if math.isfinite(value)]
    if not finite:
        return None
    limits = [limit for limit in (low, high) if limit is not None and math.isfinite(limit)]
    y_of = _scale([value for value, _failing, _label in finite] + limits)
    step = (WIDTH - 2 * PAD) / (len(finite) - 1) if len(finite) > 1 else 0
    drawn = [
        Point(
            x=round(PAD + index * step, 2) if step else WIDTH / 2,
            y=y_of(value),
            value=value,
            failing=failing,
            label=label,
        )
        for index, (value, failing, label) in enumerate(finite)
    ]
    path = " ".join(
        f"{'M' if index == 0 else 'L'}{point.x} {point.y}" for index, point in enumerate(drawn)
    )
    return Sparkline(
        width=WIDTH,
        height=HEIGHT,
        points=drawn,
        path=path if len(drawn) > 1 else "",
        low_y=y_of(low) if low is not None and math.isfinite(low) else None,
        high_y=y_of(high) if high is not None and math.isfinite(high) else None,
    )
