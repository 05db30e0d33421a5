"""A failure is a fact of its incident: a device that was repaired and returned can fail again
on another station, and each failure keeps its own station, item, test log and time, on the
add form, the incident page, the list's filters and search, Ctrl+K, the dashboard's Paretos,
the device page, and the export that re-imports."""

import uuid
from datetime import timedelta

import pytest
import tablib
from django.conf import settings
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from config.unfold import where_is_search
from incidents.choices import DepartmentCode
from incidents.dashboard import Scope, paretos
from incidents.models import Department, Incident
from incidents.resources import IncidentResource
from incidents.services import incident_cancel, incident_open
from tests.factories import AdminFactory, DeviceFactory, StaffFactory, SupervisorFactory
from tests.incidents.test_people import client_for
from tests.processes import run_json

pytestmark = pytest.mark.django_db

ADD = "admin:incidents_incident_add"
LIST = "admin:incidents_incident_changelist"


def production_worker():
    return StaffFactory(department=Department.objects.get(code=DepartmentCode.PRODUCTION))


def production_supervisor():
    production = Department.objects.get(code=DepartmentCode.PRODUCTION)
    supervisor = SupervisorFactory(department=production)
    production.supervisors.add(supervisor)
    return supervisor


def add_form(device, **failure) -> dict:
    return {"device": device.pk, "serial_number": "", "description": "", **failure}


