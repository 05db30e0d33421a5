"""Section `plans`: whether PostgreSQL reads what the lists, the searches and the dashboard's
figures ask for through the indexes made for them. On the demo data the tables hold a few hundred
rows, where reading a table whole is cheapest: scans (and, where an index should give the
order, sorts) are discouraged for the question, so the plan shows whether the index fits at all,
as it would be used on a factory's millions. Each figure is 1 when the index named is in the plan
and 0 when it is not; the plans are printed for whoever looks into a 0.

These were assertions in the test suite, where statistics that vary from run to run made them
fail now and then; here they are read, not asserted."""

from django.core.management import call_command
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from scripts.bench.figures import figure


def _explained(sql: str, params=None, *, forbid: tuple[str, ...] = ("seqscan",)) -> str:
    """The plan of `sql` with the planner's `forbid`den methods switched off for it alone."""
    with transaction.atomic(), connection.cursor() as cursor:
        for method in forbid:
            cursor.execute(f"SET LOCAL enable_{method} = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


def _last_query(figure_of, scope) -> str:
    with CaptureQueriesContext(connection) as queries:
        figure_of(scope)
    return queries.captured_queries[-1]["sql"]


def _checks() -> list[tuple[str, str, str]]:
    """(what is read, the index that should serve it, the plan) for each question."""
    from incidents.dashboard import (
        Scope,
        end_to_end_times,
        false_fails,
        oldest_open,
        outcomes_by_week,
    )
    from incidents.models import Department, Employee, Incident
    from locations.models import Device
    from messaging.models import Message
    from messaging.search import message_search

    checks = []
    for column, index in (
        ("serial_number", "device_serial_number_trgm"),
        ("project", "device_project_trgm"),
        ("hardware_version", "device_hardware_version_trgm"),
    ):
        query = Device.objects.filter(**{f"{column}__icontains": "18a"}).values("pk").query
        plan = _explained(*query.sql_with_params(), forbid=("seqscan", "indexscan"))
        checks.append((f"device search by {column}", index, plan))
    for column, index in (
        ("description", "incident_description_trgm"),
        ("fail_item", "incident_fail_item_trgm"),
    ):
        query = Incident.objects.filter(**{f"{column}__icontains": "focus"}).values("pk").query
        plan = _explained(*query.sql_with_params(), forbid=("seqscan", "indexscan"))
        checks.append((f"incident search by {column}", index, plan))

    client = Client()
    client.force_login(Employee.objects.get(username="admin"))
    page = client.get(reverse("admin:locations_device_changelist"))
    query = page.context["cl"].result_list.query
    plan = _explained(*query.sql_with_params(), forbid=("sort",))
    checks.append(("device list, first page in order", "device_list_order", plan))

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        plan = message_search(Message.objects.all(), "射频测试").explain()
    checks.append(("chat search", "message_search_vector_idx", plan))

    scope = Scope()
    sql = _last_query(outcomes_by_week, scope)
    for index in ("incident_closed_at", "event_beyond_retest"):
        checks.append((f"dashboard outcomes by week ({index})", index, _explained(sql)))
    sql = _last_query(false_fails, scope)
    for index in ("incident_closed_at", "event_beyond_retest"):
        checks.append((f"dashboard false-fail stations ({index})", index, _explained(sql)))
    checks.append(
        (
            "dashboard oldest open incidents",
            "incident_open_by_stage_entry",
            _explained(_last_query(oldest_open, scope), forbid=("seqscan", "sort")),
        )
    )
    checks.append(
        (
            "dashboard end-to-end times",
            "incident_closed_at",
            _explained(_last_query(end_to_end_times, scope)),
        )
    )
    fae = Department.objects.filter(code="FAE").first()
    if fae is not None:
        incidents = Scope.from_params({"department": str(fae.pk)}, None).incidents()
        plan = _explained(*incidents.values("pk").query.sql_with_params())
        checks.append(("dashboard, a department's past stages", "event_incident_stage", plan))
    return checks


def run() -> None:
    if connection.vendor != "postgresql":
        print("plans: PostgreSQL's plans only; skipped on", connection.vendor)
        return
    call_command("seed_demo", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print("Query plans on the demo data (1 = read through the index named):")
    for what, index, plan in _checks():
        used = index in plan
        figure("plans", what, 1.0 if used else 0.0, "", goal=f"1: through {index}")
        print(f"  {'yes' if used else 'NO '}  {what}: {index}")
        if not used:
            print("       " + plan.replace("\n", "\n       "))
