"""The review queue is workable: the analysis-result form insists on a verdict where the stage
routes by one, the page shows the buttons a person expects but cannot use disabled with the
reason (and so does the list's row menu), and a queue is a place: the sidebar marks it, the
page names it, and after a decision the incident's page offers the next one of the queue."""

import json
import re

import pytest
from django.urls import reverse

from incidents import selectors, services
from incidents.admin import queues
from incidents.choices import Stage, Step, Verdict, WorkflowAction
from incidents.forms import AnalysisResultForm
from incidents.models import AnalysisResult
from tests.incidents.test_workflow import assigned, build_team, open_incident, submitted
from tests.incidents.test_workflow_admin import (
    action_url,
    change_url,
    client_for,
    expected,
    messages_of,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(db):
    return build_team()


def own_work_submitted(team):
    """An FAE retest its own supervisor took, worked and submitted."""
    both = team.supervisor(Stage.FAE_RETEST)
    incident = open_incident(team, Stage.FAE_RETEST)
    services.incident_assign(incident=incident, assignee=both, by=both)
    services.operation_record_add(incident=incident, by=both, action="Retest")
    services.analysis_result_add(incident=incident, by=both, findings="x", verdict=Verdict.FAIL)
    return services.incident_submit(incident=incident, by=both)


class VerdictFormTests:
    def test_the_verdict_starts_empty_and_is_required_where_the_stage_routes_by_it(self, team):
        incident = assigned(team, Stage.FAE_RETEST)

        form = AnalysisResultForm(
            {**expected(incident), "findings": "Fails on station 3", "verdict": ""},
            incident=incident,
        )

        assert form.fields["verdict"].required
        assert form.fields["verdict"].choices[0][0] == ""
        assert form["verdict"].value() == ""
        assert not form.is_valid()
        assert "verdict" in form.errors

    def test_a_result_posted_without_verdict_is_not_recorded(self, team):
        incident = assigned(team, Stage.FAE_RETEST)
        worker = client_for(team.worker(Stage.FAE_RETEST))

        page = worker.post(
            action_url(incident, "result"),
            {**expected(incident), "findings": "Fails", "verdict": ""},
        )

        assert page.status_code == 200
        assert "verdict" in page.context["form"].errors
        assert not AnalysisResult.objects.filter(incident=incident).exists()

    def test_a_stage_without_verdicts_asks_for_none(self, team):
        incident = assigned(team, Stage.REPORTED)

        form = AnalysisResultForm(incident=incident)

        assert "verdict" not in form.fields


class BlockedActionTests:
    def test_the_assignee_sees_submit_disabled_with_what_is_missing(self, team):
        incident = assigned(team, Stage.FAE_RETEST)
        worker = team.worker(Stage.FAE_RETEST)
        services.operation_record_add(incident=incident, by=worker, action="Retest")

        page = client_for(worker).get(change_url(incident))

        assert action_url(incident, "submit") not in {
            a["path"] for a in page.context["actions_detail"]
        }
        html = page.content.decode()
        assert 'data-testid="disabled-submit"' in html
        assert "needs a verdict: add an analysis result with a verdict" in html

    def test_submit_is_no_longer_shown_disabled_once_it_is_possible(self, team):
        incident = assigned(team, Stage.FAE_RETEST)
        worker = team.worker(Stage.FAE_RETEST)
        services.operation_record_add(incident=incident, by=worker, action="Retest")
        services.analysis_result_add(
            incident=incident, by=worker, findings="x", verdict=Verdict.FAIL
        )

        assert selectors.blocked_actions(incident, worker) == []

    def test_a_reviewer_sees_approve_disabled_when_the_round_has_no_verdict(self, team):
        incident = submitted(team, Stage.FAE_RETEST)
        AnalysisResult.objects.filter(incident=incident).delete()
        supervisor = team.supervisor(Stage.FAE_RETEST)

        blocked = selectors.blocked_actions(incident, supervisor)

        assert [b["action"] for b in blocked] == [WorkflowAction.APPROVE]
        assert "needs a verdict from this round" in blocked[0]["reason"]

    def test_people_who_cannot_act_at_all_are_not_shown_disabled_buttons(self, team):
        incident = submitted(team, Stage.FAE_RETEST)

        assert selectors.blocked_actions(incident, team.supervisor(Stage.XRAY)) == []
        assert selectors.blocked_actions(incident, team.worker(Stage.FAE_RETEST)) == []

    def test_the_row_menu_shows_approve_disabled_with_the_reason(self, team):
        mine = own_work_submitted(team)
        elsewhere = submitted(team, Stage.XRAY)
        not_submitted = assigned(team, Stage.FAE_RETEST)

        page = client_for(team.supervisor(Stage.FAE_RETEST)).get(
            reverse("admin:incidents_incident_changelist")
        )

        refusals = {
            incident.pk: json.loads(incident.row_action_refusals or "{}")
            for incident in page.context["cl"].result_list
        }
        approve = "admin:incidents_incident_approve_action"
        assert "you cannot approve it yourself" in refusals[mine.pk][approve]
        assert "Only a supervisor of X-ray lab" in refusals[elsewhere.pk][approve]
        # Approving what nobody submitted means nothing: left out, not shown disabled.
        assert refusals[not_submitted.pk][approve] == ""

    def test_bulk_approval_says_not_approved_and_why(self, team):
        incident = submitted(team, Stage.FAE_RETEST)
        AnalysisResult.objects.filter(incident=incident).delete()

        response = client_for(team.supervisor(Stage.FAE_RETEST)).post(
            reverse("admin:incidents_incident_changelist"),
            {"action": "bulk_approve", "_selected_action": [incident.pk]},
            follow=True,
        )

        texts = messages_of(response)
        assert len(texts) == 1
        assert texts[0].startswith(f"Not approved #{incident.pk}: FAE retest needs a verdict")
        assert "Sent back" not in texts[0]
        incident.refresh_from_db()
        assert (incident.stage, incident.step) == (Stage.FAE_RETEST, Step.SUBMITTED)


def sidebar_link(html: str, queue: str) -> str:
    """The sidebar's <a> tag of a queue."""
    return re.search(rf'<a href="[^"]*\?work={queue}"[^>]*>', html).group(0)


class QueueAsAPlaceTests:
    def test_the_sidebar_marks_the_queue_on_its_list_and_on_its_incidents(self, team):
        incident = submitted(team, Stage.FAE_RETEST)
        supervisor = client_for(team.supervisor(Stage.FAE_RETEST))
        in_queue = queues.in_queue_url(change_url(incident), "review")

        for url in (
            queues.queue_list_url("review"),
            in_queue,
            action_url(incident, "approve") + in_queue[len(change_url(incident)) :],
        ):
            html = supervisor.get(url).content.decode()
            assert " active" in sidebar_link(html, "review"), url
            assert " active" not in sidebar_link(html, "mine"), url

        plain = supervisor.get(change_url(incident)).content.decode()
        assert " active" not in sidebar_link(plain, "review")

    def test_the_list_of_a_queue_is_headed_with_its_name(self, team):
        submitted(team, Stage.FAE_RETEST)

        page = client_for(team.supervisor(Stage.FAE_RETEST)).get(queues.queue_list_url("review"))

        html = page.content.decode()
        assert 'data-testid="queue-heading"' in html
        assert "Waiting for my review" in re.search(r'queue-heading".*?</h2>', html, re.S).group(0)

    def test_after_approving_from_the_queue_the_page_offers_the_next_incident(self, team):
        first, second = submitted(team, Stage.FAE_RETEST), submitted(team, Stage.FAE_RETEST)
        supervisor = client_for(team.supervisor(Stage.FAE_RETEST))
        carried = queues.in_queue_url(change_url(second), "review")[len(change_url(second)) :]

        response = supervisor.post(
            action_url(second, "approve") + carried, expected(second), follow=True
        )

        assert response.redirect_chain[-1][0] == change_url(second) + carried
        queue = response.context["queue"]
        assert queue["name"] == "review" and queue["left"] == 1
        assert queue["next"] == first
        assert queue["next_url"] == queues.in_queue_url(change_url(first), "review")
        assert 'data-testid="queue-next"' in response.content.decode()

    def test_the_last_decision_of_a_queue_says_nothing_is_left(self, team):
        only = submitted(team, Stage.FAE_RETEST)
        supervisor = client_for(team.supervisor(Stage.FAE_RETEST))
        carried = queues.in_queue_url(change_url(only), "review")[len(change_url(only)) :]

        response = supervisor.post(
            action_url(only, "approve") + carried, expected(only), follow=True
        )

        assert response.context["queue"]["next"] is None
        assert 'data-testid="queue-empty"' in response.content.decode()

    def test_leaving_a_form_and_sending_back_do_not_look_alike(self, team):
        incident = submitted(team, Stage.FAE_RETEST)

        page = client_for(team.supervisor(Stage.FAE_RETEST)).get(action_url(incident, "reject"))

        html = page.content.decode()
        back = re.search(r'<a class="adt-back-link"[^>]*>', html).group(0)
        button = re.search(r'<button[^>]*name="_workflow"[^>]*>', html, re.S).group(0)
        assert "bg-red" not in back and "bg-red" in button
        assert page.context["is_destructive"]
        approve = client_for(team.supervisor(Stage.FAE_RETEST)).get(action_url(incident, "approve"))
        assert "bg-red" not in re.search(
            r'<button[^>]*name="_workflow"[^>]*>', approve.content.decode(), re.S
        ).group(0)


class QueueBannerTests:
    """The banner of an incident opened from a queue says how many others are left in it."""

    @pytest.mark.parametrize(
        ("language", "banner"),
        [("en", "2 more in this queue"), ("zh-hans", "此队列中另有 2 个待处理")],
    )
    def test_the_incident_being_worked_on_is_not_counted_as_left(self, team, language, banner):
        first, *_others = [submitted(team, Stage.FAE_RETEST) for _ in range(3)]
        supervisor = team.supervisor(Stage.FAE_RETEST)
        supervisor.language = language
        supervisor.save(update_fields=["language"])

        page = client_for(supervisor).get(queues.in_queue_url(change_url(first), "review"))

        assert page.context["queue"]["left"] == 2
        html = page.content.decode()
        left = re.search(r'data-testid="queue-left">([^<]*)<', html).group(1)
        assert left == banner

    def test_the_last_one_in_a_queue_leaves_none_besides_itself(self, team):
        only = submitted(team, Stage.FAE_RETEST)

        page = client_for(team.supervisor(Stage.FAE_RETEST)).get(
            queues.in_queue_url(change_url(only), "review")
        )

        assert page.context["queue"]["left"] == 0
        assert page.context["queue"]["contains_this"]
        assert 'data-testid="queue-empty"' not in page.content.decode()