@pytest.fixture
def failed_twice():
    """SN-TWICE failed on camera autofocus, was returned, and now fails RF-OTA's Wi-Fi power,
    reported on the add form with the registered device picked."""
    device = DeviceFactory(serial_number="SN-TWICE")
    first = incident_open(
        device=device,
        reporter=production_worker(),
        fail_station="MMI",
        fail_item="CAM_AF_FAIL",
        test_log_url="https://logs.example/first",
        opened_at=timezone.now() - timedelta(days=120),
    )
    incident_cancel(incident=first, by=production_supervisor(), reason="Repaired on the line")
    response = client_for(production_worker()).post(
        reverse(ADD),
        add_form(
            device,
            fail_station="RF-OTA",
            fail_item="WIFI_TX_POWER_LOW",
            test_log_url="https://logs.example/second",
        ),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    second = Incident.objects.exclude(pk=first.pk).get(device=device)
    return {"device": device, "first": first, "second": second}


class RepeatFailureTests:
    def test_the_new_incident_keeps_what_was_typed_and_the_old_one_its_own(self, failed_twice):
        first, second = failed_twice["first"], failed_twice["second"]
        first.refresh_from_db()

        assert (second.fail_station, second.fail_item, second.test_log_url) == (
            "RF-OTA",
            "WIFI_TX_POWER_LOW",
            "https://logs.example/second",
        )
        assert (first.fail_station, first.fail_item) == ("MMI", "CAM_AF_FAIL")

    def test_a_failure_typed_without_a_time_failed_when_it_was_reported(self, failed_twice):
        second = failed_twice["second"]

        assert second.failed_at == second.opened_at

    def test_the_incident_page_shows_its_own_failure(self, failed_twice):
        second = failed_twice["second"]

        page = client_for(AdminFactory()).get(
            reverse("admin:incidents_incident_change", args=[second.pk])
        )

        before, _, rest = page.content.decode().partition('data-testid="seen-before"')
        seen_before, _, after = rest.partition("</section>")
        own = before + after
        assert "WIFI_TX_POWER_LOW" in own
        assert "https://logs.example/second" in own
        assert "CAM_AF_FAIL" not in own
        # The device's earlier failure is shown as seen before, never as this incident's own.
        assert "CAM_AF_FAIL" in seen_before

    def test_the_list_filtered_by_the_new_item_finds_the_new_incident(self, failed_twice):
        client = client_for(AdminFactory())

        by_new = client.get(reverse(LIST), {"fail_item": "WIFI_TX_POWER_LOW"})
        by_old = client.get(reverse(LIST), {"fail_item": "CAM_AF_FAIL"})

        assert [i.pk for i in by_new.context["cl"].result_list] == [failed_twice["second"].pk]
        assert [i.pk for i in by_old.context["cl"].result_list] == [failed_twice["first"].pk]

    def test_the_list_search_finds_each_failure_on_its_incident(self, failed_twice):
        client = client_for(AdminFactory())

        found = client.get(reverse(LIST), {"q": "WIFI_TX"}).context["cl"].result_list

        assert [i.pk for i in found] == [failed_twice["second"].pk]

    def test_ctrl_k_finds_the_incident_by_its_own_fail_item(self, failed_twice):
        request = RequestFactory().get("/admin/search/", {"s": "WIFI_TX", "extended": 1})
        request.user = AdminFactory()

        results = where_is_search(request, "WIFI_TX")

        links = [result.link for result in results]
        second = reverse("admin:incidents_incident_change", args=[failed_twice["second"].pk])
        first = reverse("admin:incidents_incident_change", args=[failed_twice["first"].pk])
        assert second in links
        assert first not in links

    def test_the_pareto_counts_each_failure_once(self, failed_twice):
        items = {row["value"]: row["count"] for row in paretos(Scope())["fail_item"]}
        stations = {row["value"]: row["count"] for row in paretos(Scope())["fail_station"]}

        assert items == {"CAM_AF_FAIL": 1, "WIFI_TX_POWER_LOW": 1}
        assert stations == {"MMI": 1, "RF-OTA": 1}

    def test_the_device_page_lists_its_failures_newest_first(self, failed_twice):
        device = failed_twice["device"]

        page = client_for(AdminFactory()).get(
            reverse("admin:locations_device_change", args=[device.pk])
        )

        html = page.content.decode()
        assert html.index("WIFI_TX_POWER_LOW") < html.index("CAM_AF_FAIL")
        assert "RF-OTA" in html and "MMI" in html

    def test_the_device_list_finds_a_device_by_any_of_its_failures(self, failed_twice):
        client = client_for(AdminFactory())
        DeviceFactory(serial_number="SN-OTHER")

        for term in ("CAM_AF_FAIL", "WIFI_TX_POWER"):
            response = client.get(reverse("admin:locations_device_changelist"), {"q": term})
            found = [d.serial_number for d in response.context["cl"].result_list]
            assert found == ["SN-TWICE"], term

    def test_the_export_writes_each_incidents_failure(self, failed_twice):
        dataset = IncidentResource().export(
            queryset=Incident.objects.filter(device=failed_twice["device"]).order_by("pk")
        )

        rows = [dict(zip(dataset.headers, row, strict=True)) for row in dataset]
        assert [(r["Fail station"], r["Fail item"], r["Test log link"]) for r in rows] == [
            ("MMI", "CAM_AF_FAIL", "https://logs.example/first"),
            ("RF-OTA", "WIFI_TX_POWER_LOW", "https://logs.example/second"),
        ]


class FailureOnTheFormTests:
    def test_a_new_device_registered_on_the_form_fails_on_its_incident_not_the_device(self):
        response = client_for(production_worker()).post(
            reverse(ADD),
            {
                "device": "",
                "serial_number": "SN-NEW-01",
                "project": "Falcon",
                "fail_station": "ST3",
                "fail_item": "BT_RSSI",
                "description": "",
            },
        )

        assert response.status_code == 302
        incident = Incident.objects.get(device__serial_number="SN-NEW-01")
        assert (incident.fail_station, incident.fail_item) == ("ST3", "BT_RSSI")
        assert not hasattr(incident.device, "fail_item")

    def test_a_failure_time_in_the_future_is_refused_with_a_reason(self):
        device = DeviceFactory()
        later = timezone.localtime() + timedelta(days=2)

        response = client_for(production_worker()).post(
            reverse(ADD),
            add_form(
                device,
                fail_item="BT_RSSI",
                failed_at_0=later.strftime("%Y-%m-%d"),
                failed_at_1=later.strftime("%H:%M"),
            ),
        )

        assert response.status_code == 200
        assert "The failure time is in the future." in response.content.decode()
        assert not Incident.objects.filter(device=device).exists()

    @pytest.mark.parametrize(
        "day", ["0001-01-01", "9999-12-31", "2025-02-30", "abc", "2025-01-01\x00"]
    )
    def test_an_extreme_or_broken_failure_time_is_a_form_error(self, day):
        device = DeviceFactory()

        response = client_for(production_worker()).post(
            reverse(ADD), add_form(device, fail_item="X", failed_at_0=day, failed_at_1="10:00")
        )

        # The form says what is wrong (a NUL is refused before any form reads it, with a 400).
        assert response.status_code == (400 if "\x00" in day else 200)
        assert not Incident.objects.filter(device=device).exists()

    def test_the_change_form_corrects_a_mistyped_fail_item_on_the_timeline(self):
        incident = incident_open(
            device=DeviceFactory(), reporter=production_worker(), fail_item="BT_RSIS"
        )
        admin = AdminFactory()
        client = client_for(admin)
        page = client.get(reverse("admin:incidents_incident_change", args=[incident.pk]))
        form = page.context["adminform"].form
        data = {
            name: ("" if value is None else value)
            for name, value in form.initial.items()
            if name in form.fields
        }
        data.update(
            fail_item="BT_RSSI",
            failed_at_0=timezone.localtime(incident.failed_at).strftime("%Y-%m-%d"),
            failed_at_1=timezone.localtime(incident.failed_at).strftime("%H:%M:%S"),
            problem_group="",
        )

        response = client.post(reverse("admin:incidents_incident_change", args=[incident.pk]), data)

        assert response.status_code == 302, response.context["adminform"].form.errors
        incident.refresh_from_db()
        assert incident.fail_item == "BT_RSSI"
        assert incident.history.first().fail_item == "BT_RSSI"

    @pytest.mark.parametrize("day", ["9999-12-31", "tomorrow"])
    def test_the_change_form_refuses_a_failure_after_the_incident_opened_with_a_reason(self, day):
        incident = incident_open(device=DeviceFactory(), reporter=production_worker())
        failed_at = incident.failed_at
        if day == "tomorrow":
            day = (timezone.localdate() + timedelta(days=1)).isoformat()
        client = client_for(AdminFactory())
        url = reverse("admin:incidents_incident_change", args=[incident.pk])
        form = client.get(url).context["adminform"].form
        data = {
            name: ("" if value is None else value)
            for name, value in form.initial.items()
            if name in form.fields
        }
        data.update(failed_at_0=day, failed_at_1="10:00:00", problem_group="")

        # The database's rule names the opening time, which the form does not edit: the form
        # skipped it and the save answered 500.
        response = client.post(url, data)

        assert response.status_code == 200
        assert "the failure time cannot be later than the time the incident was opened" in (
            response.content.decode()
        )
        incident.refresh_from_db()
        assert incident.failed_at == failed_at


class FailureImportTests:
    def test_a_reimported_row_opens_an_incident_with_the_rows_failure(self):
        device = DeviceFactory(serial_number="SN-IMPORT-1")
        dataset = tablib.Dataset(
            headers=["设备SN", "Fail站", "Fail项", "测试链接", "登记时间"],
        )
        dataset.append(
            ["SN-IMPORT-1", "RF-OTA", "WIFI_TX_POWER_LOW", "\\\\nas\\log", "2025-03-04 10:22"]
        )

        result = IncidentResource().import_data(dataset, user=AdminFactory())

        assert not result.has_errors() and not result.has_validation_errors()
        incident = Incident.objects.get(device=device)
        assert (incident.fail_station, incident.fail_item, incident.test_log_url) == (
            "RF-OTA",
            "WIFI_TX_POWER_LOW",
            "\\\\nas\\log",
        )


# --- the migration, on each database ----------------------------------------------------------
def _run_migration(database_url: str) -> dict:
    return run_json("tests.incidents.failure_migration", database_url=database_url, timeout=240)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def migrated(request, tmp_path_factory, django_db_blocker):
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("migration") / "db.sqlite3"
        yield _run_migration(f"sqlite:///{path}")
        return
    default = settings.DATABASES["default"]
    if default["ENGINE"] != "django.db.backends.postgresql":
        pytest.skip("the suite runs on SQLite here")
    import psycopg

    name = f"adt_failure_{uuid.uuid4().hex[:10]}"
    admin = psycopg.connect(
        host=default["HOST"] or "127.0.0.1",
        port=default["PORT"] or 5432,
        user=default["USER"],
        password=default["PASSWORD"],
        dbname="postgres",
        autocommit=True,
    )
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = (
            f"postgres://{default['USER']}:{default['PASSWORD']}@{default['HOST'] or '127.0.0.1'}:"
            f"{default['PORT'] or 5432}/{name}"
        )
        yield _run_migration(url)
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


class FailureMigrationTests:
    def test_every_incident_takes_its_devices_failure_and_fails_when_it_opened(self, migrated):
        wanted = {
            "fail_station": "RF-OTA",
            "fail_item": "WIFI_TX_POWER_LOW",
            "test_log_url": "https://logs.example/SN-TWICE",
            "failed_at_is_opened_at": True,
        }
        assert migrated["incidents"]["first"] == wanted
        assert migrated["incidents"]["second"] == wanted
        assert migrated["incidents"]["third"]["fail_item"] == ""

    def test_past_versions_of_an_incident_carry_the_same_failure(self, migrated):
        assert migrated["history"]["fail_item"] == "WIFI_TX_POWER_LOW"

    def test_a_devices_failure_without_an_incident_stays_in_its_history(self, migrated):
        assert migrated["lonely_reasons"] == ["failure (no incident): MMI · CAM_AF_FAIL"]

    def test_the_device_holds_no_failure_any_more(self, migrated):
        assert {"fail_station", "fail_item", "test_log_url"}.isdisjoint(migrated["device_columns"])

    def test_migrating_back_gives_each_device_its_newest_failure(self, migrated):
        assert migrated["back"]["SN-TWICE"] == [
            "RF-OTA",
            "WIFI_TX_POWER_LOW",
            "https://logs.example/SN-TWICE",
        ]
        assert migrated["back"]["SN-QUIET"] == ["", "", ""]
