"""The role groups and their permissions as they were when this migration was written
(frozen: a later change of incidents/roles.py does not change what it does)."""

from django.db import migrations

from incidents.migrations._roles import set_role_permissions

TABLE = {
    "staff": [
        "incidents.add_incident",
        "incidents.view_department",
        "incidents.view_employee",
        "incidents.view_historicalincident",
        "incidents.view_historicalproblemgroup",
        "incidents.view_incident",
        "incidents.view_problemgroup",
        "incidents.view_stageownership",
        "locations.add_device",
        "locations.change_device",
        "locations.view_device",
        "locations.view_historicaldevice",
        "locations.view_historicallocation",
        "locations.view_location",
    ],
    "supervisor": [
        "incidents.add_incident",
        "incidents.add_problemgroup",
        "incidents.change_incident",
        "incidents.change_problemgroup",
        "incidents.view_department",
        "incidents.view_employee",
        "incidents.view_historicalincident",
        "incidents.view_historicalproblemgroup",
        "incidents.view_incident",
        "incidents.view_problemgroup",
        "incidents.view_stageownership",
        "locations.add_device",
        "locations.add_location",
        "locations.change_device",
        "locations.change_location",
        "locations.view_device",
        "locations.view_historicaldevice",
        "locations.view_historicallocation",
        "locations.view_location",
    ],
    "admin": [
        "auth.add_group",
        "auth.change_group",
        "auth.delete_group",
        "auth.view_group",
        "auth.view_permission",
        "incidents.add_department",
        "incidents.add_employee",
        "incidents.add_historicalincident",
        "incidents.add_historicalproblemgroup",
        "incidents.add_incident",
        "incidents.add_problemgroup",
        "incidents.add_stageownership",
        "incidents.change_department",
        "incidents.change_employee",
        "incidents.change_historicalincident",
        "incidents.change_historicalproblemgroup",
        "incidents.change_incident",
        "incidents.change_problemgroup",
        "incidents.change_stageownership",
        "incidents.delete_department",
        "incidents.delete_employee",
        "incidents.delete_historicalincident",
        "incidents.delete_historicalproblemgroup",
        "incidents.delete_incident",
        "incidents.delete_problemgroup",
        "incidents.delete_stageownership",
        "incidents.view_department",
        "incidents.view_employee",
        "incidents.view_historicalincident",
        "incidents.view_historicalproblemgroup",
        "incidents.view_incident",
        "incidents.view_problemgroup",
        "incidents.view_stageownership",
        "locations.add_device",
        "locations.add_historicaldevice",
        "locations.add_historicallocation",
        "locations.add_location",
        "locations.change_device",
        "locations.change_historicaldevice",
        "locations.change_historicallocation",
        "locations.change_location",
        "locations.delete_device",
        "locations.delete_historicaldevice",
        "locations.delete_historicallocation",
        "locations.delete_location",
        "locations.view_device",
        "locations.view_historicaldevice",
        "locations.view_historicallocation",
        "locations.view_location",
    ],
}


def forwards(apps, schema_editor):
    set_role_permissions(apps, TABLE)


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0002_incident_device_links"),
        ("locations", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
