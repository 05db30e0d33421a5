"""The migration that moves the failure from the device onto each incident, on a real database of
its own, in a process of its own: `python -m tests.incidents.failure_migration` with
DATABASE_URL naming a new SQLite file or an empty PostgreSQL database. It migrates to just
before the move, writes devices and incidents as they were then, migrates on, and prints as JSON
what each incident, device history and (migrated back) device holds."""

import json
import os
from datetime import UTC, datetime, timedelta

BEFORE = [
    ("incidents", "0026_event_incident_stage"),
    ("locations", "0007_device_hardware_version_search_index"),
]
AFTER = [("locations", "0008_failure_moved_to_incidents")]


def migrate(executor, targets):
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def main() -> dict:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    apps = migrate(executor, BEFORE)
    Device = apps.get_model("locations", "Device")
    HistoricalDevice = apps.get_model("locations", "HistoricalDevice")
    Incident = apps.get_model("incidents", "Incident")
    HistoricalIncident = apps.get_model("incidents", "HistoricalIncident")

    opened = datetime(2025, 3, 4, 10, 22, tzinfo=UTC)
    failed = Device.objects.create(
        serial_number="SN-TWICE",
        fail_station="RF-OTA",
        fail_item="WIFI_TX_POWER_LOW",
        test_log_url="https://logs.example/SN-TWICE",
    )
    quiet = Device.objects.create(serial_number="SN-QUIET")
    lonely = Device.objects.create(
        serial_number="SN-LONELY", fail_station="MMI", fail_item="CAM_AF_FAIL"
    )
    HistoricalDevice.objects.create(
        id=lonely.pk,
        serial_number=lonely.serial_number,
        fail_station="MMI",
        fail_item="CAM_AF_FAIL",
        created_at=lonely.created_at,
        history_date=opened,
        history_type="+",
    )
    first = Incident.objects.create(
        device=failed, stage="returned", step="closed", opened_at=opened, closed_at=opened
    )
    second = Incident.objects.create(
        device=failed, stage="reported", step="unassigned", opened_at=opened + timedelta(days=90)
    )
    third = Incident.objects.create(
        device=quiet, stage="reported", step="unassigned", opened_at=opened
    )
    HistoricalIncident.objects.create(
        id=second.pk,
        device_id=failed.pk,
        stage="reported",
        step="unassigned",
        stage_round=1,
        description="",
        opened_at=second.opened_at,
        stage_entered_at=second.opened_at,
        history_date=second.opened_at,
        history_type="+",
    )

    apps = migrate(executor, AFTER)
    Incident = apps.get_model("incidents", "Incident")
    HistoricalIncident = apps.get_model("incidents", "HistoricalIncident")
    HistoricalDevice = apps.get_model("locations", "HistoricalDevice")
    failure = ("fail_station", "fail_item", "test_log_url")

    def row(incident_id: int) -> dict:
        incident = Incident.objects.get(pk=incident_id)
        return {
            **{name: getattr(incident, name) for name in failure},
            "failed_at_is_opened_at": incident.failed_at == incident.opened_at,
        }

    result = {
        "incidents": {"first": row(first.pk), "second": row(second.pk), "third": row(third.pk)},
        "history": HistoricalIncident.objects.filter(id=second.pk).values(*failure)[0],
        "lonely_reasons": list(
            HistoricalDevice.objects.filter(id=lonely.pk)
            .exclude(history_change_reason=None)
            .values_list("history_change_reason", flat=True)
        ),
        "device_columns": [f.name for f in apps.get_model("locations", "Device")._meta.fields],
    }
    apps = migrate(executor, BEFORE)
    Device = apps.get_model("locations", "Device")
    result["back"] = {
        device.serial_number: [getattr(device, name) for name in failure]
        for device in Device.objects.order_by("serial_number")
    }
    return result


if __name__ == "__main__":
    print(json.dumps(main()))
