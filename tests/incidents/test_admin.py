"""Every admin page: rendered for an admin, refused to anonymous users, configuration closed to
staff. Runs over the whole admin registry so a new model cannot slip through untested."""

import re

import pytest
from django.contrib import admin
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from fixtures.demo import load_demo
from incidents.choices import OPEN_STAGES
from incidents.models import Department, Incident
from incidents.services import incident_assign
from messaging import services as chat_services
from tests.factories import DeviceFactory, IncidentFactory, StaffFactory, SupervisorFactory
from tests.scoped import rolled_back_after

pytestmark = pytest.mark.django_db


def admin_pages(user) -> list[tuple[str, str]]:
    """(label, url) of the changelist, add, change and history page of every registered model,
    as far as the admin offers them to `user`."""
    request = RequestFactory().get("/admin/")
    request.user = user
    pages = []
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        base = f"admin:{opts.app_label}_{opts.model_name}"
        pages.append((f"{opts.label} list", reverse(f"{base}_changelist")))
        if model_admin.has_add_permission(request):
            pages.append((f"{opts.label} add", reverse(f"{base}_add")))
        obj = model_admin.get_queryset(request).first()
        if obj is not None:
            pages.append((f"{opts.label} change", reverse(f"{base}_change", args=[obj.pk])))
            pages.append((f"{opts.label} history", reverse(f"{base}_history", args=[obj.pk])))
    return pages


@pytest.fixture(scope="class")
def demo(django_db_setup, django_db_blocker, tmp_path_factory):
    """The demo data, loaded once for the class (it is the slowest thing these tests do)."""
    with rolled_back_after(django_db_blocker, tmp_path_factory):
        load_demo()
        yield


class AdminPagesTests:
    def test_every_page_renders_for_an_admin(self, demo, admin_client, admin_user):
        pages = admin_pages(admin_user)
        login = reverse("admin:login")
        failures = []
        for label, url in pages:
            # A list of one row (the working calendar) opens that row's page.
            response = admin_client.get(url, follow=True)
            landed = response.redirect_chain[-1][0] if response.redirect_chain else url
            if response.status_code != 200 or landed.startswith(login):
                failures.append((label, url, response.status_code, landed))

        assert len(pages) >= 30
        assert failures == []

    def test_every_page_sends_anonymous_users_to_the_login(self, demo, client, admin_user):
        login = reverse("admin:login")
        failures = [
            (label, url)
            for label, url in admin_pages(admin_user)
            if (response := client.get(url)).status_code != 302
            or not response["Location"].startswith(login)
        ]

        assert failures == []

    def test_dashboard_counts_open_incidents_per_stage(self, demo, admin_client):
        response = admin_client.get(reverse("admin:index"))

        rows = {row["stage"]: row["total"] for row in response.context["stage_rows"]}
        assert set(rows) == set(OPEN_STAGES)
        assert sum(rows.values()) == response.context["open_total"]
        assert (
            response.context["open_total"] == Incident.objects.filter(stage__in=OPEN_STAGES).count()
        )
        assert all(count > 0 for count in rows.values())

    def test_root_redirects_to_the_admin(self, client):
        response = client.get("/")

        assert response.status_code == 302
        assert response["Location"] == reverse("admin:index")


CONFIGURATION_PAGES = [
    "admin:auth_group_changelist",
    "admin:auth_group_add",
    "admin:incidents_department_add",
    "admin:incidents_stageownership_add",
    "admin:incidents_employee_add",
]


