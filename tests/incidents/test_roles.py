from pathlib import Path

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command

from incidents.choices import Role
from incidents.roles import ROLE_PERMISSIONS
from tests.factories import AdminFactory, StaffFactory, SupervisorFactory

pytestmark = pytest.mark.django_db


class RoleGroupTests:
    @pytest.mark.parametrize("role", list(Role))
    def test_migration_gives_each_role_exactly_its_permissions(self, role):
        group = Group.objects.get(name=role)

        granted = {
            f"{p.content_type.app_label}.{p.codename}"
            for p in group.permissions.select_related("content_type")
        }
        assert granted == ROLE_PERMISSIONS[role]

    def test_staff_reads_everything_but_configures_nothing(self):
        staff = StaffFactory()

        assert staff.has_perm("incidents.view_incident")
        assert staff.has_perm("locations.view_device")
        assert not staff.has_perm("incidents.change_department")
        assert not staff.has_perm("incidents.change_stageownership")
        assert not staff.has_perm("auth.change_group")

    def test_supervisor_can_do_more_than_staff_but_not_configure(self):
        supervisor = SupervisorFactory()

        assert supervisor.has_perm("incidents.change_problemgroup")
        assert not supervisor.has_perm("incidents.add_employee")

    def test_superuser_is_an_admin(self):
        assert AdminFactory().is_admin
        assert not StaffFactory().is_admin


MIGRATIONS = Path(__file__).resolve().parents[2] / "incidents" / "migrations"


class UpgradesKeepConfigurationTests:
    def test_no_migration_reads_the_live_role_table(self):
        for migration in MIGRATIONS.glob("0*.py"):
            assert "incidents.roles" not in migration.read_text(), migration.name

    def test_an_administrators_change_survives_migrate_and_a_later_role_migration(self):
        from django.db import connection
        from django.db.migrations.executor import MigrationExecutor

        from incidents.migrations._roles import change_role_permissions

        # What a migration gets: the models as the migrations left them.
        migration_apps = MigrationExecutor(connection).loader.project_state().apps

        staff = Group.objects.get(name=Role.STAFF)
        removed = staff.permissions.get(codename="view_department")
        added = Permission.objects.get(codename="change_problemgroup")
        staff.permissions.remove(removed)
        staff.permissions.add(added)

        call_command("migrate", verbosity=0)
        # A later migration that gives staff something new names only that.
        change_role_permissions(migration_apps, {"staff": (["incidents.view_notification"], [])})

        codenames = set(staff.permissions.values_list("codename", flat=True))
        assert "view_department" not in codenames
        assert "change_problemgroup" in codenames
        assert "view_notification" in codenames
