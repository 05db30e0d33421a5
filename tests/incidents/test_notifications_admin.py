"""Notifications as a person works through them: a row opens its incident and counts as read
from then on, unread rows are marked so, "mark all as read", a bell with the count in every
page's header, a filter by kind, and sidebar counts of zero that step back instead of alarming."""

import re
from html import unescape

import pytest
from django.urls import reverse

from incidents.choices import Stage, WorkflowAction
from incidents.models import Notification
from incidents.services import incident_approve
from incidents.services.notifications import notifications_mark_read
from tests.incidents.test_workflow import assigned, build_team, submitted
from tests.incidents.test_workflow_admin import change_url, client_for

pytestmark = pytest.mark.django_db

LIST = reverse("admin:incidents_notification_changelist")


@pytest.fixture
def team(db):
    return build_team()


def bell(html: str) -> str:
    return re.search(r'<a [^>]*data-testid="notification-bell".*?</a>', html, re.S).group(0)


class NotificationListTests:
    def test_a_row_opens_its_incident_and_marks_itself_read(self, team):
        incident = assigned(team, Stage.FAE_RETEST)
        worker = team.worker(Stage.FAE_RETEST)
        notification = worker.notifications.get()
        client = client_for(worker)

        listed = client.get(LIST).content.decode()
        open_url = reverse("admin:incidents_notification_open", args=[notification.pk])
        assert f'href="{open_url}" data-testid="notification" data-unread="1"' in listed
        opened = client.get(open_url)

        assert opened.status_code == 302
        assert opened["Location"].startswith(change_url(incident))
        notification.refresh_from_db()
        assert notification.read_at is not None
        assert 'data-unread="0"' in client.get(LIST).content.decode()

    def test_nobody_opens_anothers_notification(self, team):
        assigned(team, Stage.FAE_RETEST)
        notification = team.worker(Stage.FAE_RETEST).notifications.get()

        response = client_for(team.worker(Stage.XRAY)).get(
            reverse("admin:incidents_notification_open", args=[notification.pk])
        )

        assert response.status_code == 404
        notification.refresh_from_db()
        assert notification.read_at is None

    def test_unread_rows_are_marked_unread_and_read_ones_are_not(self, team):
        assigned(team, Stage.FAE_RETEST)
        assigned(team, Stage.FAE_RETEST)
        worker = team.worker(Stage.FAE_RETEST)
        read = worker.notifications.first()
        notifications_mark_read(recipient=worker, notification_ids=[read.pk])

        html = client_for(worker).get(LIST).content.decode()

        rows = re.findall(r'<a class="adt-note( adt-note-unread)?"[^>]*data-unread="(\d)"', html)
        assert sorted(rows) == [("", "0"), (" adt-note-unread", "1")]

    def test_mark_all_as_read_empties_the_bell(self, team):
        assigned(team, Stage.FAE_RETEST)
        assigned(team, Stage.FAE_RETEST)
        worker = team.worker(Stage.FAE_RETEST)
        client = client_for(worker)
        assert 'data-testid="notification-count">2<' in bell(client.get(LIST).content.decode())

        page = client.post(reverse("admin:incidents_notification_mark_all_read"), follow=True)

        assert not worker.notifications.filter(read_at__isnull=True).exists()
        assert "2 marked as read." in page.content.decode()
        assert "notification-count" not in bell(page.content.decode())

    def test_mark_all_as_read_only_answers_a_post(self, team):
        assigned(team, Stage.FAE_RETEST)
        worker = team.worker(Stage.FAE_RETEST)

        response = client_for(worker).get(reverse("admin:incidents_notification_mark_all_read"))

        assert response.status_code == 405
        assert worker.notifications.filter(read_at__isnull=True).exists()

    def test_the_bell_counts_unread_notifications_on_every_page(self, team):
        incident = assigned(team, Stage.FAE_RETEST)
        worker = team.worker(Stage.FAE_RETEST)

        html = client_for(worker).get(change_url(incident)).content.decode()

        assert 'data-testid="notification-count">1<' in bell(html)
        assert f'href="{LIST}?unread=1"' in bell(html)

    def test_the_list_filters_by_kind(self, team):
        incident = submitted(team, Stage.FAE_RETEST)
        incident_approve(incident=incident, by=team.supervisor(Stage.FAE_RETEST))
        worker = team.worker(Stage.FAE_RETEST)
        kinds = set(worker.notifications.values_list("action", flat=True))
        assert {WorkflowAction.ASSIGN, WorkflowAction.APPROVE} <= kinds

        page = client_for(worker).get(LIST, {"action": WorkflowAction.APPROVE})

        shown = {n.action for n in page.context["cl"].result_list}
        assert shown == {WorkflowAction.APPROVE}
        assert 'class="adt-chip adt-chip-on" href="?action=approve"' in page.content.decode()

    def test_the_kind_and_unread_choices_keep_the_search(self, team):
        assigned(team, Stage.FAE_RETEST)
        worker = team.worker(Stage.FAE_RETEST)

        html = client_for(worker).get(LIST, {"q": "SN", "unread": "1", "p": "1"}).content.decode()
        toolbar = html.split('data-testid="notification-toolbar"')[1].split("</div>\n</div>")[0]
        links = [unescape(link) for link in re.findall(r'href="(\?[^"]*)"', toolbar)]

        assert links and all("q=SN" in link and "p=" not in link for link in links)
        assert f"?q=SN&unread=1&action={WorkflowAction.APPROVE}" in links
        assert "?q=SN" in links  # "Show read ones too"

    def test_a_notification_is_found_by_its_incidents_number_and_who_acted(self, team):
        incident = assigned(team, Stage.FAE_RETEST)
        worker = team.worker(Stage.FAE_RETEST)
        actor = team.supervisor(Stage.FAE_RETEST)
        client = client_for(worker)

        def found(term: str) -> set[int]:
            page = client.get(LIST, {"q": term})
            return {n.incident_id for n in page.context["cl"].result_list}

        assert found(f"#{incident.pk}") == {incident.pk}
        assert found(str(incident.pk)) == {incident.pk}
        assert found(actor.display_name) == {incident.pk}


class SidebarBadgeTests:
    def test_a_count_of_zero_is_muted_and_a_count_of_work_is_not_red(self, team):
        assigned(team, Stage.FAE_RETEST)
        worker = team.worker(Stage.FAE_RETEST)

        html = client_for(worker).get(LIST).content.decode()

        badges = re.findall(r'<span class="([^"]*)"\s+data-badge="(\d+)"', html, re.S)
        assert {value for _classes, value in badges} >= {"0", "1"}
        for classes, value in badges:
            if value == "0":
                assert "adt-badge-muted" in classes
            assert "bg-red" not in classes, value
        assert Notification.objects.filter(recipient=worker).count() == 1


class TemplateCommentTests:
    @pytest.mark.parametrize("language", ["en", "zh-hans"])
    def test_the_list_shows_no_template_comment(self, team, language):
        assigned(team, Stage.FAE_RETEST)
        worker = team.worker(Stage.FAE_RETEST)
        worker.language = language
        worker.save(update_fields=["language"])

        html = client_for(worker).get(LIST).content.decode()

        assert 'data-testid="notification-toolbar"' in html
        assert "{#" not in html and "#}" not in html
        assert "Above the notification list" not in html