class ConfigurationPermissionTests:
    @pytest.mark.parametrize("url_name", CONFIGURATION_PAGES)
    def test_staff_cannot_open_configuration_pages(self, staff_client, url_name):
        assert staff_client.get(reverse(url_name)).status_code == 403

    @pytest.mark.parametrize("url_name", CONFIGURATION_PAGES)
    def test_supervisor_cannot_open_configuration_pages(self, supervisor_client, url_name):
        assert supervisor_client.get(reverse(url_name)).status_code == 403

    def test_staff_cannot_change_stage_ownership(self, staff_client):
        from incidents.models import StageOwnership

        ownership = StageOwnership.objects.first()
        url = reverse("admin:incidents_stageownership_change", args=[ownership.pk])
        response = staff_client.post(url, {"stage": ownership.stage, "department": ""})

        assert response.status_code == 403

    def test_staff_reads_incidents_and_devices(self, staff_client):
        incident = IncidentFactory()

        for url in (
            reverse("admin:incidents_incident_changelist"),
            reverse("admin:incidents_incident_change", args=[incident.pk]),
            reverse("admin:locations_device_changelist"),
            reverse("admin:locations_device_change", args=[incident.device.pk]),
        ):
            assert staff_client.get(url).status_code == 200, url

    def test_sidebar_hides_configuration_from_staff(self, staff_client, admin_client):
        url = reverse("admin:index")
        stage_ownership = reverse("admin:incidents_stageownership_changelist")

        assert stage_ownership not in staff_client.get(url).content.decode()
        assert stage_ownership in admin_client.get(url).content.decode()

    def test_user_without_any_role_cannot_open_incidents(self, client):
        from tests.factories import EmployeeFactory

        client.force_login(EmployeeFactory())

        assert client.get(reverse("admin:incidents_incident_changelist")).status_code == 403


class IncidentAdminTests:
    def test_admin_opens_an_incident_for_a_device(self, admin_client, admin_user):
        device = DeviceFactory()

        response = admin_client.post(
            reverse("admin:incidents_incident_add"),
            {
                "device": device.pk,
                "reporter": admin_user.pk,
                "description": "Fails BT test three times",
                "opened_at_0": "2026-11-20",
                "opened_at_1": "10:00:00",
            },
        )

        assert response.status_code == 302, response.content.decode()[:2000]
        incident = Incident.objects.get(device=device)
        assert incident.stage == "reported"
        assert incident.reporter == admin_user

    def test_second_open_incident_for_a_device_is_refused_with_a_message(self, admin_client):
        existing = IncidentFactory()

        response = admin_client.post(
            reverse("admin:incidents_incident_add"),
            {"device": existing.device.pk, "opened_at_0": "2026-11-20", "opened_at_1": "10:00"},
        )

        assert response.status_code == 200
        assert "already has an open incident" in response.content.decode()
        assert Incident.objects.filter(device=existing.device).count() == 1

    def test_the_reporter_is_whoever_opens_it_and_it_opens_now(self, staff_client, staff_user):
        other = StaffFactory()
        device = DeviceFactory()
        before = timezone.now()

        response = staff_client.post(
            reverse("admin:incidents_incident_add"),
            {
                "device": device.pk,
                "reporter": other.pk,
                "opened_at_0": "2020-01-01",
                "opened_at_1": "10:00:00",
            },
        )

        assert response.status_code == 302, response.content.decode()[:2000]
        incident = Incident.objects.get(device=device)
        assert incident.reporter == staff_user
        assert incident.opened_at >= before
        assert incident.events.get().actor == staff_user

    def test_the_add_form_offers_no_reporter_or_date(self, staff_client):
        form = staff_client.get(reverse("admin:incidents_incident_add")).context["adminform"].form

        assert "reporter" not in form.fields
        assert "opened_at" not in form.fields

    def test_saving_the_change_form_keeps_a_reassignment_made_meanwhile(
        self, admin_client, monkeypatch
    ):
        production = Department.objects.get(code="PROD")
        supervisor = SupervisorFactory(department=production)
        production.supervisors.add(supervisor)
        first, second = StaffFactory(department=production), StaffFactory(department=production)
        incident = IncidentFactory(description="before")
        incident_assign(incident=incident, assignee=first, by=supervisor)
        model_admin = admin.site._registry[Incident]
        read = model_admin.get_object

        def read_then_someone_reassigns(request, object_id, from_field=None):
            obj = read(request, object_id, from_field)
            if request.method == "POST":
                incident_assign(incident=incident, assignee=second, by=supervisor)
            return obj

        monkeypatch.setattr(model_admin, "get_object", read_then_someone_reassigns)
        url = reverse("admin:incidents_incident_change", args=[incident.pk])

        response = admin_client.post(url, {"description": "edited", "problem_group": ""})

        assert response.status_code == 302
        incident.refresh_from_db()
        assert incident.description == "edited"
        assert (incident.step, incident.assignee) == ("assigned", second)
        assert incident.events.filter(action="edit").count() == 1
        assert incident.history.first().assignee == second

    def test_saving_the_change_form_never_writes_workflow_fields(self, admin_client):
        incident = IncidentFactory()
        url = reverse("admin:incidents_incident_change", args=[incident.pk])

        admin_client.post(
            url,
            {
                "description": "edited",
                "step": "closed",
                "stage_round": "7",
                "assignee": admin_client.session.get("_auth_user_id"),
                "closed_at_0": "2026-01-01",
                "closed_at_1": "10:00",
            },
        )

        incident.refresh_from_db()
        assert (incident.step, incident.stage_round, incident.assignee, incident.closed_at) == (
            "unassigned",
            1,
            None,
            None,
        )

    def test_change_form_cannot_change_the_stage(self, admin_client):
        incident = IncidentFactory()
        url = reverse("admin:incidents_incident_change", args=[incident.pk])

        response = admin_client.post(
            url, {"stage": "returned", "description": "edited", "reporter": incident.reporter.pk}
        )

        incident.refresh_from_db()
        assert response.status_code == 302
        assert incident.description == "edited"
        assert incident.stage == "reported"


