"""Administrators are a role with a permission table, not superusers; supervisor roles follow
the departments people supervise."""

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from incidents.choices import Role
from incidents.models import Department, Employee
from incidents.services import department_set_supervisors, employee_create
from tests.factories import AdminFactory, DepartmentFactory, StaffFactory, SuperuserFactory

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def change_data(employee: Employee, **changes) -> dict:
    """The employee change form as it would be posted back unchanged, with `changes`."""
    data = {
        "username": employee.username,
        "employee_number": employee.employee_number,
        "display_name": employee.display_name,
        "email": employee.email,
        "department": employee.department_id or "",
        "is_active": "on" if employee.is_active else "",
        "is_staff": "on" if employee.is_staff else "",
        "groups": [group.pk for group in employee.groups.all()],
        "language": employee.language,
        "date_joined_0": employee.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": employee.date_joined.strftime("%H:%M:%S"),
        "held_devices-TOTAL_FORMS": "0",
        "held_devices-INITIAL_FORMS": "0",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


class AdminRoleTests:
    def test_creating_an_administrator_makes_a_role_member_not_a_superuser(self):
        person = employee_create(employee_number="A1", username="boss", roles=(Role.ADMIN,))

        assert not person.is_superuser
        assert person.is_admin
        assert person.has_perm("incidents.change_department")
        assert not person.has_perm("incidents.delete_incident")

    def test_an_administrator_cannot_grant_superuser(self):
        admin = AdminFactory()
        staff = StaffFactory()
        url = reverse("admin:incidents_employee_change", args=[staff.pk])

        response = client_for(admin).post(url, change_data(staff, is_superuser="on"))

        assert response.status_code == 302, response.content.decode()[:3000]
        staff.refresh_from_db()
        assert not staff.is_superuser

    def test_an_administrator_cannot_give_themselves_permissions_one_by_one(self):
        admin = AdminFactory()
        url = reverse("admin:incidents_employee_change", args=[admin.pk])
        permissions = list(
            Group.objects.get(name=Role.ADMIN).permissions.values_list("pk", flat=True)
        )

        client_for(admin).post(url, change_data(admin, user_permissions=permissions))

        assert not admin.user_permissions.exists()

    def test_an_administrator_cannot_change_a_superuser(self):
        root = SuperuserFactory()
        url = reverse("admin:incidents_employee_change", args=[root.pk])
        admin = client_for(AdminFactory())

        response = admin.post(url, change_data(root, email="taken@example.com"))
        password = admin.post(
            reverse("admin:auth_user_password_change", args=[root.pk]),
            {"password1": "x-Very-long-pass-1", "password2": "x-Very-long-pass-1"},
        )

        root.refresh_from_db()
        assert response.status_code == 403
        assert password.status_code == 403
        assert root.email != "taken@example.com"
        assert root.check_password("secret-pass-123")

    def test_an_administrator_cannot_take_their_own_administrator_role_away(self):
        admin = AdminFactory()
        staff_role = Group.objects.get(name=Role.STAFF)
        url = reverse("admin:incidents_employee_change", args=[admin.pk])

        response = client_for(admin).post(url, change_data(admin, groups=[staff_role.pk]))

        assert response.status_code == 200
        assert "These roles would stop you managing people" in response.content.decode()
        assert admin.is_admin

    def test_an_administrator_changes_another_administrators_roles(self):
        other = AdminFactory()
        staff_role = Group.objects.get(name=Role.STAFF)
        url = reverse("admin:incidents_employee_change", args=[other.pk])

        response = client_for(AdminFactory()).post(url, change_data(other, groups=[staff_role.pk]))

        assert response.status_code == 302
        assert not Employee.objects.get(pk=other.pk).is_admin

    def test_a_superuser_may_grant_superuser(self):
        staff = StaffFactory()
        url = reverse("admin:incidents_employee_change", args=[staff.pk])

        client_for(SuperuserFactory()).post(url, change_data(staff, is_superuser="on"))

        staff.refresh_from_db()
        assert staff.is_superuser


class SupervisorRoleTests:
    def test_taking_someone_off_the_supervisors_takes_the_role_away(self):
        department = DepartmentFactory()
        person = StaffFactory(department=department)
        department_set_supervisors(department=department, supervisors=[person])
        assert person.has_role(Role.SUPERVISOR)

        department_set_supervisors(department=department, supervisors=[])

        assert not person.has_role(Role.SUPERVISOR)

    def test_someone_who_still_supervises_another_department_keeps_the_role(self):
        first, second = DepartmentFactory(), DepartmentFactory()
        person = StaffFactory(department=first)
        department_set_supervisors(department=first, supervisors=[person])
        department_set_supervisors(department=second, supervisors=[person])

        department_set_supervisors(department=first, supervisors=[])

        assert person.has_role(Role.SUPERVISOR)
        assert list(person.supervised_departments.all()) == [second]

    def test_the_department_page_takes_the_role_away_too(self):
        department = Department.objects.get(code="FAE")
        person = StaffFactory(department=department)
        department_set_supervisors(department=department, supervisors=[person])
        url = reverse("admin:incidents_department_change", args=[department.pk])

        response = client_for(AdminFactory()).post(
            url,
            {
                "name": department.name,
                "code": department.code,
                "description": "",
                "is_active": "on",
                "members": [person.pk],
            },
        )

        assert response.status_code == 302, response.content.decode()[:3000]
        assert not department.supervisors.exists()
        assert not person.has_role(Role.SUPERVISOR)


class ColleaguesListTests:
    """Staff see colleagues as on a badge: name, number, department; accounts and the list as a
    file are for whoever manages people."""

    def test_staff_see_name_number_and_department_and_no_account_details(self):
        colleague = StaffFactory(username="li.lei.login", display_name="Li Lei")
        client_for(colleague).get(reverse("admin:index"))  # a last login to hide
        client = client_for(StaffFactory())

        listing = client.get(reverse("admin:incidents_employee_changelist"))
        page = client.get(reverse("admin:incidents_employee_change", args=[colleague.pk]))

        assert listing.context["cl"].list_display == [
            "action_checkbox",
            "employee_number",
            "display_name",
            "department",
        ]
        for response in (listing, page):
            text = response.content.decode()
            assert "Li Lei" in text and colleague.employee_number in text
            assert "li.lei.login" not in text
            assert "Last login" not in text and "last login" not in text.lower()
        assert page.context["has_change_permission"] is False
        fields = [
            name
            for _title, options in page.context["adminform"].fieldsets
            for name in options["fields"]
        ]
        assert fields == ["employee_number", "display_name", "department"]

    def test_staff_cannot_find_people_by_their_login(self):
        StaffFactory(username="secret-login", display_name="Han Meimei")
        client = client_for(StaffFactory())

        found = client.get(reverse("admin:incidents_employee_changelist"), {"q": "secret-login"})

        assert found.context["cl"].result_count == 0

    def test_staff_are_not_offered_the_export_and_are_refused_it(self):
        client = client_for(StaffFactory())

        listing = client.get(reverse("admin:incidents_employee_changelist")).content.decode()
        export = client.get(reverse("admin:incidents_employee_export"))

        assert reverse("admin:incidents_employee_export") not in listing
        assert export.status_code == 403

    def test_administrators_still_see_accounts_and_export(self):
        StaffFactory(username="visible-login")
        client = client_for(AdminFactory())

        listing = client.get(reverse("admin:incidents_employee_changelist"))

        assert "username" in listing.context["cl"].list_display
        assert "last_login" in listing.context["cl"].list_display
        assert reverse("admin:incidents_employee_export") in listing.content.decode()
        assert client.get(reverse("admin:incidents_employee_export")).status_code == 200


class EmployeeListFilterTests:
    def test_people_are_filtered_by_role_named_as_the_roles_column_names_it(self):
        supervisor = StaffFactory(display_name="Role Supervisor")
        supervisor.groups.set([Group.objects.get(name=Role.SUPERVISOR)])
        StaffFactory(display_name="Role Staff")
        nobody = StaffFactory(display_name="Role Nobody")
        nobody.groups.clear()
        client = client_for(AdminFactory())
        url = reverse("admin:incidents_employee_changelist")

        def shown(**query) -> set[str]:
            listing = client.get(url, query)
            return {person.display_name for person in listing.context["cl"].result_list}

        supervisors = Group.objects.get(name=Role.SUPERVISOR).pk
        page = client.get(url).content.decode()

        assert "Role Supervisor" in shown(groups__id__exact=supervisors)
        assert "Role Staff" not in shown(groups__id__exact=supervisors)
        assert shown(groups__id__exact="none") == {"Role Nobody"}
        assert str(Role.SUPERVISOR.label) in page and "By role" in page
        assert "By groups" not in page
