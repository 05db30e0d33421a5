"""Writes for incidents and the people who work them. Admin classes, commands and imports call
these; each is atomic and refuses what the rules refuse, with the reason in words."""

from incidents.services.errors import IncidentChanged, WorkflowError
from incidents.services.people import (
    department_add_supervisors,
    department_set_supervisors,
    employee_build,
    employee_create,
    employee_deactivate,
    employee_update,
)
from incidents.services.records import analysis_result_add, operation_record_add
from incidents.services.workflow import (
    INCIDENT_DETAIL_FIELDS,
    UNCHANGED,
    incident_approve,
    incident_assign,
    incident_cancel,
    incident_open,
    incident_reject,
    incident_set_problem_group,
    incident_submit,
    incident_update,
    problem_group_get_or_create,
)

__all__ = [
    "INCIDENT_DETAIL_FIELDS",
    "UNCHANGED",
    "IncidentChanged",
    "WorkflowError",
    "analysis_result_add",
    "department_add_supervisors",
    "department_set_supervisors",
    "employee_build",
    "employee_create",
    "employee_deactivate",
    "employee_update",
    "incident_approve",
    "incident_assign",
    "incident_cancel",
    "incident_open",
    "incident_reject",
    "incident_set_problem_group",
    "incident_submit",
    "incident_update",
    "operation_record_add",
    "problem_group_get_or_create",
]
