"""A serial number in any alphabet names one device in any case, on PostgreSQL and on SQLite
(whose UPPER knows ASCII letters only): lookups, scans, registrations and corrections compare
the stored key, never the database's own capitals."""

import importlib

import pytest
from django.apps import apps
from django.db import IntegrityError, transaction

from locations.fields import code_key
from locations.models import Device, DeviceAlias
from tests.locations.serial_keys import CORRECTION, SPELLINGS, cases
from tests.processes import migrated_sqlite, run_json

pytestmark = pytest.mark.django_db

migration = importlib.import_module("locations.migrations.0011_serial_key")


def check(result: dict) -> None:
    for given, other in SPELLINGS:
        assert result["by_serial"][other] == given
        assert result["matching"][other] == [given]
        assert result["scanned"][other] == given
        assert result["second_refused"][other] is True
        assert result["full_clean_refused"][other] is True
    assert result["former_finds"] == CORRECTION[1]
    assert result["former_refused"] is True
    assert result["count"] == len(SPELLINGS) + 1


def test_every_spelling_finds_its_device_on_this_database():
    check(cases())


@pytest.fixture(scope="module")
def on_sqlite(tmp_path_factory):
    path = migrated_sqlite(tmp_path_factory, "serials")
    return run_json("tests.locations.serial_keys", database_url=f"sqlite:///{path}")


def test_every_spelling_finds_its_device_on_sqlite(on_sqlite):
    check(on_sqlite)


class SerialKeyTests:
    def test_the_key_is_written_by_save_and_by_bulk_inserts(self):
        one = Device.objects.create(serial_number=" ünit-1 ")
        Device.objects.bulk_create([Device(serial_number="ünit-2")])

        assert Device.objects.get(pk=one.pk).serial_key == "ÜNIT-1"
        assert Device.objects.get(serial_number="ünit-2").serial_key == "ÜNIT-2"

    def test_the_key_follows_a_serial_saved_alone(self):
        device = Device.objects.create(serial_number="élan-1")
        device.serial_number = "élan-2"
        device.save(update_fields=["serial_number"])

        assert Device.objects.filter(serial_key="ÉLAN-2").get() == device

    def test_the_database_refuses_a_second_device_in_another_case(self):
        Device.objects.create(serial_number="сн-1")

        with pytest.raises(IntegrityError), transaction.atomic():
            Device.objects.create(serial_number="СН-1")

    def test_the_key_is_not_part_of_the_history(self):
        device = Device.objects.create(serial_number="élan-3")

        assert not hasattr(device.history.first(), "serial_key")

    @pytest.mark.parametrize("spelling", ["", "   ", None])
    def test_an_empty_serial_has_an_empty_key(self, spelling):
        assert code_key(spelling) == ""


class MigrationTests:
    def test_it_fills_the_keys_of_the_rows_there_before(self):
        device = Device.objects.create(serial_number="caméra-7")
        alias = DeviceAlias.objects.create(device=device, serial_number="caméra-6", reason="typo")
        Device.objects.update(serial_key="")
        DeviceAlias.objects.update(serial_key="")

        migration.fill_keys(apps, None)

        assert Device.objects.get(pk=device.pk).serial_key == "CAMÉRA-7"
        assert DeviceAlias.objects.get(pk=alias.pk).serial_key == "CAMÉRA-6"

    def test_it_stops_on_two_serials_that_are_one_ignoring_case(self):
        # What the database's own UPPER let through before (SQLite: non-ASCII letters).
        Device.objects.create(serial_number="caméra-8")
        Device.objects.create(serial_number="other")
        Device.objects.filter(serial_number="other").update(
            serial_number="CAMÉRA-8", serial_key="UNFILLED"
        )

        with pytest.raises(RuntimeError, match="one serial ignoring case"):
            migration.fill_keys(apps, None)
