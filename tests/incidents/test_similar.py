"""Seen before: a hand-made history of the same failure, and what the incident page and the
ranking make of it (the order, how each ended, the verdict and findings that resolved it, the
chat's evidence), what a confidential project keeps out of it, the problem groups suggested
and the one-click join a supervisor makes."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import TestCase
from django.urls import reverse
from django.utils import timezone

from incidents.choices import ProblemGroupStatus, Stage, Verdict
from incidents.selectors import similar_incidents, suggested_groups, ungrouped_failures
from incidents.selectors.similar import MIN_TEXT_SIMILARITY, Outcome
from incidents.services import (
    WorkflowError,
    analysis_result_add,
    incident_approve,
    incident_assign,
    incident_cancel,
    incident_join_problem_group,
    incident_open,
    incident_submit,
    operation_record_add,
)
from messaging.services import evidence_mark, message_send, room_for
from tests.factories import DeviceFactory, ProblemGroupFactory, StaffFactory
from tests.incidents.test_access import restrict
from tests.incidents.test_people import client_for
from tests.incidents.test_workflow import build_team
from tests.incidents.test_workflow_admin import messages_of

STATION, ITEM = "CAMERA", "BT_RSSI"
KIND = {"project": "Heron", "hardware_version": "EVT2"}
OTHER_KIND = {"project": "Osprey", "hardware_version": "DVT1"}
WORDS = "蓝牙信号弱 BT RSSI low after the drop test, antenna area"


def opened(team, days_ago: int, *, kind=KIND, station=STATION, item=ITEM, description="", **more):
    return incident_open(
        device=DeviceFactory(**kind),
        reporter=team.reporter,
        opened_at=timezone.now() - timedelta(days=days_ago),
        fail_station=station,
        fail_item=item,
        description=description,
        **more,
    )


def stage_done(team, incident, findings: str = "", verdict: str = "", evidence: str = ""):
    """Work the incident's stage to its approval, with these findings and verdict (and a chat
    message marked as its evidence)."""
    stage = Stage(incident.stage)
    supervisor, worker = team.supervisor(stage), team.worker(stage)
    incident = incident_assign(incident=incident, assignee=worker, by=supervisor)
    record = operation_record_add(incident=incident, by=worker, action=f"Worked on {stage}")
    if verdict:
        analysis_result_add(
            incident=incident,
            by=worker,
            findings=findings,
            verdict=verdict,
            operation_record=record,
        )
    if evidence:
        message, _new = message_send(room=room_for(incident=incident), author=worker, text=evidence)
        evidence_mark(message=message, by=worker)
    incident = incident_submit(incident=incident, by=worker)
    return incident_approve(incident=incident, by=supervisor)


class SeenBeforeTests(TestCase):
    """Incidents opened `n` days ago, so the most recent is known."""

    @classmethod
    def setUpTestData(cls):
        team = cls.team = build_team()
        cls.incident = opened(team, 0, description=WORDS)
        # The same failure on a device of the same kind, resolved by EE and returned.
        cls.resolved = opened(team, 40)
        for stage_findings in (
            ("", ""),
            ("Fails again on the golden station", Verdict.FAIL),
            ("No structural defect in the image", Verdict.PASS),
        ):
            cls.resolved = stage_done(team, cls.resolved, *stage_findings)
        cls.resolved = stage_done(
            team,
            cls.resolved,
            "Antenna spring bent after reflow, replaced the spring",
            Verdict.RESOLVED,
            evidence="Photo of the bent spring is in the log folder",
        )
        cls.resolved = stage_done(team, cls.resolved, "Passes after rework", Verdict.PASS)
        # The same failure on another kind of device: FAE retest passed, no fault found.
        cls.no_fault = opened(team, 30, kind=OTHER_KIND)
        cls.no_fault = stage_done(team, cls.no_fault)
        cls.no_fault = stage_done(team, cls.no_fault, "复测PASS，未复现", Verdict.PASS)
        # The same item at another station on the same kind: scrapped after ME.
        cls.scrapped = opened(team, 20, station="RF-OTA")
        for stage_findings in (
            ("", ""),
            ("Fails again", Verdict.FAIL),
            ("Cracked shield can", Verdict.FAIL),
            ("PCB inner layer broken, cannot be repaired", Verdict.NOT_RESOLVED),
        ):
            cls.scrapped = stage_done(team, cls.scrapped, *stage_findings)
        # The same item at another station on another kind, cancelled.
        cls.cancelled = opened(team, 10, kind=OTHER_KIND, station="RF-OTA", stage=Stage.FAE_RETEST)
        cls.cancelled = incident_cancel(incident=cls.cancelled, by=team.admin, reason="Twice")
        # Another failure on the same kind of device, still open.
        cls.same_kind = opened(team, 5, item="WIFI_TX", station="FCT")
        # Another failure elsewhere, described in nearly the same words.
        cls.close_words = opened(
            team, 3, kind=OTHER_KIND, item="AUDIO_THD", station="AUDIO", description=WORDS
        )
        # Nothing in common.
        cls.unrelated = opened(
            team, 2, kind=OTHER_KIND, item="KEY_STUCK", station="MMI", description="Key stuck"
        )
        # The same failure in a confidential project open to the EE department only.
        cls.hidden = opened(team, 1, kind={"project": "Kite", "hardware_version": "EVT2"})
        cls.outsider = team.supervisor(Stage.FAE_RETEST)
        restrict("Kite", departments=[team.worker(Stage.EE_ANALYSIS).department])

    def ids(self, rows):
        return [row.incident.pk for row in rows]

    def test_the_same_failure_comes_first_then_the_item_then_the_kind_and_close_words(self):
        rows = similar_incidents(self.incident, self.outsider)

        assert self.ids(rows) == [
            self.resolved.pk,
            self.no_fault.pk,
            self.scrapped.pk,
            self.cancelled.pk,
            self.close_words.pk,
            self.same_kind.pk,
        ]
        assert [row.reasons for row in rows] == [
            ["same_failure", "same_kind"],
            ["same_failure"],
            ["same_item", "same_kind"],
            ["same_item"],
            ["close_text"],
            ["same_kind"],
        ]
        assert rows[0].score > rows[1].score > rows[2].score > rows[3].score > rows[4].score

    def test_an_analysed_incident_still_finds_those_described_in_its_words(self):
        # Its findings, twice as long as its description, do not drown the description.
        incident = stage_done(self.team, self.incident)
        stage_done(
            self.team,
            incident,
            "Fails again on the golden station; RF calibration table rewritten, retested "
            "three times with a new fixture cable, fails every time",
            Verdict.FAIL,
        )

        rows = {row.incident.pk: row for row in similar_incidents(incident, self.outsider)}

        assert rows[self.close_words.pk].reasons == ["close_text"]

    def test_each_says_how_it_ended_its_verdict_and_what_resolved_it(self):
        rows = {row.incident.pk: row for row in similar_incidents(self.incident, self.outsider)}

        resolved = rows[self.resolved.pk]
        assert (resolved.outcome, resolved.verdict) == (Outcome.RETURNED, Verdict.PASS)
        assert resolved.resolution == "Antenna spring bent after reflow, replaced the spring"
        assert resolved.resolution_stage == Stage.EE_ANALYSIS
        no_fault = rows[self.no_fault.pk]
        assert (no_fault.outcome, no_fault.verdict) == (Outcome.NO_FAULT_FOUND, Verdict.PASS)
        assert no_fault.resolution == "复测PASS，未复现"
        scrapped = rows[self.scrapped.pk]
        assert (scrapped.outcome, scrapped.verdict) == (Outcome.SCRAPPED, Verdict.NOT_RESOLVED)
        assert scrapped.resolution == "PCB inner layer broken, cannot be repaired"
        assert scrapped.resolution_stage == Stage.ME_ANALYSIS
        assert (rows[self.cancelled.pk].outcome, rows[self.cancelled.pk].verdict) == (
            Outcome.CANCELLED,
            "",
        )
        assert rows[self.same_kind.pk].outcome == Outcome.OPEN

    def test_the_chats_evidence_comes_with_the_incident_it_was_marked_in(self):
        rows = {row.incident.pk: row for row in similar_incidents(self.incident, self.outsider)}

        assert [mark.marked_text for mark in rows[self.resolved.pk].evidence] == [
            "Photo of the bent spring is in the log folder"
        ]
        assert rows[self.no_fault.pk].evidence == []

    def test_a_confidential_project_stays_out_for_those_it_is_not_open_to(self):
        ee_staff = self.team.worker(Stage.EE_ANALYSIS)

        assert self.hidden.pk not in self.ids(similar_incidents(self.incident, self.outsider))
        assert self.hidden.pk not in self.ids(similar_incidents(self.incident, None))
        assert self.hidden.pk in self.ids(similar_incidents(self.incident, ee_staff))
        assert self.hidden.pk in self.ids(similar_incidents(self.incident, self.team.admin))

    def test_close_words_are_read_from_the_similarity_the_panel_keeps(self):
        # Read from more, the nearest findings are rows the panel drops; from less, it loses
        # some of those it keeps.
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('pg_trgm.similarity_threshold')::float")
            threshold = cursor.fetchone()[0]

        assert threshold == pytest.approx(MIN_TEXT_SIMILARITY)

    def test_its_queries_do_not_grow_with_the_history(self):
        similar_incidents(self.incident, self.outsider)

        # The candidates by failure and kind (one UNION), the incident's words, the candidates
        # by words (one UNION), the rows with their outcomes, their results, the evidence.
        with self.assertNumQueries(6):
            similar_incidents(self.incident, self.outsider)

    def test_the_incident_page_shows_them_linked(self):
        page = client_for(self.outsider).get(
            reverse("admin:incidents_incident_change", args=[self.incident.pk])
        )
        html = page.content.decode()

        assert page.status_code == 200
        assert 'data-testid="seen-before"' in html
        assert "Antenna spring bent after reflow, replaced the spring" in html
        assert reverse("admin:incidents_incident_change", args=[self.resolved.pk]) in html
        assert f'data-incident="{self.hidden.pk}"' not in html
        assert "No fault found" in html


class SuggestedGroupTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        team = cls.team = build_team()
        cls.incident = opened(team, 0)
        cls.group = ProblemGroupFactory(number="BUG-2026-0012", title="Camera module BT")
        cls.resolved_group = ProblemGroupFactory(status=ProblemGroupStatus.RESOLVED)
        for days in (1, 2, 3):
            opened(team, days, problem_group=cls.group)
        opened(team, 4, problem_group=cls.resolved_group)
        # Elsewhere on the line, twice, in no group.
        for days in (5, 6):
            opened(team, days, station="AUDIO", item="AUDIO_THD")
        cls.supervisor = team.supervisor(Stage.REPORTED)
        cls.staff = StaffFactory(department=cls.supervisor.department)

    def test_an_open_group_with_the_same_open_failure_is_suggested_with_its_count(self):
        found = suggested_groups(self.incident, self.supervisor)

        assert [(s.number, s.count, s.station, s.item) for s in found] == [
            ("BUG-2026-0012", 3, STATION, ITEM)
        ]

    def test_the_page_says_how_many_share_the_failure(self):
        page = client_for(self.supervisor).get(
            reverse("admin:incidents_incident_change", args=[self.incident.pk])
        )

        assert "3 open incidents in BUG-2026-0012 share CAMERA · BT_RSSI" in page.content.decode()
        assert 'data-testid="join-group"' in page.content.decode()

    def test_a_supervisor_joins_it_in_one_click(self):
        url = reverse("admin:incidents_incident_join_group", args=[self.incident.pk])

        answer = client_for(self.supervisor).post(url, {"problem_group": self.group.pk})

        self.incident.refresh_from_db()
        assert answer.status_code == 302
        assert self.incident.problem_group == self.group
        assert self.incident.events.filter(action="edit").exists()
        assert suggested_groups(self.incident, self.supervisor) == []

    def test_staff_are_refused_on_the_server_and_offered_no_button(self):
        url = reverse("admin:incidents_incident_join_group", args=[self.incident.pk])
        client = client_for(self.staff)

        page = client.get(reverse("admin:incidents_incident_change", args=[self.incident.pk]))
        answer = client.post(url, {"problem_group": self.group.pk})

        self.incident.refresh_from_db()
        assert 'data-testid="join-group"' not in page.content.decode()
        assert self.incident.problem_group is None
        assert messages_of(answer) == [
            "Only a supervisor or an administrator puts an incident in a problem group here."
        ]

    def test_a_resolved_group_takes_no_more_incidents(self):
        with self.assertRaisesMessage(WorkflowError, "takes no more incidents"):
            incident_join_problem_group(
                incident=self.incident, problem_group=self.resolved_group, by=self.supervisor
            )

    def test_hostile_ids_are_refused_never_500(self):
        client = client_for(self.supervisor)
        for incident_id in ("0", str(2**63), "99999999999999999999", "-1"):
            for group in ("abc", str(2**64), "", "\x00", "1" * 500):
                url = f"/admin/incidents/incident/{incident_id}/join-group/"
                # A NUL anywhere in a request is refused before any view (400).
                assert client.post(url, {"problem_group": group}).status_code in (400, 404)
        url = reverse("admin:incidents_incident_join_group", args=[self.incident.pk])
        assert client.post(url, {"problem_group": "-5"}).status_code == 404
        assert client.get(url).status_code == 405

    def test_the_dashboard_suggests_failures_shared_by_open_incidents_in_no_group(self):
        found = ungrouped_failures(self.supervisor)
        page = client_for(self.supervisor).get(reverse("admin:index"))
        html = page.content.decode()

        # The incident asked about is alone with its failure outside a group: not a group yet.
        assert [(row["fail_station"], row["fail_item"], row["count"]) for row in found] == [
            ("AUDIO", "AUDIO_THD", 2)
        ]
        assert 'data-testid="ungrouped-failures"' in html
        assert "2 open incidents share AUDIO · AUDIO_THD" in html
        listed = client_for(self.supervisor).get(
            reverse("admin:incidents_incident_changelist")
            + "?state=open&fail_station=AUDIO&fail_item=AUDIO_THD&problem_group__isnull=True"
        )
        assert listed.status_code == 200
        assert listed.context["cl"].result_count == 2
