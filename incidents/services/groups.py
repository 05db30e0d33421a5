"""Putting an incident in the problem group its failure was suggested for (the incident page's
"Seen before", incidents.selectors.similar) in one click."""

from django.db import transaction

from incidents import rules
from incidents.models import Employee, Incident, ProblemGroup
from incidents.services.errors import WorkflowError
from incidents.services.workflow import incident_set_problem_group


@transaction.atomic
def incident_join_problem_group(
    *, incident: Incident, problem_group: ProblemGroup, by: Employee
) -> Incident:
    """Put the open `incident` in the open `problem_group`: a supervisor's or an
    administrator's decision (`rules.group_join_refusal`), written by the service that sets an
    incident's group (locked, on the timeline and in the history)."""
    refusal = rules.group_join_refusal(incident, problem_group, by)
    if refusal:
        raise WorkflowError(refusal)
    return incident_set_problem_group(incident=incident, problem_group=problem_group, by=by)
