import pytest
from django.contrib.auth.models import Group

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