class LanguageTests:
    def test_switching_to_chinese_translates_the_admin(self, admin_client):
        admin_client.post(reverse("set_language"), {"language": "zh-hans", "next": "/admin/"})

        page = admin_client.get(reverse("admin:incidents_incident_changelist")).content.decode()

        assert "异常设备追踪" in page
        assert "事件" in page
        assert "Select action" not in page


def chat_with_news():
    """A reader who opened two incidents' rooms; three messages since in one of them."""
    reader, writer = StaffFactory(display_name="Reader"), StaffFactory()
    quiet, busy = IncidentFactory(), IncidentFactory()
    for incident in (quiet, busy):
        chat_services.room_join(room=chat_services.room_for(incident=incident), person=reader)
    room = chat_services.room_for(incident=busy)
    for text in ("one", "two", "three"):
        chat_services.message_send(room=room, author=writer, text=text)
    client = Client()
    client.force_login(reader)
    return client, busy


class UnreadMessagesTests:
    """The incident list and the sidebar say where there is discussion one has not read."""

    def test_the_list_shows_each_incidents_unread_messages_in_one_query_for_the_page(self):
        client, busy = chat_with_news()
        for _ in range(5):
            IncidentFactory()

        with CaptureQueriesContext(connection) as queries:
            page = client.get(reverse("admin:incidents_incident_changelist")).content.decode()

        row = page[page.index(f"/incident/{busy.pk}/change/") :]
        row = row[: row.index("</tr>")]
        assert 'title="Unread chat messages" data-testid="unread">3</span>' in row
        assert page.count('data-testid="unread"') == 1
        chat_queries = [q for q in queries.captured_queries if "messaging_message" in q["sql"]]
        assert len(chat_queries) == 2  # the page's counts, and the sidebar's total

    def test_the_filter_lists_only_incidents_with_unread_messages(self):
        client, busy = chat_with_news()

        page = client.get(reverse("admin:incidents_incident_changelist") + "?unread=1")

        assert list(page.context["cl"].result_list) == [busy]

    def test_the_sidebar_links_messages_for_me_with_their_total(self):
        client, _busy = chat_with_news()

        page = client.get(reverse("admin:index")).content.decode()

        link = page.index(reverse("admin:incidents_incident_changelist") + "?unread=1")
        item = page[link : page.index("</a>", link)]
        assert "Messages for me" in item
        assert re.search(r">\s*3\s*<", item)
