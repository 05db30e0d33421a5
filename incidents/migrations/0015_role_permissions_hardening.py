"""Staff move devices without editing them; administrators are a role, not superusers, and
delete no part of the audit trail. Adds and removes exactly these permissions, nothing else."""

from django.db import migrations

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


def _permissions(apps, names):
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    permission_model = apps.get_model("auth", "Permission")
    wanted = {tuple(name.split(".", 1)) for name in names}
    return [
        permission
        for permission in permission_model.objects.select_related("content_type")
        if (permission.content_type.app_label, permission.codename) in wanted
    ]


def apply_changes(apps, schema_editor):
    group_model = apps.get_model("auth", "Group")
    for role, (added, removed) in CHANGES.items():
        group, _created = group_model.objects.get_or_create(name=role)
        group.permissions.add(*_permissions(apps, added))
        group.permissions.remove(*_permissions(apps, removed))
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
