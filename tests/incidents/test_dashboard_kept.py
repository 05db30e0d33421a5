"""The dashboard keeps its figures between views (incidents.dashboard.kept): shared by people who
see the same projects, counted again as soon as anything they read changes, never older than
DASHBOARD_FIGURES_SECONDS."""

import re
import time

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from incidents.choices import Stage, Step
from incidents.models import Department, Incident, ProjectAccess
from incidents.services.workflow import incident_cancel, incident_update
from tests.factories import AdminFactory, DeviceFactory, IncidentFactory, SupervisorFactory
from tests.workers import clear_cache

pytestmark = pytest.mark.django_db


@pytest.fixture
def keeping(settings):
    settings.DASHBOARD_FIGURES_SECONDS = 120
    clear_cache()
    yield settings
    clear_cache()


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def figure(page, name: str) -> int:
    html = page.content.decode()
    match = re.search(rf'data-figure="{name}"[^>]*>(.*?)</a>', html, re.S)
    assert match, name
    return int(re.findall(r"\d+", re.sub(r"<[^>]+>", " ", match.group(1)))[-1])


def counted_at(page) -> str:
    match = re.search(r'data-testid="counted-at"[^>]*>([^<]*)<', page.content.decode())
    assert match
    return match.group(1).strip()


def open_incidents(count: int, project: str = "Falcon", **failure) -> list[Incident]:
    return [
        IncidentFactory(
            device=DeviceFactory(project=project),
            stage=Stage.REPORTED,
            step=Step.UNASSIGNED,
            **failure,
        )
        for _ in range(count)
    ]


class KeptFigureTests:
    def test_a_second_view_reads_the_kept_figures_instead_of_counting(self, keeping):
        open_incidents(2)
        client = client_for(AdminFactory())
        client.get("/admin/")  # the person's own first-view queries (session, permissions)

        clear_cache()
        with CaptureQueriesContext(connection) as counting:
            first = client.get("/admin/")
        with CaptureQueriesContext(connection) as reading:
            second = client.get("/admin/")

        assert figure(first, "open-total") == figure(second, "open-total") == 2
        assert counted_at(first) == counted_at(second)
        assert len(reading) < len(counting) - 10

    def test_the_figures_are_counted_on_every_view_when_keeping_is_off(self, keeping):
        keeping.DASHBOARD_FIGURES_SECONDS = 0
        open_incidents(1)
        client = client_for(AdminFactory())
        client.get("/admin/")
        with CaptureQueriesContext(connection) as first:
            client.get("/admin/")
        with CaptureQueriesContext(connection) as second:
            client.get("/admin/")

        assert len(first) == len(second)

    def test_a_new_incident_is_counted_at_the_next_view(self, keeping):
        open_incidents(2)
        client = client_for(AdminFactory())
        assert figure(client.get("/admin/"), "open-total") == 2

        open_incidents(1)

        assert figure(client.get("/admin/"), "open-total") == 3

    def test_an_incident_that_ends_leaves_the_open_figures_at_the_next_view(self, keeping):
        first, _second = open_incidents(2)
        administrator = AdminFactory()
        client = client_for(administrator)
        assert figure(client.get("/admin/"), "open-total") == 2

        incident_cancel(incident=first, by=administrator, reason="Duplicate report")

        assert figure(client.get("/admin/"), "open-total") == 1

    def test_a_failure_corrected_moves_the_pareto_at_the_next_view(self, keeping):
        (incident,) = open_incidents(1, fail_item="BT_RSSI")
        administrator = AdminFactory()
        client = client_for(administrator)
        assert "BT_RSSI" in client.get("/admin/").content.decode()

        incident_update(incident=incident, by=administrator, fail_item="CAM_AF")

        page = client.get("/admin/").content.decode()
        assert "CAM_AF" in page and "BT_RSSI" not in page

    def test_people_who_see_different_projects_never_share_figures(self, keeping):
        open_incidents(2, project="Falcon")
        open_incidents(1, project="Condor")
        fae = Department.objects.get(code="FAE")
        xray = Department.objects.get(code="XRAY")
        ProjectAccess.objects.create(project="Condor").departments.add(xray)
        inside = client_for(SupervisorFactory(department=xray))
        outside = client_for(SupervisorFactory(department=fae))

        assert figure(inside.get("/admin/"), "open-total") == 3
        assert figure(outside.get("/admin/"), "open-total") == 2
        assert figure(inside.get("/admin/"), "open-total") == 3

    def test_the_panels_are_kept_with_the_figures_and_drawn_once(self, keeping):
        from django.test.signals import template_rendered

        open_incidents(2)
        client = client_for(AdminFactory())
        drawn = []

        def count(sender, template, **kwargs):
            drawn.append(template.name)

        template_rendered.connect(count)
        try:
            first = client.get("/admin/").content.decode()
            charts_first = drawn.count("unfold/components/chart/bar.html")
            second = client.get("/admin/").content.decode()
        finally:
            template_rendered.disconnect(count)

        def panels(html):
            return html[html.index('data-testid="dashboard-open"') :]

        assert charts_first == 5
        assert drawn.count("unfold/components/chart/bar.html") == charts_first
        assert panels(first) == panels(second)

    def test_the_filters_and_the_language_each_have_their_own_figures(self, keeping):
        open_incidents(2, project="Falcon")
        open_incidents(1, project="Condor")
        client = client_for(AdminFactory())

        assert figure(client.get("/admin/"), "open-total") == 3
        assert figure(client.get("/admin/?project=Condor"), "open-total") == 1
        chinese = client.get("/admin/", HTTP_ACCEPT_LANGUAGE="zh-hans")
        assert figure(chinese, "open-total") == 3
        assert "有未关闭异常事件的设备所在位置" in chinese.content.decode()
        english = client.get("/admin/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert "Where devices with open incidents are" in english

    def test_without_an_answering_cache_the_figures_are_counted(self, keeping, monkeypatch):
        open_incidents(2)
        client = client_for(AdminFactory())

        def refuse(*args, **kwargs):
            raise ConnectionError("the cache does not answer")

        monkeypatch.setattr(cache, "get", refuse)
        page = client.get("/admin/")

        assert page.status_code == 200
        assert figure(page, "open-total") == 2

    def test_a_committed_change_is_counted_even_when_the_newest_keys_stay(self, keeping):
        """A change that took its keys before another committed does not raise the newest
        keys; the workflow's commit is counted all the same."""
        from incidents.dashboard import figures_changed

        open_incidents(2)
        client = client_for(AdminFactory())
        assert figure(client.get("/admin/"), "open-total") == 2
        Incident.objects.update(stage=Stage.CANCELLED, step=Step.CLOSED)

        figures_changed()

        assert figure(client.get("/admin/"), "open-total") == 0

    def test_no_figure_is_older_than_the_time_limit(self, keeping):
        # Long enough for the next view to come within it on a loaded machine.
        keeping.DASHBOARD_FIGURES_SECONDS = 3
        open_incidents(2)
        client = client_for(AdminFactory())
        counted = time.monotonic()
        assert figure(client.get("/admin/"), "open-total") == 2

        # A bulk change writes no history: only the time limit brings it in.
        Incident.objects.update(stage=Stage.CANCELLED, step=Step.CLOSED)
        assert figure(client.get("/admin/"), "open-total") == 2
        time.sleep(max(0.0, counted + 3.2 - time.monotonic()))

        assert figure(client.get("/admin/"), "open-total") == 0
