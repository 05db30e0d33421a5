"""Two people acting on the same incident at the same moment, each in its own thread and database
connection: the row lock lets one through, the other is told the incident changed."""

import threading
import time

import pytest
from django.db import connection, transaction

from incidents.choices import Stage, Step, Verdict, WorkflowAction
from incidents.models import Department, Incident, Notification
from incidents.services import (
    IncidentChanged,
    WorkflowError,
    incident_approve,
    incident_assign,
    incident_reject,
)
from tests.factories import SupervisorFactory
from tests.incidents.test_workflow import build_team, open_incident, submitted

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL: row locks (SELECT … FOR UPDATE) are what these tests exercise; "
        "set DATABASE_URL=postgres://…",
    ),
    # Real commits so each thread's own connection sees the data; the serialized rollback puts
    # the departments and stage owners of the data migration back after the flush.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

ROUNDS = 5
# How long the first thread keeps the incident row locked after its change, before committing:
# long enough that the other thread is surely waiting on the lock by then.
HOLD_SECONDS = 0.15
CHANGED = "changed while you were looking at it"
# What each person saw on the page when they clicked.
SHOWN_SUBMITTED = (Stage.FAE_RETEST, Step.SUBMITTED)
SHOWN_UNASSIGNED = (Stage.FAE_RETEST, Step.UNASSIGNED)


def race(*calls, hold: float = HOLD_SECONDS):
    """Run `calls` in threads released together, each in a transaction held `hold` seconds
    after its call; each result or raised error, in order."""
    barrier = threading.Barrier(len(calls))
    outcomes: list = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait(timeout=10)
            # An outer transaction, as a request would have: the row lock is held until commit.
            with transaction.atomic():
                outcomes[index] = call()
                time.sleep(hold)
        except Exception as error:
            outcomes[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck"
    return outcomes


def winners_and_losers(outcomes):
    losers = [o for o in outcomes if isinstance(o, Exception)]
    winners = [o for o in outcomes if not isinstance(o, Exception)]
    return winners, losers


def assert_told_it_changed(error: Exception) -> None:
    assert isinstance(error, WorkflowError), repr(error)
    assert isinstance(error, IncidentChanged), error.message
    assert CHANGED in error.message
    assert "Nothing was done" in error.message


@pytest.fixture
def team():
    return build_team()


@pytest.fixture
def second_fae_supervisor():
    fae = Department.objects.get(code="FAE")
    supervisor = SupervisorFactory(department=fae)
    fae.supervisors.add(supervisor)
    return supervisor


class SimultaneousApprovalTests:
    @pytest.mark.parametrize("who", ["two supervisors", "one supervisor in two tabs"])
    def test_only_one_of_two_simultaneous_approvals_goes_through(
        self, team, second_fae_supervisor, who
    ):
        first = team.supervisor(Stage.FAE_RETEST)
        second = second_fae_supervisor if who == "two supervisors" else first

        for _round in range(ROUNDS):
            incident = submitted(team, Stage.FAE_RETEST, verdict=Verdict.FAIL)

            outcomes = race(
                lambda incident=incident: incident_approve(
                    incident=incident, by=first, expected=SHOWN_SUBMITTED
                ),
                lambda incident=incident: incident_approve(
                    incident=incident, by=second, expected=SHOWN_SUBMITTED
                ),
            )

            winners, losers = winners_and_losers(outcomes)
            assert len(winners) == 1 and len(losers) == 1, outcomes
            assert_told_it_changed(losers[0])
            incident = Incident.objects.get(pk=incident.pk)
            assert (incident.stage, incident.step) == (Stage.XRAY, Step.UNASSIGNED)
            assert incident.stage_round == 1
            approvals = incident.events.filter(action=WorkflowAction.APPROVE)
            assert approvals.count() == 1
            assert approvals.get().from_stage == Stage.FAE_RETEST
            # Told once each: the assignee and the X-ray supervisor, no duplicate from the loser.
            approved_notifications = Notification.objects.filter(
                incident=incident, action=WorkflowAction.APPROVE
            )
            assert sorted(n.recipient_id for n in approved_notifications) == sorted(
                [team.worker(Stage.FAE_RETEST).pk, team.supervisor(Stage.XRAY).pk]
            )

    def test_approve_and_reject_at_the_same_moment_leave_consistent_data(
        self, team, second_fae_supervisor
    ):
        approver = team.supervisor(Stage.FAE_RETEST)
        rejecter = second_fae_supervisor

        for _round in range(ROUNDS):
            incident = submitted(team, Stage.FAE_RETEST, verdict=Verdict.FAIL)

            approved, rejected = race(
                lambda incident=incident: incident_approve(
                    incident=incident, by=approver, expected=SHOWN_SUBMITTED
                ),
                lambda incident=incident: incident_reject(
                    incident=incident,
                    by=rejecter,
                    reason="Retest at 40 °C",
                    expected=SHOWN_SUBMITTED,
                ),
            )

            winners, losers = winners_and_losers([approved, rejected])
            assert len(winners) == 1 and len(losers) == 1, (approved, rejected)
            assert_told_it_changed(losers[0])
            incident = Incident.objects.get(pk=incident.pk)
            approvals = incident.events.filter(action=WorkflowAction.APPROVE).count()
            rejections = incident.events.filter(action=WorkflowAction.REJECT).count()
            if isinstance(rejected, Exception):
                assert (incident.stage, incident.step) == (Stage.XRAY, Step.UNASSIGNED)
                assert incident.stage_round == 1
                assert incident.assignee is None
                assert (approvals, rejections) == (1, 0)
            else:
                assert (incident.stage, incident.step) == (Stage.FAE_RETEST, Step.ASSIGNED)
                assert incident.stage_round == 2
                assert incident.assignee == team.worker(Stage.FAE_RETEST)
                assert (approvals, rejections) == (0, 1)

    def test_two_supervisors_assigning_at_once_give_the_stage_to_one_person(
        self, team, second_fae_supervisor
    ):
        fae_staff = [team.worker(Stage.FAE_RETEST), team.fae_colleague]

        for _round in range(ROUNDS):
            incident = open_incident(team, Stage.FAE_RETEST)

            outcomes = race(
                lambda incident=incident: incident_assign(
                    incident=incident,
                    assignee=fae_staff[0],
                    by=team.supervisor(Stage.FAE_RETEST),
                    expected=SHOWN_UNASSIGNED,
                ),
                lambda incident=incident: incident_assign(
                    incident=incident,
                    assignee=fae_staff[1],
                    by=second_fae_supervisor,
                    expected=SHOWN_UNASSIGNED,
                ),
            )

            winners, losers = winners_and_losers(outcomes)
            assert len(winners) == 1 and len(losers) == 1, outcomes
            assert_told_it_changed(losers[0])
            incident = Incident.objects.get(pk=incident.pk)
            assert incident.step == Step.ASSIGNED
            assert incident.assignee == winners[0].assignee
            assert incident.events.filter(action=WorkflowAction.ASSIGN).count() == 1
            assert (
                Notification.objects.filter(incident=incident, action=WorkflowAction.ASSIGN)
                .get()
                .recipient
                == incident.assignee
            )
