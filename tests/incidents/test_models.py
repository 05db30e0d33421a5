import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from incidents.choices import Stage
from incidents.models import Department, Employee, Incident, ProblemGroup
from locations.fields import code_key
from locations.models import Device, Location
from tests.factories import (
    DepartmentFactory,
    DeviceFactory,
    EmployeeFactory,
    IncidentFactory,
    LocationFactory,
    ProblemGroupFactory,
)

pytestmark = pytest.mark.django_db

UNIQUE_KEYS = [
    (
        Device,
        DeviceFactory,
        "serial_number",
        "SN-DUP-1",
        "A device with this serial number already exists.",
    ),
    (
        Employee,
        EmployeeFactory,
        "employee_number",
        "10001",
        "An employee with this employee number already exists.",
    ),
    (Location, LocationFactory, "code", "WH-B2-05", "A location with this code already exists."),
    (
        ProblemGroup,
        ProblemGroupFactory,
        "number",
        "BUG-2025-0012",
        "A problem group with this number already exists.",
    ),
    (Department, DepartmentFactory, "code", "QA", "A department with this code already exists."),
]


class UniqueKeyTests:
    @pytest.mark.parametrize(("model", "factory", "field", "value", "message"), UNIQUE_KEYS)
    def test_database_refuses_a_second_record_with_the_same_key(
        self, model, factory, field, value, message
    ):
        factory(**{field: value})
        second = factory()
        changes = {field: value}
        if model is Device:
            # What the database compares is the serial's key, which its writers keep.
            changes["serial_key"] = code_key(value)

        with pytest.raises(IntegrityError), transaction.atomic():
            model.objects.filter(pk=second.pk).update(**changes)

    @pytest.mark.parametrize(("model", "factory", "field", "value", "message"), UNIQUE_KEYS)
    def test_validation_explains_the_duplicate_in_words(
        self, model, factory, field, value, message
    ):
        factory(**{field: value})
        duplicate = factory.build(**{field: value})

        with pytest.raises(ValidationError) as error:
            duplicate.validate_constraints()

        assert message in error.value.messages

    def test_stray_spaces_do_not_make_a_second_device(self):
        DeviceFactory(serial_number="SN-SPACE")

        with pytest.raises(IntegrityError), transaction.atomic():
            DeviceFactory(serial_number="  SN-SPACE ")

    def test_lookup_by_a_key_with_stray_spaces_finds_the_record(self):
        device = DeviceFactory(serial_number="SN-LOOKUP")

        assert Device.objects.get(serial_number=" SN-LOOKUP\t") == device


class IncidentStageTests:
    def test_new_incident_starts_reported(self):
        assert IncidentFactory().stage == Stage.REPORTED

    def test_stage_cannot_be_assigned_directly(self):
        incident = IncidentFactory()

        with pytest.raises(AttributeError, match="Direct stage modification is not allowed"):
            incident.stage = Stage.RETURNED

    def test_refresh_from_db_works_on_the_protected_stage(self):
        incident = IncidentFactory()

        incident.refresh_from_db()

        assert incident.stage == Stage.REPORTED

    def test_a_device_cannot_have_two_open_incidents(self):
        incident = IncidentFactory()

        with pytest.raises(IntegrityError), transaction.atomic():
            IncidentFactory(device=incident.device)

    def test_a_device_may_have_a_new_incident_after_the_last_one_closed(self):
        closed = IncidentFactory(stage=Stage.RETURNED)

        reopened = IncidentFactory(device=closed.device)

        assert Incident.objects.filter(device=closed.device).count() == 2
        assert reopened.is_open and not closed.is_open

    def test_incident_changes_are_kept_in_history(self):
        incident = IncidentFactory()
        incident.description = "Fails after warm-up"
        incident.save()

        assert incident.history.count() == 2


class ProblemGroupNumberTests:
    @pytest.mark.parametrize("number", ["BUG-2025-0012", "FA-2026-123"])
    def test_accepts_legacy_numbers(self, number):
        ProblemGroup(number=number).full_clean()

    @pytest.mark.parametrize("number", ["bug 12", "2025-0012", "BUG-25-1"])
    def test_refuses_malformed_numbers(self, number):
        with pytest.raises(ValidationError) as error:
            ProblemGroup(number=number).full_clean()

        assert "BUG-2025-0012" in str(error.value)


class LocationTreeTests:
    def test_location_cannot_be_its_own_parent(self):
        location = LocationFactory()
        location.parent = location

        with pytest.raises(IntegrityError), transaction.atomic():
            location.save()

    def test_ancestors_run_from_building_down(self):
        building = LocationFactory(code="B")
        area = LocationFactory(code="B-1", parent=building)
        shelf = LocationFactory(code="B-1-01", parent=area)

        assert shelf.ancestors() == [building, area]
