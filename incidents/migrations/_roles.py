"""Frozen helpers of the role migrations: what a migration did when it was written, whatever
incidents/roles.py says today. Never change the meaning of anything here; write a new migration
that adds or removes what it names instead."""


def create_permissions_now(apps) -> None:
    """Permissions are normally created after all migrations ran; create them now so that a
    migration can hand them to roles on a fresh database."""
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None


def permissions_named(apps, names) -> list:
    permission_model = apps.get_model("auth", "Permission")
    wanted = {tuple(name.split(".", 1)) for name in names}
    return [
        permission
        for permission in permission_model.objects.select_related("content_type")
        if (permission.content_type.app_label, permission.codename) in wanted
    ]


def set_role_permissions(apps, table: dict[str, list[str]]) -> None:
    """Create the role groups and give each exactly the permissions of `table` (the first
    role migrations, written before any installation had configured roles of its own)."""
    create_permissions_now(apps)
    group_model = apps.get_model("auth", "Group")
    for role, names in table.items():
        group, _created = group_model.objects.get_or_create(name=role)
        group.permissions.set(permissions_named(apps, names))


def change_role_permissions(apps, changes: dict[str, tuple[list[str], list[str]]]) -> None:
    """Add and remove exactly the permissions named, role by role; nothing else changes, so
    what administrators configured stays."""
    create_permissions_now(apps)
    group_model = apps.get_model("auth", "Group")
    for role, (added, removed) in changes.items():
        group, _created = group_model.objects.get_or_create(name=role)
        group.permissions.add(*permissions_named(apps, added))
        group.permissions.remove(*permissions_named(apps, removed))
