"""The counts every page shows as badges (the sidebar's queues and unread chat, the header's
bell) stop at a cap: a page costs the same however long a queue grows, and past the cap the
badge reads "99+". The dashboard's cards and the lists count in full."""

import re

import pytest
from django.urls import reverse

from config.kit import badges
from config.kit.badges import badge_text, counted_up_to, counts_up_to
from incidents.choices import Stage
from incidents.models import Incident, Notification
from incidents.selectors import work_queue_badges, work_queue_counts
from tests.config.test_query_counts import client_for
from tests.factories import IncidentFactory
from tests.incidents.test_workflow import build_team, open_incident

pytestmark = pytest.mark.django_db

DEPARTMENTS = reverse("admin:incidents_department_changelist")
INCIDENTS = reverse("admin:incidents_incident_changelist")


@pytest.fixture
def cap_of_three(monkeypatch):
    """A cap small enough to pass with a handful of rows."""
    monkeypatch.setattr(badges, "BADGE_CAP", 3)


def sidebar_badge(html: str, queue: str) -> str:
    link = re.search(rf'href="[^"]*\?work={queue}".*?data-badge="([^"]+)"', html, re.S)
    assert link, f"no badge for {queue}"
    return link.group(1)


class CountedUpToTests:
    def test_counts_in_full_below_the_cap_and_stops_at_it(self, cap_of_three):
        IncidentFactory.create_batch(2)
        assert counted_up_to(Incident.objects.all()) == 2

        IncidentFactory.create_batch(3)
        assert counted_up_to(Incident.objects.all()) == 3
        assert counted_up_to(Incident.objects.all(), 10) == 5

    def test_several_counts_are_one_query_and_a_query_matching_nothing_is_none(
        self, cap_of_three, django_assert_num_queries
    ):
        IncidentFactory.create_batch(4, fail_item="WIFI_TX")
        IncidentFactory(fail_item="CAM")
        asked = {
            "wifi": Incident.objects.filter(fail_item="WIFI_TX"),
            "cam": Incident.objects.filter(fail_item="CAM"),
            "empty": Incident.objects.filter(stage__in=[]),
            "none": Incident.objects.none(),
        }

        with django_assert_num_queries(1):
            counts = counts_up_to(asked)

        assert counts == {"wifi": 3, "cam": 1, "empty": 0, "none": 0}

    def test_a_badge_reads_99_plus_from_the_cap_on(self):
        assert badge_text(0) == "0"
        assert badge_text(99) == "99"
        assert badge_text(100) == "99+"
        assert badge_text(250) == "99+"


class PageBadgeTests:
    def test_a_queue_past_the_cap_reads_99_plus_where_the_dashboard_counts_it_all(
        self, cap_of_three
    ):
        team = build_team()
        supervisor = team.supervisor(Stage.REPORTED)
        for _ in range(4):
            open_incident(team, Stage.REPORTED)

        assert work_queue_badges(supervisor)["unassigned"] == 3
        assert work_queue_counts(supervisor)["unassigned"] == 4
        client = client_for(supervisor)
        page = client.get(DEPARTMENTS).content.decode()
        assert sidebar_badge(page, "unassigned") == "2+"
        dashboard = client.get(reverse("admin:index")).content.decode()
        card = re.search(
            r'data-figure="queue-unassigned".*?<strong>(\d+)</strong>', dashboard, re.S
        )
        assert card and card.group(1) == "4"
        listed = client.get(INCIDENTS).content.decode()
        assert "Unassigned in my department (2+)" in listed

    def test_a_queue_below_the_cap_reads_its_number(self):
        team = build_team()
        supervisor = team.supervisor(Stage.REPORTED)
        open_incident(team, Stage.REPORTED)
        open_incident(team, Stage.REPORTED)

        page = client_for(supervisor).get(DEPARTMENTS).content.decode()

        assert sidebar_badge(page, "unassigned") == "2"

    def test_the_bell_past_the_cap_says_more_than_it_shows(self, cap_of_three, admin_user):
        incident = IncidentFactory()
        Notification.objects.bulk_create(
            Notification(recipient=admin_user, incident=incident, action="assign") for _ in range(5)
        )

        page = client_for(admin_user).get(DEPARTMENTS).content.decode()

        bell = re.search(r'data-testid="notification-bell".*?</a>', page, re.S).group(0)
        assert 'data-testid="notification-count">2+<' in bell
        assert 'title="More than 2 unread notifications"' in bell
