"""Serial numbers are unique ignoring case, as the importer and the scan station match them: the
database refuses a second ABC1 spelled abc1, so does every way of registering a device, and the
migration that adds the rule lists the clashes already there instead of failing obscurely."""

import importlib

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, connection, transaction

from incidents.admin.incidents import IncidentAddForm
from locations.models import Device
from locations.services import device_register
from tests.factories import DeviceFactory

pytestmark = pytest.mark.django_db

migration = importlib.import_module("locations.migrations.0002_serial_number_unique_ignoring_case")


class SerialNumberUniqueIgnoringCaseTests:
    def test_the_database_refuses_a_serial_number_that_differs_only_in_case(self):
        DeviceFactory(serial_number="ABC1")

        with pytest.raises(IntegrityError), transaction.atomic():
            Device.objects.create(serial_number="abc1")

    def test_validation_says_the_serial_number_exists(self):
        DeviceFactory(serial_number="ABC1")

        with pytest.raises(ValidationError) as refused:
            Device(serial_number="abc1").full_clean()

        assert "A device with this serial number already exists." in refused.value.messages

    def test_registering_a_device_refuses_it_in_another_case(self):
        DeviceFactory(serial_number="ABC1")

        with pytest.raises(ValidationError) as refused:
            device_register(serial_number=" abc1 ", registered_by=None)

        assert refused.value.messages == [
            "Device ABC1 is already registered; pick it instead of creating it again."
        ]
        assert Device.objects.filter(serial_number__iexact="abc1").count() == 1

    def test_the_incident_add_form_refuses_it_in_another_case(self):
        DeviceFactory(serial_number="ABC1")

        form = IncidentAddForm(data={"serial_number": "abc1", "description": "Fails BT"})

        assert not form.is_valid()
        assert "already registered" in form.errors["serial_number"][0]

    def test_the_model_and_its_migrations_agree(self):
        call_command("makemigrations", "locations", check=True, dry_run=True, verbosity=0)


@pytest.fixture
def before_the_constraint():
    """The devices table as it was before migration 0002: case-sensitive uniqueness only. The
    test's transaction puts the constraint back afterwards."""
    with connection.schema_editor() as editor:
        for constraint in Device._meta.constraints:
            editor.remove_constraint(Device, constraint)
        editor.execute(
            'ALTER TABLE "locations_device" ADD CONSTRAINT "device_serial_number_unique" '
            'UNIQUE ("serial_number")'
        )


class SerialNumberClashReportTests:
    def test_the_migration_lists_serial_numbers_that_differ_only_in_case(
        self, before_the_constraint
    ):
        first, second = DeviceFactory(serial_number="ABC1"), DeviceFactory(serial_number="abc1")
        third, fourth = DeviceFactory(serial_number="xy9"), DeviceFactory(serial_number="XY9")
        DeviceFactory(serial_number="UNIQUE-1")

        with pytest.raises(CommandError) as stopped:
            migration.check_serial_numbers(apps, None)

        assert str(stopped.value) == (
            "Serial numbers that differ only in case: "
            f"ABC1 / abc1 (devices {first.pk}, {second.pk}); "
            f"xy9 / XY9 (devices {third.pk}, {fourth.pk}). "
            "Rename or merge them, then migrate again."
        )

    def test_the_migration_goes_on_when_there_is_no_clash(self, before_the_constraint):
        DeviceFactory(serial_number="ABC1")
        DeviceFactory(serial_number="ABC2")

        migration.check_serial_numbers(apps, None)
