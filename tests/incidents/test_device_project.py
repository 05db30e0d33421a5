"""Moving a device between projects across a restriction is an administrator's change, on every
path: a supervisor cannot hide an incident from the people working it by giving its device a
confidential project, an insider cannot declassify a device by renaming its project, and what
an administrator does is kept in the configuration audit."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from incidents.choices import ConfigChangeKind, DepartmentCode, Stage
from incidents.models import ConfigChange, Department, ProjectAccess
from incidents.services import incident_open
from locations.services import device_update
from tests.factories import AdminFactory, DeviceFactory, StaffFactory, SupervisorFactory
from tests.incidents.test_people import client_for
from tests.locations.test_trail import change_form_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def condor():
    """Condor is confidential to the X-ray lab."""
    access = ProjectAccess.objects.create(project="Condor")
    access.departments.add(Department.objects.get(code=DepartmentCode.XRAY))
    return access


def supervisor_of(code):
    department = Department.objects.get(code=code)
    person = SupervisorFactory(department=department)
    department.supervisors.add(person)
    return person


def post_project(client, device, project):
    url = reverse("admin:locations_device_change", args=[device.pk])
    data = change_form_data(client, url)
    return client.post(url, {**data, "project": project, "_save": "Save"})


class DeviceProjectTests:
    def test_a_supervisor_cannot_hide_a_device_in_a_confidential_project(self, condor):
        device = DeviceFactory(project="Falcon")
        incident = incident_open(device=device, reporter=StaffFactory(), stage=Stage.ME_ANALYSIS)
        me_lead = supervisor_of(DepartmentCode.ME)
        client = client_for(me_lead)

        response = post_project(client, device, "Condor")

        assert response.status_code == 200
        assert "only an administrator can do it" in response.content.decode()
        device.refresh_from_db()
        assert device.project == "Falcon"
        page = client.get(reverse("admin:incidents_incident_change", args=[incident.pk]))
        assert page.status_code == 200

    @pytest.mark.parametrize("new", ["Open", "", "CONDOR-2"])
    def test_an_insider_cannot_declassify_a_device_by_renaming_its_project(self, condor, new):
        device = DeviceFactory(project="Condor")
        insider = supervisor_of(DepartmentCode.XRAY)

        response = post_project(client_for(insider), device, new)

        assert response.status_code == 200
        device.refresh_from_db()
        assert device.project == "Condor"

    def test_the_service_refuses_whatever_path_calls_it(self, condor):
        device = DeviceFactory(project="Condor")

        with pytest.raises(ValidationError, match="only an administrator"):
            device_update(device=device, by=supervisor_of(DepartmentCode.XRAY), project="Open")

        device.refresh_from_db()
        assert device.project == "Condor"

    def test_the_case_of_a_name_is_not_a_move(self, condor):
        device = DeviceFactory(project="condor")

        device_update(device=device, by=supervisor_of(DepartmentCode.XRAY), project="Condor")

        device.refresh_from_db()
        assert device.project == "Condor"

    def test_an_administrator_moves_it_and_the_audit_keeps_it(self, condor):
        device = DeviceFactory(project="Falcon", serial_number="SN-MOVED")
        administrator = AdminFactory()

        response = post_project(client_for(administrator), device, "Condor")

        assert response.status_code == 302
        device.refresh_from_db()
        assert device.project == "Condor"
        entry = ConfigChange.objects.get(kind=ConfigChangeKind.DEVICE_PROJECT)
        assert (entry.by, entry.object_repr) == (administrator, "SN-MOVED")
        assert (entry.before, entry.after) == ({"project": "Falcon"}, {"project": "Condor"})

    def test_between_open_projects_anyone_who_edits_devices_may_move_it(self, condor):
        device = DeviceFactory(project="Falcon")

        response = post_project(client_for(supervisor_of(DepartmentCode.FAE)), device, "Heron")

        assert response.status_code == 302
        device.refresh_from_db()
        assert device.project == "Heron"
        assert not ConfigChange.objects.filter(kind=ConfigChangeKind.DEVICE_PROJECT).exists()
