"""Section `similar`: the incident page's "Seen before" (incidents.selectors.similar) at
BENCH_SIMILAR_INCIDENTS incidents (default 100,000, seeded with `seed_scale` unless an earlier
section seeded as many): the past incidents like one (by failure, by kind of device, by close
words) with how each ended, and the problem groups suggested for it, as a supervisor sees them
and as a token does. Measured on open incidents of the most common failures (the most
candidates) and on incidents taken across the table, with the queries each costs; the goal is
under 50 ms per panel at 100,000 incidents. The baseline is reading the incident's own page
row (the incident with its device), measured in the same run."""

import os
import random
import time

from django.db import connection, reset_queries
from django.test.utils import CaptureQueriesContext

from scripts.bench.figures import figure, median, percentile

INCIDENTS = int(os.environ.get("BENCH_SIMILAR_INCIDENTS", "100000"))
SAMPLES = int(os.environ.get("BENCH_SIMILAR_SAMPLES", "60"))
GOAL_MS = 50.0


def _timed(call) -> tuple[float, int]:
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        call()
        elapsed = (time.perf_counter() - started) * 1000
    return elapsed, len(queries)


def _sample() -> list:
    """Open incidents of the most common failures, and incidents across the table."""
    from django.db.models import Count

    from incidents.choices import OPEN_STAGES
    from incidents.models import Incident

    common = (
        Incident.objects.order_by()
        .values("fail_item")
        .annotate(count=Count("pk"))
        .order_by("-count")
        .values_list("fail_item", flat=True)[:3]
    )
    busiest = list(
        Incident.objects.filter(stage__in=OPEN_STAGES, fail_item__in=list(common))
        .select_related("device")
        .order_by("-opened_at")[: SAMPLES // 2]
    )
    rng = random.Random(INCIDENTS)
    largest = Incident.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    picked = {rng.randint(1, largest) for _n in range(SAMPLES * 2)}
    across = list(Incident.objects.filter(pk__in=picked).select_related("device")[: SAMPLES // 2])
    return busiest + across


def run() -> None:
    from fixtures.scale import seed_scale
    from incidents.models import Employee, Incident
    from incidents.selectors import similar_incidents, suggested_groups

    have = Incident.objects.count()
    if have < INCIDENTS:
        seed_scale(incidents=INCIDENTS - have, seed=INCIDENTS)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    total = Incident.objects.count()
    supervisor = (
        Employee.objects.filter(supervised_departments__isnull=False, is_active=True)
        .order_by("pk")
        .first()
    )
    incidents = _sample()

    def panel(incident, who):
        similar_incidents(incident, who)
        suggested_groups(incident, who)

    def own_row(incident):
        Incident.objects.select_related("device").get(pk=incident.pk)

    for incident in incidents[:5]:  # a first pass fills what the process keeps
        panel(incident, supervisor)
    reset_queries()
    print(f"Seen before at {total:,} incidents ({len(incidents)} incidents asked):")
    baseline = median([_timed(lambda i=incident: own_row(i))[0] for incident in incidents])
    for who, label in ((supervisor, "a supervisor"), (None, "a token")):
        runs = [_timed(lambda i=incident, w=who: panel(i, w)) for incident in incidents]
        times = [elapsed for elapsed, _queries in runs]
        p50, p95 = median(times), percentile(times, 0.95)
        most_queries = max(queries for _elapsed, queries in runs)
        met = "met" if p95 < GOAL_MS else "NOT met"
        goal = f"under {GOAL_MS:g} ms at 100,000: {met}"
        figure(
            "similar",
            f"Seen before panel p50, {label} ({total:,} incidents)",
            p50,
            "ms",
            baseline,
            "the incident's own row",
            goal=goal,
        )
        figure(
            "similar",
            f"Seen before panel p95, {label} ({total:,} incidents)",
            p95,
            "ms",
            baseline,
            "the incident's own row",
            goal=goal,
        )
        figure("similar", f"Seen before panel queries, {label}", most_queries, "")
        print(
            f"  {label}: p50 {p50:.1f} ms, p95 {p95:.1f} ms, at most {most_queries} queries "
            f"(goal under {GOAL_MS:g} ms: {met}); the incident's own row {baseline:.2f} ms"
        )
