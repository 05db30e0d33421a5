"""Two workers checking the stage deadlines at the same moment, each in its own thread and
database connection: every crossing is told once, whichever writes it first."""

import datetime
import threading
import time

import pytest
from django.db import connection
from django.utils import timezone

from incidents.choices import Stage, WorkflowAction
from incidents.models import DeadlineCrossing, Incident, Notification, StageOwnership
from incidents.selectors.deadlines import deadlines_read
from incidents.services import incident_assign
from incidents.services.deadlines import deadline_cross, deadlines_escalate, deadlines_watch
from tests.incidents.test_concurrency import race
from tests.incidents.test_workflow import build_team, open_incident

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL: two connections racing on one unique row; "
        "set DATABASE_URL=postgres://…",
    ),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
# How long the first writer keeps its transaction open after writing the crossing: long enough
# that the other is surely waiting on it by then.
HOLD_SECONDS = 0.2


@pytest.fixture
def late_incidents():
    StageOwnership.objects.filter(stage=Stage.XRAY).update(target=1, target_unit="days")
    team = build_team()
    incidents = []
    for _ in range(6):
        incident = incident_assign(
            incident=open_incident(team, Stage.XRAY),
            assignee=team.worker(Stage.XRAY),
            by=team.supervisor(Stage.XRAY),
        )
        Incident.objects.filter(pk=incident.pk).update(
            stage_entered_at=timezone.now() - datetime.timedelta(days=30)
        )
        incident.refresh_from_db()
        incidents.append(incident)
    Notification.objects.all().delete()
    return incidents


def test_one_crossing_written_by_two_at_once_is_told_once(late_incidents):
    incident = late_incidents[0]
    deadline = deadlines_read().deadline(incident)

    outcomes = race(
        lambda: deadline_cross(incident=incident, level=1, deadline=deadline),
        lambda: deadline_cross(incident=incident, level=1, deadline=deadline),
        hold=HOLD_SECONDS,
    )

    assert sorted(outcomes) == [False, True], outcomes
    assert DeadlineCrossing.objects.filter(incident=incident).count() == 1
    told = Notification.objects.filter(incident=incident, action=WorkflowAction.OVERDUE)
    assert told.count() == 2  # the assignee and the supervisor, once each


def test_two_workers_checking_at_once_tell_each_crossing_once(late_incidents):
    outcomes = race(deadlines_escalate, deadlines_escalate, deadlines_escalate, hold=0)

    assert all(isinstance(told, int) for told in outcomes), outcomes
    # Six incidents, each past both levels: twelve crossings, however they were shared.
    assert sum(outcomes) == 12
    assert DeadlineCrossing.objects.count() == 12
    per_person = Notification.objects.values_list("recipient", "incident", "action")
    assert len(per_person) == len(set(per_person))
    assert deadlines_escalate() == 0


def test_the_workers_watch_tells_the_crossings_on_its_own(late_incidents):
    """What `manage.py db_worker` starts: a thread of its own, with its own connection, that
    checks again and again."""
    stop = threading.Event()
    watch = deadlines_watch(every=0.2, stop=stop)
    try:
        deadline = time.monotonic() + 30
        while DeadlineCrossing.objects.count() < 12 and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)  # a few more rounds tell nothing again
    finally:
        stop.set()
        watch.join(timeout=30)

    assert not watch.is_alive()
    assert DeadlineCrossing.objects.count() == 12
    escalated = Notification.objects.filter(action=WorkflowAction.ESCALATE)
    pairs = list(escalated.values_list("recipient", "incident"))
    assert len(pairs) == len(set(pairs))
    assert {incident for _person, incident in pairs} == {i.pk for i in late_incidents}
