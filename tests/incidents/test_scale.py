"""seed_scale: a large factory made up quickly, which reads as if the workflow had made it."""

from collections import defaultdict
from io import StringIO
from itertools import pairwise

import pytest
from django.apps import apps
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client
from django.urls import reverse

from incidents.choices import (
    NEXT_STAGE,
    STAGE_VERDICTS,
    TERMINAL_STAGES,
    Stage,
    Step,
    WorkflowAction,
)
from incidents.dashboard import Scope, stage_cycle_times
from incidents.models import (
    AnalysisResult,
    Department,
    Employee,
    Incident,
    IncidentEvent,
    OperationRecord,
    StageOwnership,
)
from incidents.scale import seed_scale
from incidents.services.workflow import visit_ends_write
from locations.models import Device
from messaging.choices import MessageKind
from messaging.models import Message
from messaging.search import message_search
from tests.factories import LocationFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="seed_scale is made for PostgreSQL (COPY)"
    ),
]

N = 200


def row_counts() -> dict[str, int]:
    return {model._meta.label: model.objects.count() for model in apps.get_models()}


@pytest.fixture
def seeded():
    """N incidents on a database holding only what the migrations made, and the counts."""
    before = row_counts()
    counts = seed_scale(N, seed=1)
    return counts, before


class SeedScaleTests:
    def test_the_counts_it_returns_are_the_rows_it_wrote(self, seeded):
        counts, before = seeded

        after = row_counts()

        # (The services it calls for roles and supervisors may keep their own records too.)
        assert {label: after[label] - before[label] for label in counts} == counts
        assert {
            "locations.Device",
            "locations.HistoricalDevice",
            "incidents.Incident",
            "incidents.IncidentEvent",
            "messaging.Message",
        } <= set(counts)

    def test_the_factory_has_the_proportions_of_a_real_one(self, seeded):
        counts, _before = seeded

        assert counts["incidents.Incident"] == N
        assert counts["locations.Device"] == N * 8 // 10
        assert counts["incidents.Employee"] >= 20
        assert counts["incidents.ProblemGroup"] == N // 200
        assert N <= counts["incidents.OperationRecord"] <= 4 * N
        assert N <= counts["incidents.AnalysisResult"] <= 3 * N
        assert 0.3 * N <= counts["incidents.Notification"] <= 0.7 * N
        assert 2 * N <= counts["messaging.Message"] <= 4 * N
        trail_per_device = counts["locations.HistoricalDevice"] / counts["locations.Device"]
        assert 8 <= trail_per_device <= 13
        stages = {row["stage"]: row["n"] for row in _stage_counts()}
        closed = sum(stages.get(stage, 0) for stage in TERMINAL_STAGES)
        assert all(stages.get(stage) for stage in TERMINAL_STAGES)
        assert 0.85 * N <= closed < N
        open_stages = {stage for stage in stages if stage not in TERMINAL_STAGES}
        assert len(open_stages) >= 4
        assert Device.objects.filter(incidents__stage=Stage.RETURNED).exists()
        several = [d for d in _incidents_by_device().values() if len(d) > 1]
        assert several, "some devices failed more than once"

    def test_a_device_has_at_most_one_open_incident_and_its_incidents_follow_each_other(
        self, seeded
    ):
        for incidents in _incidents_by_device().values():
            assert all(i["stage"] in TERMINAL_STAGES for i in incidents[:-1])
            for one, then in pairwise(incidents):
                assert one["closed_at"] < then["opened_at"]

    def test_every_timeline_leads_to_the_incident_as_it_stands(self, seeded):
        events, records, results = defaultdict(list), defaultdict(list), defaultdict(list)
        for event in IncidentEvent.objects.order_by("created_at", "id"):
            events[event.incident_id].append(event)
        for record in OperationRecord.objects.all():
            records[record.incident_id].append(record)
        for result in AnalysisResult.objects.order_by("created_at", "id"):
            results[result.incident_id].append(result)

        for incident in Incident.objects.all():
            replay(incident, events[incident.pk], records[incident.pk], results[incident.pk])

    def test_every_stage_visit_ends_when_the_workflow_would_have_written_it(self, seeded):
        def ends():
            return dict(IncidentEvent.objects.values_list("id", "left_at"))

        seeded_ends = ends()
        visit_ends_write()

        assert seeded_ends == ends()
        assert sum(1 for left in seeded_ends.values() if left is not None) > N

    def test_the_trail_of_every_device_ends_where_the_device_is(self, seeded):
        trails = defaultdict(list)
        for row in Device.history.order_by("history_date", "history_id"):
            trails[row.id].append(row)

        for device in Device.objects.all():
            trail = trails[device.pk]
            assert trail[0].history_type == "+"
            assert all(row.history_type == "~" and row.history_change_reason for row in trail[1:])
            dates = [row.history_date for row in trail]
            assert dates == sorted(set(dates)), device
            assert (trail[-1].location_id, trail[-1].holder_id) == (
                device.location_id,
                device.holder_id,
            )

    def test_the_admin_opens_for_a_supervisor_on_the_seeded_data(self, seeded):
        supervisor = Department.objects.get(code="FAE").supervisors.first()
        client = Client()
        client.force_login(supervisor)
        device = Device.objects.filter(incidents__stage=Stage.SCRAPPED).first()

        assert client.get(reverse("admin:incidents_incident_changelist")).status_code == 200
        assert (
            client.get(reverse("admin:locations_device_change", args=[device.pk])).status_code
            == 200
        )
        assert client.get(reverse("admin:index")).status_code == 200
        cycle = {row["stage"]: row["count"] for row in stage_cycle_times(Scope())}
        assert cycle[Stage.REPORTED] > 0 and cycle[Stage.FAE_RETEST] > 0

    def test_chat_messages_are_found_by_the_search_as_sent_ones_are(self, seeded):
        messages = Message.objects.all()

        found = set(message_search(messages, "实验").values_list("id", flat=True))

        expected = messages.filter(kind=MessageKind.TEXT, text__contains="实验")
        assert found and found == set(expected.values_list("id", flat=True))

    def test_running_it_again_adds_a_second_set_beside_the_first(self):
        seed_scale(50)
        out = StringIO()

        call_command("seed_scale", "--incidents", "50", stdout=out)

        assert Incident.objects.count() == 100
        assert Device.objects.count() == 80
        assert Employee.objects.filter(employee_number__startswith="SC02-").count() >= 20
        assert "Seeded 50 incidents" in out.getvalue()
        assert "incidents.IncidentEvent" in out.getvalue()

    def test_it_keeps_the_work_places_a_stage_has_and_gives_its_labs_to_the_others(self):
        StageOwnership.objects.filter(stage=Stage.XRAY).update(
            work_location=LocationFactory(code="XRAY-LAB")
        )

        seed_scale(50)

        places = dict(StageOwnership.objects.values_list("stage", "work_location__code"))
        assert places[Stage.XRAY] == "XRAY-LAB"
        assert places[Stage.EE_ANALYSIS] == "SC01-EE-LAB"
        taken = Device.history.filter(history_change_reason="X-ray检测")
        assert set(taken.values_list("location__code", flat=True)) == {"XRAY-LAB"}

    def test_the_command_refuses_a_database_other_than_postgresql_unless_told(self, monkeypatch):
        monkeypatch.setattr("incidents.management.commands.seed_scale.supported", lambda: False)

        with pytest.raises(CommandError, match="--allow-sqlite"):
            call_command("seed_scale", "--incidents", "10")

        assert not Incident.objects.exists()


