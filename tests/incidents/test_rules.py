"""The rules answer the same whether each question reads the database afresh or a page reads
what they need once (`rules.Facts`) and asks all its questions with it."""

import pytest
from django.contrib.auth.models import Group

from incidents import rules
from incidents.capabilities import CapabilityCode, permissions_of
from incidents.choices import Stage, Verdict, WorkflowAction
from incidents.models import Incident
from incidents.selectors import permissions_named, row_action_refusals
from incidents.services import (
    WorkflowError,
    analysis_result_add,
    incident_cancel,
    incident_reject,
    operation_record_add,
)
from tests.factories import StaffFactory
from tests.incidents.test_workflow import assigned, build_team, open_incident, submitted

pytestmark = pytest.mark.django_db

ACTIONS = [
    WorkflowAction.ASSIGN,
    WorkflowAction.RECORD,
    WorkflowAction.RESULT,
    WorkflowAction.SUBMIT,
    WorkflowAction.APPROVE,
    WorkflowAction.REJECT,
    WorkflowAction.CANCEL,
]


@pytest.fixture
def team():
    return build_team()


@pytest.fixture
def incidents(team) -> list[Incident]:
    """Every step of a stage without verdicts and of one with them, a verdict of an earlier
    round only, and a closed incident."""
    fae_worker = team.worker(Stage.FAE_RETEST)
    with_record = assigned(team, Stage.FAE_RETEST)
    operation_record_add(incident=with_record, by=fae_worker, action="Retest")
    without_verdict = assigned(team, Stage.FAE_RETEST)
    analysis_result_add(incident=without_verdict, by=fae_worker, findings="Unclear")
    sent_back = incident_reject(
        incident=submitted(team, Stage.FAE_RETEST, Verdict.PASS),
        by=team.supervisor(Stage.FAE_RETEST),
        reason="Attach the log",
    )
    closed = incident_cancel(
        incident=open_incident(team), by=team.admin, reason="Opened twice by mistake"
    )
    made = [
        open_incident(team, Stage.REPORTED),
        open_incident(team, Stage.FAE_RETEST),
        assigned(team, Stage.REPORTED),
        with_record,
        without_verdict,
        sent_back,
        submitted(team, Stage.REPORTED, verdict=None),
        submitted(team, Stage.FAE_RETEST, Verdict.FAIL),
        submitted(team, Stage.XRAY, Verdict.PASS),
        closed,
    ]
    return list(Incident.objects.filter(pk__in=[i.pk for i in made]).select_related("assignee"))


def people(team) -> dict:
    return {
        "production supervisor": team.supervisor(Stage.REPORTED),
        "FAE supervisor": team.supervisor(Stage.FAE_RETEST),
        "FAE assignee": team.worker(Stage.FAE_RETEST),
        "staff elsewhere": StaffFactory(),
        "administrator": team.admin,
    }


class FactsTests:
    def test_every_answer_read_once_for_a_page_is_the_answer_read_afresh(self, team, incidents):
        for who, person in people(team).items():
            facts = rules.Facts(person, incidents)
            for incident in incidents:
                for action in ACTIONS:
                    assert rules.refusal(incident, action, person, facts) == rules.refusal(
                        incident, action, person
                    ), (who, incident, action)

    def test_the_row_menus_of_a_page_read_the_rules_in_a_few_queries_whatever_its_rows(
        self, team, incidents, django_assert_max_num_queries
    ):
        supervisor = team.supervisor(Stage.FAE_RETEST)

        # Who owns the stages, what the person supervises, whether they administer, the
        # rows' verdicts, which projects are hidden from them, who worked the rounds waiting
        # for review (four eyes).
        with django_assert_max_num_queries(6):
            refusals = row_action_refusals(
                incidents, supervisor, [WorkflowAction.ASSIGN, WorkflowAction.APPROVE]
            )

        assert refusals  # the closed incident and the steps where an action means nothing

    def test_a_verdict_counts_only_from_the_round_and_stage_the_incident_is_in(
        self, team, incidents
    ):
        admin = team.admin
        facts = rules.Facts(admin, incidents)

        for incident in incidents:
            assert facts.latest_verdict(incident) == incident.latest_verdict(), incident


class WorkOnAssignedIncidentsTests:
    """Only people whose roles include "Work on assigned incidents" are offered for a stage and
    work on it."""

    def line_leader(self, team):
        """A member of FAE whose only role opens incidents and moves devices."""
        role = Group.objects.create(name="Line leader")
        codes = [CapabilityCode.OPEN_INCIDENTS, CapabilityCode.MOVE_DEVICES]
        role.permissions.set(permissions_named(permissions_of(codes)))
        person = StaffFactory(department=team.worker(Stage.FAE_RETEST).department)
        person.groups.set([role])
        return person

    def test_a_member_without_the_capability_is_not_offered_for_the_stage(self, team):
        leader = self.line_leader(team)
        incident = open_incident(team, Stage.FAE_RETEST)

        assert leader not in rules.assignable_people(incident)
        assert team.worker(Stage.FAE_RETEST) in rules.assignable_people(incident)
        assert "roles do not include “Work on assigned incidents”" in (
            rules.assignment_refusal(incident, leader)
        )

    def test_an_assignee_whose_role_lost_the_capability_is_refused_the_work(self, team):
        incident = assigned(team, Stage.FAE_RETEST)
        worker = team.worker(Stage.FAE_RETEST)
        leader_role = self.line_leader(team).groups.get()
        worker.groups.set([leader_role])
        worker = type(worker).objects.get(pk=worker.pk)  # permissions read afresh

        with pytest.raises(WorkflowError, match="Work on assigned incidents"):
            operation_record_add(incident=incident, by=worker, action="Retest")
        assert not incident.operation_records.exists()


@pytest.mark.django_db
class PersonChangeTests:
    """Only a superuser changes a superuser; roles carry everyone else's rights."""

    def test_an_administrator_may_change_a_colleague_but_not_a_superuser(self, team):
        superuser = StaffFactory(is_superuser=True)
        colleague = StaffFactory()

        assert rules.may_change_person(colleague, team.admin)
        assert not rules.may_change_person(superuser, team.admin)
        assert "superuser" in rules.person_change_refusal(superuser, team.admin)

    def test_a_superuser_and_the_command_line_may_change_a_superuser(self):
        superuser, other = StaffFactory(is_superuser=True), StaffFactory(is_superuser=True)

        assert rules.person_change_refusal(superuser, other) is None
        assert rules.person_change_refusal(superuser, None) is None

    def test_nobody_deactivates_themself_or_a_superuser_without_being_one(self, team):
        superuser = StaffFactory(is_superuser=True)

        assert "own account" in rules.person_deactivation_refusal(team.admin, team.admin)
        assert "superuser" in rules.person_deactivation_refusal(superuser, team.admin)
        assert rules.person_deactivation_refusal(team.admin, superuser) is None
