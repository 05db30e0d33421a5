"""Writes for incidents and the people who work them. Admin classes, commands and imports call
these; each is atomic and refuses what the rules refuse, with the reason in words."""

from incidents.services.departments import (
    UNDECIDED,
    department_add_supervisors,
    department_check,
    department_save,
    department_set_supervisors,
    employee_move,
    employee_move_check,
    stage_ownership_check,
    stage_ownership_save,
)
from incidents.services.eightd import eightd_refusal, eightd_update
from incidents.services.errors import IncidentChanged, WorkflowError
from incidents.services.groups import incident_join_problem_group
from incidents.services.people import (
    employee_build,
    employee_create,
    employee_deactivate,
    employee_update,
)
from incidents.services.records import analysis_result_add, operation_record_add
from incidents.services.roles import role_change_capabilities
from incidents.services.workflow import (
    INCIDENT_DETAIL_FIELDS,
    UNCHANGED,
    incident_approve,
    incident_assign,
    incident_cancel,
    incident_hand_over,
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
    "UNDECIDED",
    "IncidentChanged",
    "WorkflowError",
    "analysis_result_add",
    "department_add_supervisors",
    "department_check",
    "department_save",
    "department_set_supervisors",
    "eightd_refusal",
    "eightd_update",
    "employee_build",
    "employee_create",
    "employee_deactivate",
    "employee_move",
    "employee_move_check",
    "employee_update",
    "incident_approve",
    "incident_assign",
    "incident_cancel",
    "incident_hand_over",
    "incident_join_problem_group",
    "incident_open",
    "incident_reject",
    "incident_set_problem_group",
    "incident_submit",
    "incident_update",
    "operation_record_add",
    "problem_group_get_or_create",
    "role_change_capabilities",
    "stage_ownership_check",
    "stage_ownership_save",
]
