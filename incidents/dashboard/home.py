"""The figures of the home page that concern the person looking: their departments' load, and for
administrators what stops the workflow."""

from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from incidents.choices import OPEN_STAGES, Stage
from incidents.models import Department, Incident, StageOwnership

# --- what concerns the person looking -------------------------------------------------------------
# The people a supervisor's home lists per department, the most loaded first: a department of
# hundreds listed them all (some 250 at 100,000 incidents), most of the home's time and size.
LOAD_SIZE = 12


def department_load(department: Department, viewer, size: int | None = None) -> list[dict]:
    """Each active member of the department with the open incidents assigned to them (of the
    projects `viewer` sees), the most loaded first (then by name); the first `size` only when
    given."""
    return department_load_and_others(department, viewer, size)[0]


def department_load_and_others(
    department: Department, viewer, size: int | None = None
) -> tuple[list[dict], int]:
    """`department_load`, and how many active members it leaves out."""
    members = list(
        department.employees.filter(is_active=True)
        .order_by("display_name")
        .values_list("pk", flat=True)
    )
    # Counted from the open incidents (an index range), not joined to every incident each
    # member was ever assigned.
    counts = dict(
        Incident.objects.order_by()
        .visible_to(viewer)
        .filter(stage__in=OPEN_STAGES, assignee__in=members)
        .values_list("assignee")
        .annotate(n=Count("id"))
    )
    ranked = sorted(members, key=lambda pk: -counts.get(pk, 0))
    shown = ranked if size is None else ranked[:size]
    people = department.employees.in_bulk(shown)
    load = [{"person": people[pk], "count": counts.get(pk, 0)} for pk in shown]
    return load, len(members) - len(shown)


def misconfigurations() -> list[str]:
    """What stops the workflow, for administrators: open stages no department owns, and
    departments owning a stage without any supervisor to assign or review it."""
    problems = []
    owned = set(StageOwnership.objects.values_list("stage", flat=True))
    for stage in OPEN_STAGES:
        if stage not in owned:
            problems.append(
                _("No department owns the stage “%(stage)s”: set it in Stage ownership.")
                % {"stage": Stage(stage).label}
            )
    unsupervised = Department.objects.filter(
        pk__in=StageOwnership.objects.values("department"), supervisors__isnull=True
    )
    for department in unsupervised.order_by("code"):
        problems.append(
            _("%(department)s owns stages but has no supervisor to assign or review them.")
            % {"department": department.localized_name}
        )
    return problems