def _stage_counts():
    from django.db.models import Count

    return Incident.objects.values("stage").annotate(n=Count("id")).order_by()


def _incidents_by_device() -> dict[int, list[dict]]:
    by_device = defaultdict(list)
    rows = Incident.objects.order_by("opened_at").values(
        "device_id", "stage", "opened_at", "closed_at"
    )
    for row in rows:
        by_device[row["device_id"]].append(row)
    return by_device


def replay(incident, events, records, results) -> None:
    """Walk the timeline as the workflow would and check it ends in the incident's state: each
    entry starts where the previous one ended, a submission has its round's record, an
    approval goes where the round's latest verdict leads."""
    stage, step, round_, assignee = Stage.REPORTED, Step.UNASSIGNED, 1, None
    entered = incident.opened_at
    assert events[0].action == WorkflowAction.OPEN and events[0].created_at == incident.opened_at
    for event in events:
        assert (event.from_stage, event.from_step) == (stage, step), (incident.pk, event)
        if event.action == WorkflowAction.ASSIGN:
            assignee = event.assignee_id
        elif event.action == WorkflowAction.SUBMIT:
            assert any(
                (r.stage, r.round) == (stage, round_) and r.created_at <= event.created_at
                for r in records
            ), (incident.pk, event)
        elif event.action == WorkflowAction.REJECT:
            round_ += 1
        elif event.action == WorkflowAction.APPROVE:
            verdict = None
            if stage in STAGE_VERDICTS:
                verdicts = [
                    r.verdict
                    for r in results
                    if (r.stage, r.round) == (stage, round_) and r.created_at <= event.created_at
                ]
                verdict = verdicts[-1]
            assert NEXT_STAGE[(stage, verdict)] == event.to_stage, (incident.pk, event)
        if event.from_stage != event.to_stage:
            round_, assignee, entered = 1, None, event.created_at
        stage, step = event.to_stage, event.to_step
    assert (stage, step, round_) == (incident.stage, incident.step, incident.stage_round)
    assert assignee == incident.assignee_id
    assert entered == incident.stage_entered_at
    if stage in TERMINAL_STAGES:
        assert step == Step.CLOSED and incident.closed_at == entered
    else:
        assert incident.closed_at is None
