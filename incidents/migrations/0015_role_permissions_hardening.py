"""Staff move devices without editing them; administrators are a role, not superusers, and
delete no part of the audit trail. Adds and removes exactly these permissions, nothing else."""

from django.db import migrations

from incidents.migrations._roles import change_role_permissions

# role → (permissions added, permissions removed), as "app_label.codename".
CHANGES = {
    "staff": (["locations.move_device"], ["locations.change_device"]),
    "supervisor": (["locations.move_device"], []),
    "admin": (
        ["locations.move_device"],
        [
            f"{app}.{action}_{model}"
            for app, models in {
                "incidents": [
                    "incident",
                    "operationrecord",
                    "attachment",
                    "analysisresult",
                    "incidentevent",
                    "historicalincident",
                    "historicalproblemgroup",
                ],
                "locations": ["historicaldevice", "historicallocation"],
            }.items()
            for model in models
            for action in ("delete",)
        ]
        + [
            f"incidents.{action}_{model}"
            for model in (
                "attachment",
                "incidentevent",
                "historicalincident",
                "historicalproblemgroup",
            )
            for action in ("add", "change")
        ]
        + [
            f"locations.{action}_{model}"
            for model in ("historicaldevice", "historicallocation")
            for action in ("add", "change")
        ]
        + ["incidents.change_operationrecord", "incidents.change_analysisresult"],
    ),
}


def apply_changes(apps, schema_editor):
    change_role_permissions(apps, CHANGES)
    # Administrators used to be made superusers, which bypassed the role's permission table.
    # People made superusers outside the admin role (createsuperuser) stay as they are.
    employee_model = apps.get_model("incidents", "Employee")
    employee_model.objects.filter(groups__name="admin", is_superuser=True).update(
        is_superuser=False
    )


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0014_keep_timeline_on_delete"),
        ("locations", "0003_device_move_permission"),
    ]

    operations = [migrations.RunPython(apply_changes, migrations.RunPython.noop)]
