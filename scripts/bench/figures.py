"""The figures of a run: each section keeps its figures here, with the baseline measured in the
same run; at the end they are printed as one table and written to bench/results.json."""

import json

from django.db import connection

from scripts.servers import ROOT

RESULTS = ROOT / "bench" / "results.json"

# Every figure of the run, printed at the end as one table and written to bench/results.json.
FIGURES: list[dict] = []


def figure(
    section: str,
    name: str,
    value: float,
    unit: str,
    baseline: float | None = None,
    baseline_name: str = "",
    goal: str = "",
    *,
    ratio_at_most: float | None = None,
    value_at_most: float | None = None,
    value_at_least: float | None = None,
) -> dict:
    """Keep one figure, with the baseline measured in the same run it is compared with (the
    ratio is value / baseline). A goal given as a bound (the ratio at most, the value at most or
    at least) is checked: the figure is marked met or not met; a goal in words alone is not."""
    ratio = round(value / baseline, 3) if baseline else None
    bounds = []
    if ratio_at_most is not None:
        bounds.append(ratio is not None and ratio <= ratio_at_most)
    if value_at_most is not None:
        bounds.append(value <= value_at_most)
    if value_at_least is not None:
        bounds.append(value >= value_at_least)
    row = {
        "section": section,
        "figure": name,
        "value": round(value, 3),
        "unit": unit,
        "baseline": None if baseline is None else round(baseline, 3),
        "baseline_name": baseline_name,
        "ratio": ratio,
        "goal": goal,
        "met": all(bounds) if bounds else None,
    }
    FIGURES.append(row)
    return row


def report_figures() -> None:
    """The run's figures as one table, and as JSON for whoever compares runs."""
    if not FIGURES:
        return
    print("All figures (ratio = value / baseline, both measured in this run):")
    print(f"  {'section':<9} {'figure':<58} {'value':>12} {'baseline':>12} {'ratio':>8}  goal")
    marks = {True: "met", False: "NOT MET", None: ""}
    for row in FIGURES:
        baseline = "" if row["baseline"] is None else f"{row['baseline']:g}"
        ratio = "" if row["ratio"] is None else f"{row['ratio']:.2f}"
        print(
            f"  {row['section']:<9} {row['figure'][:58]:<58} "
            f"{row['value']:>8g} {row['unit']:<3} {baseline:>12} {ratio:>8}  {row['goal']}"
            + (f" [{marks[row['met']]}]" if row["met"] is not None else "")
        )
    checked = [row for row in FIGURES if row["met"] is not None]
    if checked:
        missed = [row for row in checked if not row["met"]]
        print(f"  goals met: {len(checked) - len(missed)} of {len(checked)}")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(
        json.dumps({"vendor": connection.vendor, "figures": FIGURES}, indent=2, ensure_ascii=False)
        + "\n"
    )
    print(f"  written to {RESULTS.relative_to(ROOT)}")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[round(fraction * (len(ordered) - 1))]


def median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]
