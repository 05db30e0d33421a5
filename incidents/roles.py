"""The permissions each role group carries.

Migrations call `sync_role_groups` whenever models are added, so the groups on every
installation match this table. Object-level rules (only the owning department's supervisor
approves, only the assignee submits) are enforced by the services on top of these.
"""

from incidents.choices import Role

_DOMAIN_MODELS = {
    "incidents": [
        "incident",
        "problemgroup",
        "historicalincident",
        "historicalproblemgroup",
        "operationrecord",
        "attachment",
        "analysisresult",
        "incidentevent",
    ],
    "locations": ["device", "location", "historicaldevice", "historicallocation"],
}
_CONFIGURATION_MODELS = {
    "incidents": ["department", "employee", "stageownership", "legacyimport"],
    "auth": ["group"],
}
# What an administrator edits; history and the audit trail (timeline, records, results) are
# written by the workflow only.
_EDITABLE_MODELS = {
    "incidents": ["incident", "problemgroup", *_CONFIGURATION_MODELS["incidents"]],
    "locations": ["device", "location"],
    "auth": ["group"],
}
# What an administrator may delete at all (the admin pages refuse anything still referenced by
# a trail); incidents are cancelled, never deleted, but by a superuser.
_DELETABLE_MODELS = {
    "incidents": ["problemgroup", "department", "employee", "stageownership", "legacyimport"],
    "locations": ["device", "location"],
    "auth": ["group"],
}


def _perms(models: dict[str, list[str]], actions: tuple[str, ...]) -> set[str]:
    return {
        f"{app}.{action}_{model}"
        for app, names in models.items()
        for model in names
        for action in actions
    }


_READ_ALL = _perms(_DOMAIN_MODELS, ("view",)) | _perms(
    {"incidents": ["department", "employee", "stageownership"]}, ("view",)
)
_OWN_NOTIFICATIONS = {"incidents.view_notification", "incidents.change_notification"}
# Adding records is further limited to the incident's assignee by the services. Staff move
# devices (scan station) but do not edit what a device is.
_STAFF = (
    _READ_ALL
    | _OWN_NOTIFICATIONS
    | {
        "incidents.add_operationrecord",
        "incidents.add_analysisresult",
        "incidents.add_incident",
        "locations.add_device",
        "locations.move_device",
    }
)
_SUPERVISOR = _STAFF | {
    "incidents.change_incident",
    "incidents.add_problemgroup",
    "incidents.change_problemgroup",
    "locations.add_location",
    "locations.change_location",
    "locations.change_device",
}
_ADMIN = (
    _perms(_DOMAIN_MODELS, ("view",))
    | _perms(_CONFIGURATION_MODELS, ("view",))
    | _perms(_EDITABLE_MODELS, ("add", "change"))
    | _perms(_DELETABLE_MODELS, ("delete",))
    | _OWN_NOTIFICATIONS
    | {
        "incidents.add_operationrecord",
        "incidents.add_analysisresult",
        "locations.move_device",
        "auth.view_permission",
    }
)

ROLE_PERMISSIONS: dict[str, set[str]] = {
    Role.STAFF: _STAFF,
    Role.SUPERVISOR: _SUPERVISOR,
    Role.ADMIN: _ADMIN,
}


def sync_role_groups(apps, schema_editor=None) -> None:
    """Create the role groups and give each exactly the permissions of ROLE_PERMISSIONS."""
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after all migrations ran; create them now so the
    # groups can reference them on a fresh database.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    for role, wanted in ROLE_PERMISSIONS.items():
        group, _created = group_model.objects.get_or_create(name=role)
        permissions = [
            permission
            for permission in permission_model.objects.select_related("content_type")
            if f"{permission.content_type.app_label}.{permission.codename}" in wanted
        ]
        group.permissions.set(permissions)
