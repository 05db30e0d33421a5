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
) -> None:
    """Keep one figure, with the baseline measured in the same run it is compared with (the
    ratio is value / baseline)."""
    FIGURES.append(
        {
            "section": section,
            "figure": name,
            "value": round(value, 3),
            "unit": unit,
            "baseline": None if baseline is None else round(baseline, 3),
            "baseline_name": baseline_name,
            "ratio": round(value / baseline, 3) if baseline else None,
            "goal": goal,
        }
    )


def report_figures() -> None:
    """The run's figures as one table, and as JSON for whoever compares runs."""
    if not FIGURES:
        return
    print("All figures (ratio = value / baseline, both measured in this run):")
    print(f"  {'section':<9} {'figure':<58} {'value':>12} {'baseline':>12} {'ratio':>8}  goal")
    for row in FIGURES:
        baseline = "" if row["baseline"] is None else f"{row['baseline']:g}"
        ratio = "" if row["ratio"] is None else f"{row['ratio']:.2f}"
        print(
            f"  {row['section']:<9} {row['figure'][:58]:<58} "
            f"{row['value']:>8g} {row['unit']:<3} {baseline:>12} {ratio:>8}  {row['goal']}"
        )
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
