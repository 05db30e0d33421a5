"""Four eyes on every path: nobody who assigned a round to themself or wrote any of its records
or results approves it, even after handing the stage to a colleague who only clicks Submit;
a send-back starts a new round, whose reviewer may be the one who took an earlier one."""

import pytest

from incidents.choices import DepartmentCode, Stage, Step, Verdict, WorkflowAction
from incidents.models import Department
from incidents.rules import Facts, refusal
from incidents.services import (
    WorkflowError,
    analysis_result_add,
    incident_approve,
    incident_assign,
    incident_reject,
    incident_submit,
    operation_record_add,
)
from tests.factories import StaffFactory, SupervisorFactory
from tests.incidents.test_workflow import build_team, open_incident

pytestmark = pytest.mark.django_db

SELF_APPROVAL = "You did the work of this stage, so you cannot approve it yourself"


@pytest.fixture
def team():
    return build_team()


def fae_people(team):
    fae = Department.objects.get(code=DepartmentCode.FAE)
    colleague = StaffFactory(department=fae)
    second = SupervisorFactory(department=fae)
    fae.supervisors.add(second)
    return team.supervisor(Stage.FAE_RETEST), colleague, second


def laundered(team, *, records: bool = True, result: bool = True):
    """The supervisor takes the stage, does the work, gives it to a colleague who submits."""
    lead, colleague, second = fae_people(team)
    incident = open_incident(team, Stage.FAE_RETEST)
    incident_assign(incident=incident, assignee=lead, by=lead)
    if records:
        operation_record_add(incident=incident, by=lead, action="Retest on the golden station")
    if result:
        analysis_result_add(incident=incident, by=lead, findings="Passes", verdict=Verdict.PASS)
    incident_assign(incident=incident, assignee=colleague, by=lead)
    if not records:
        operation_record_add(incident=incident, by=colleague, action="Retest")
    incident_submit(incident=incident, by=colleague)
    incident.refresh_from_db()
    return incident, lead, colleague, second


class FourEyesTests:
    def test_a_supervisor_who_did_the_work_and_handed_it_on_cannot_approve_it(self, team):
        incident, lead, _colleague, _second = laundered(team)

        with pytest.raises(WorkflowError, match=SELF_APPROVAL):
            incident_approve(incident=incident, by=lead)

        incident.refresh_from_db()
        assert (incident.stage, incident.step) == (Stage.FAE_RETEST, Step.SUBMITTED)

    def test_writing_only_the_verdict_is_enough_to_be_refused(self, team):
        incident, lead, _colleague, _second = laundered(team, records=False)

        with pytest.raises(WorkflowError, match=SELF_APPROVAL):
            incident_approve(incident=incident, by=lead)

    def test_assigning_the_round_to_themself_is_enough_to_be_refused(self, team):
        lead, colleague, _second = fae_people(team)
        incident = open_incident(team, Stage.FAE_RETEST)
        incident_assign(incident=incident, assignee=lead, by=lead)
        incident_assign(incident=incident, assignee=colleague, by=lead)
        operation_record_add(incident=incident, by=colleague, action="Retest")
        analysis_result_add(
            incident=incident, by=colleague, findings="Passes", verdict=Verdict.PASS
        )
        incident_submit(incident=incident, by=colleague)

        with pytest.raises(WorkflowError, match=SELF_APPROVAL):
            incident_approve(incident=incident, by=lead)

    def test_another_supervisor_approves_it(self, team):
        incident, _lead, _colleague, second = laundered(team)

        incident_approve(incident=incident, by=second)

        incident.refresh_from_db()
        assert incident.stage == Stage.RETURNED

    def test_the_supervisor_who_only_assigned_someone_else_approves(self, team):
        lead, colleague, _second = fae_people(team)
        incident = open_incident(team, Stage.FAE_RETEST)
        incident_assign(incident=incident, assignee=colleague, by=lead)
        operation_record_add(incident=incident, by=colleague, action="Retest")
        analysis_result_add(incident=incident, by=colleague, findings="Fails", verdict=Verdict.FAIL)
        incident_submit(incident=incident, by=colleague)

        incident_approve(incident=incident, by=lead)

        incident.refresh_from_db()
        assert incident.stage == Stage.XRAY

    def test_a_new_round_after_a_send_back_is_judged_on_its_own(self, team):
        incident, lead, colleague, second = laundered(team)
        incident_reject(incident=incident, by=second, reason="Attach the log")
        operation_record_add(incident=incident, by=colleague, action="Log attached")
        analysis_result_add(
            incident=incident, by=colleague, findings="Passes", verdict=Verdict.PASS
        )
        incident_submit(incident=incident, by=colleague)

        incident_approve(incident=incident, by=lead)

        incident.refresh_from_db()
        assert incident.stage == Stage.RETURNED

    def test_the_list_answers_the_same_for_many_incidents_in_few_queries(
        self, team, django_assert_max_num_queries
    ):
        incident, lead, _colleague, second = laundered(team)
        facts = Facts(lead, [incident])

        with django_assert_max_num_queries(6):
            said = refusal(incident, WorkflowAction.APPROVE, lead, facts)

        assert SELF_APPROVAL in said
        assert refusal(incident, WorkflowAction.APPROVE, second, Facts(second, [incident])) is None
