"""The new-incident form: a device picked there that has an open incident is flagged at once
(the small JSON answer the page asks) and refused with a link to that incident; a new serial
number is registered where the form says the device is, which starts as where the reporter's
department works."""

import pytest
from django.urls import reverse

from incidents.choices import DepartmentCode, Stage
from incidents.models import Department, Incident, StageOwnership
from incidents.services import incident_open
from locations.models import Device
from locations.selectors import device_trail
from tests.factories import (
    DeviceFactory,
    EmployeeFactory,
    LocationFactory,
    StaffFactory,
)
from tests.incidents.test_people import client_for

pytestmark = pytest.mark.django_db

ADD = "admin:incidents_incident_add"
OPEN_INCIDENT = "admin:incidents_incident_device_open_incident"


def production_worker():
    return StaffFactory(department=Department.objects.get(code=DepartmentCode.PRODUCTION))


def line_location(code="LINE-A1"):
    """Production's stage (reported) works on the line."""
    line = LocationFactory(code=code)
    StageOwnership.objects.filter(stage=Stage.REPORTED).update(work_location=line)
    return line


class OpenIncidentFlagTests:
    def test_a_device_with_an_open_incident_is_answered_with_its_number_stage_and_link(self):
        device = DeviceFactory(serial_number="SN-BUSY")
        incident = incident_open(device=device, reporter=StaffFactory())

        answer = (
            client_for(StaffFactory()).get(reverse(OPEN_INCIDENT), {"device": device.pk}).json()
        )

        assert answer["incident"]["id"] == incident.pk
        assert answer["incident"]["url"] == reverse(
            "admin:incidents_incident_change", args=[incident.pk]
        )
        assert answer["incident"]["stage"] == "Reported by production"
        assert "SN-BUSY" in answer["incident"]["message"]

    def test_a_device_without_an_open_incident_is_answered_with_none(self):
        device = DeviceFactory()

        answer = (
            client_for(StaffFactory()).get(reverse(OPEN_INCIDENT), {"device": device.pk}).json()
        )

        assert answer == {"incident": None}

    def test_someone_who_may_not_open_incidents_is_refused(self):
        device = DeviceFactory()
        incident_open(device=device, reporter=StaffFactory())

        response = client_for(EmployeeFactory()).get(reverse(OPEN_INCIDENT), {"device": device.pk})

        assert response.status_code == 403

    def test_the_device_field_carries_the_address_the_page_asks(self):
        page = client_for(StaffFactory()).get(reverse(ADD)).content.decode()

        assert f'data-open-incident-url="{reverse(OPEN_INCIDENT)}"' in page
        assert "js/incident_add" in page

    def test_the_refusal_links_the_open_incident(self):
        device = DeviceFactory()
        incident = incident_open(device=device, reporter=StaffFactory())

        response = client_for(StaffFactory()).post(reverse(ADD), {"device": device.pk})

        assert response.status_code == 200
        link = reverse("admin:incidents_incident_change", args=[incident.pk])
        assert f'<a href="{link}"' in response.content.decode()
        assert Incident.objects.filter(device=device).count() == 1


class NewDeviceLocationTests:
    def test_the_location_starts_as_where_the_reporters_department_works(self):
        line = line_location()

        form = client_for(production_worker()).get(reverse(ADD)).context["adminform"].form

        assert form["location"].value() == line.pk

    def test_the_location_starts_empty_when_the_department_works_nowhere_named(self):
        StageOwnership.objects.filter(stage=Stage.REPORTED).update(work_location=None)

        form = client_for(production_worker()).get(reverse(ADD)).context["adminform"].form

        assert form["location"].value() in (None, "")

    def test_a_new_serial_number_is_registered_where_the_form_says_with_a_trail_entry(self):
        line_location()
        bench = LocationFactory(code="REPAIR-BENCH")
        reporter = production_worker()

        response = client_for(reporter).post(
            reverse(ADD), {"serial_number": "SN-FRESH-1", "location": bench.pk}
        )

        assert response.status_code == 302
        device = Device.objects.get(serial_number="SN-FRESH-1")
        assert device.location == bench
        assert device.incidents.get().reporter == reporter
        [entry] = device_trail(device)
        assert (entry.to_location, entry.by) == (bench, reporter)

    def test_an_inactive_location_is_not_offered(self):
        closed = LocationFactory(code="CLOSED", is_active=False)

        response = client_for(production_worker()).post(
            reverse(ADD), {"serial_number": "SN-FRESH-2", "location": closed.pk}
        )

        assert response.status_code == 200
        assert response.context["adminform"].form.errors["location"]
        assert not Device.objects.filter(serial_number="SN-FRESH-2").exists()
