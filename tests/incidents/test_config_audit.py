"""The audit trail of configuration (incidents/audit.py, incidents/admin/audit.py): every change
of roles and their permissions, people's roles and superuser status, departments, supervisors
and stage ownership is kept once, with who, when, before and after, whatever made it (a page,
a service, the shell); administrators read it in words and nobody edits it."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from incidents.audit import one_change
from incidents.capabilities import permission_label
from incidents.choices import ConfigChangeAction, ConfigChangeKind, DepartmentCode, Role, Stage
from incidents.legacy.importer import ALL_LISTED, LegacyImporter
from incidents.models import ConfigChange, Department, Employee, StageOwnership
from incidents.services import department_save, department_set_supervisors, stage_ownership_save
from incidents.services.people import roles_grant
from tests.admin_pages import form_data
from tests.factories import (
    AdminFactory,
    DepartmentFactory,
    StaffFactory,
    SuperuserFactory,
    SupervisorFactory,
)
from tests.incidents.test_departments import department_form, legacy_workbook
from tests.incidents.test_people import change_data

pytestmark = pytest.mark.django_db


def client_for(person) -> Client:
    client = Client()
    client.force_login(person)
    return client


def changes_of(kind: ConfigChangeKind, obj) -> list[ConfigChange]:
    return list(ConfigChange.objects.filter(kind=kind, object_id=obj.pk).order_by("id"))


def only_change(kind: ConfigChangeKind, obj) -> ConfigChange:
    changes = changes_of(kind, obj)
    assert len(changes) == 1, [(c.action, c.before, c.after) for c in changes]
    return changes[0]


def view_incident() -> Permission:
    return Permission.objects.get(content_type__app_label="incidents", codename="view_incident")


class RoleChangeTests:
    def test_a_new_role_is_kept_made_by_nobody_from_code(self):
        role = Group.objects.create(name="QA auditors")

        change = only_change(ConfigChangeKind.ROLE, role)
        assert (change.action, change.before, change.after) == (
            ConfigChangeAction.CREATED,
            {},
            {"name": "QA auditors"},
        )
        assert change.by is None
        assert change.created_at <= timezone.now()

    def test_renaming_a_role_keeps_both_names(self):
        role = Group.objects.create(name="QA auditors")
        role.name = "Auditors"
        role.save()

        renamed = changes_of(ConfigChangeKind.ROLE, role)[-1]
        assert (renamed.action, renamed.before, renamed.after) == (
            ConfigChangeAction.CHANGED,
            {"name": "QA auditors"},
            {"name": "Auditors"},
        )

    def test_deleting_a_role_keeps_what_it_gave_and_to_whom(self):
        role = Group.objects.create(name="QA auditors")
        role.permissions.add(view_incident())
        person = StaffFactory()
        person.groups.add(role)
        role_id = role.pk

        role.delete()

        deleted = ConfigChange.objects.get(
            kind=ConfigChangeKind.ROLE, object_id=role_id, action=ConfigChangeAction.DELETED
        )
        assert deleted.before == {
            "name": "QA auditors",
            "permissions": ["incidents.view_incident"],
            "people": [str(person)],
        }

    def test_a_permission_given_to_a_role_is_kept_by_its_name(self):
        role = Group.objects.create(name="QA auditors")

        role.permissions.add(view_incident())

        change = only_change(ConfigChangeKind.ROLE_PERMISSIONS, role)
        assert (change.before, change.after) == (
            {"permissions": []},
            {"permissions": ["incidents.view_incident"]},
        )

    def test_a_role_given_a_permission_from_the_permissions_side_is_kept_on_the_role(self):
        role = Group.objects.create(name="QA auditors")

        view_incident().group_set.add(role)

        assert only_change(ConfigChangeKind.ROLE_PERMISSIONS, role).after == {
            "permissions": ["incidents.view_incident"]
        }

    def test_replacing_permissions_in_one_change_is_one_entry(self):
        role = Group.objects.create(name="QA auditors")
        role.permissions.add(view_incident())
        view_device = Permission.objects.get(codename="view_device")

        with one_change():
            role.permissions.set([view_device])

        replaced = changes_of(ConfigChangeKind.ROLE_PERMISSIONS, role)[1:]
        assert [(c.before, c.after) for c in replaced] == [
            (
                {"permissions": ["incidents.view_incident"]},
                {"permissions": ["locations.view_device"]},
            )
        ]


class PersonChangeTests:
    def test_a_role_given_to_a_person_is_kept(self):
        person = StaffFactory()
        before = len(changes_of(ConfigChangeKind.PERSON_ROLES, person))

        person.groups.add(Group.objects.get(name=Role.SUPERVISOR))

        change = changes_of(ConfigChangeKind.PERSON_ROLES, person)[before]
        assert (change.before, change.after) == (
            {"roles": ["staff"]},
            {"roles": ["staff", "supervisor"]},
        )
        assert change.object_repr == str(person)

    def test_a_person_given_a_role_from_the_roles_side_is_kept_on_the_person(self):
        person = StaffFactory()
        before = len(changes_of(ConfigChangeKind.PERSON_ROLES, person))

        Group.objects.get(name=Role.ADMIN).user_set.add(person)

        assert changes_of(ConfigChangeKind.PERSON_ROLES, person)[before].after == {
            "roles": ["admin", "staff"]
        }

    def test_roles_given_in_bulk_by_an_import_are_kept(self):
        person = StaffFactory()
        before = len(changes_of(ConfigChangeKind.PERSON_ROLES, person))

        roles_grant(grants=[(person, Role.SUPERVISOR), (person, Role.STAFF)])

        granted = changes_of(ConfigChangeKind.PERSON_ROLES, person)[before:]
        assert [(c.before, c.after) for c in granted] == [
            ({"roles": ["staff"]}, {"roles": ["staff", "supervisor"]})
        ]

    def test_what_a_legacy_workbook_configures_is_kept_as_done_by_the_importer(self, tmp_path):
        admin = AdminFactory()
        book = legacy_workbook(
            tmp_path / "people.xlsx", [("30001", "王五", "wu.30001", "", "Quality", "主管")]
        )

        # The supervisor role a workbook names is granted once the administrator confirms it.
        LegacyImporter(book, user=admin, confirmed_people=ALL_LISTED).run()

        quality = Department.objects.get(name="Quality")
        lead = Employee.objects.get(employee_number="30001")
        created = only_change(ConfigChangeKind.DEPARTMENT, quality)
        supervisors = only_change(ConfigChangeKind.SUPERVISORS, quality)
        roles = changes_of(ConfigChangeKind.PERSON_ROLES, lead)
        assert (created.action, created.by) == (ConfigChangeAction.CREATED, admin)
        assert (supervisors.by, supervisors.after) == (admin, {"supervisors": [str(lead)]})
        assert roles and {change.by for change in roles} == {admin}
        assert roles[-1].after == {"roles": ["staff", "supervisor"]}

    def test_a_new_superuser_and_the_flag_taken_away_are_kept(self):
        root = SuperuserFactory()
        root.is_superuser = False
        root.save()

        made, taken = changes_of(ConfigChangeKind.SUPERUSER, root)
        assert (made.action, made.after) == (ConfigChangeAction.CREATED, {"is_superuser": True})
        assert (taken.before, taken.after) == ({"is_superuser": True}, {"is_superuser": False})

    def test_the_rest_of_a_person_is_not_configuration(self):
        person = StaffFactory()
        person.display_name = "Renamed"
        person.save()
        person.last_login = timezone.now()
        person.save(update_fields=["last_login"])

        assert changes_of(ConfigChangeKind.SUPERUSER, person) == []


class DepartmentChangeTests:
    def test_creating_changing_and_deactivating_a_department_are_kept(self):
        admin = AdminFactory()
        quality = department_save(department=Department(code="QA", name="Quality"), by=admin)
        quality.description = "Checks the line"
        department_save(department=quality, by=admin)
        quality.is_active = False
        department_save(department=quality, by=admin)

        created, described, deactivated = changes_of(ConfigChangeKind.DEPARTMENT, quality)
        assert created.action == ConfigChangeAction.CREATED
        assert created.after == {
            "code": "QA",
            "name": "Quality",
            "name_zh": "",
            "description": "",
            "is_active": True,
        }
        assert (described.before, described.after) == (
            {"description": ""},
            {"description": "Checks the line"},
        )
        assert (deactivated.before, deactivated.after) == (
            {"is_active": True},
            {"is_active": False},
        )

    def test_saving_a_department_unchanged_keeps_nothing(self):
        quality = DepartmentFactory(code="QA")
        quality.save()

        assert len(changes_of(ConfigChangeKind.DEPARTMENT, quality)) == 1

    def test_replacing_a_supervisor_is_one_change(self):
        quality = DepartmentFactory(code="QA")
        first, second = StaffFactory(), StaffFactory()
        department_set_supervisors(department=quality, supervisors=[first])

        department_set_supervisors(department=quality, supervisors=[second])

        assert [(c.before, c.after) for c in changes_of(ConfigChangeKind.SUPERVISORS, quality)] == [
            ({"supervisors": []}, {"supervisors": [str(first)]}),
            ({"supervisors": [str(first)]}, {"supervisors": [str(second)]}),
        ]


class StageOwnershipChangeTests:
    def test_giving_a_stage_to_another_department_is_kept_by_codes(self):
        ownership = StageOwnership.objects.get(stage=Stage.XRAY)
        ownership.department = Department.objects.get(code=DepartmentCode.FAE)

        stage_ownership_save(ownership=ownership)

        change = only_change(ConfigChangeKind.STAGE_OWNERSHIP, ownership)
        assert (change.before, change.after) == ({"department": "XRAY"}, {"department": "FAE"})
        assert change.object_repr == Stage.XRAY

    def test_taking_a_stage_away_and_giving_it_again_are_kept(self):
        ownership = StageOwnership.objects.get(stage=Stage.XRAY)
        ownership_id = ownership.pk
        ownership.delete()
        given = stage_ownership_save(
            ownership=StageOwnership(
                stage=Stage.XRAY, department=Department.objects.get(code=DepartmentCode.EE)
            )
        )

        deleted = ConfigChange.objects.get(
            kind=ConfigChangeKind.STAGE_OWNERSHIP, object_id=ownership_id
        )
        assert (deleted.action, deleted.before) == (
            ConfigChangeAction.DELETED,
            {"stage": "xray", "department": "XRAY", "work_location": "", "target": ""},
        )
        assert only_change(ConfigChangeKind.STAGE_OWNERSHIP, given).after == {
            "stage": "xray",
            "department": "EE",
            "work_location": "",
            "target": "",
        }


class ThroughThePagesTests:
    """A change made on a page names whoever made it, once."""

    def test_a_role_created_on_its_page_names_the_administrator(self):
        admin = AdminFactory()
        browser = client_for(admin)
        url = reverse("admin:auth_group_add")
        data = {**form_data(browser.get(url).content.decode()), "name": "Line leaders"}

        response = browser.post(url, {**data, "_save": "Save"})

        assert response.status_code == 302, response.content.decode()[:3000]
        change = only_change(ConfigChangeKind.ROLE, Group.objects.get(name="Line leaders"))
        assert (change.action, change.by) == (ConfigChangeAction.CREATED, admin)

    def test_changing_a_persons_role_on_their_page_is_one_change(self):
        admin, person = AdminFactory(), StaffFactory()
        before = len(changes_of(ConfigChangeKind.PERSON_ROLES, person))
        supervisor_role = Group.objects.get(name=Role.SUPERVISOR)

        response = client_for(admin).post(
            reverse("admin:incidents_employee_change", args=[person.pk]),
            change_data(person, groups=[supervisor_role.pk]),
        )

        assert response.status_code == 302, response.content.decode()[:3000]
        changed = changes_of(ConfigChangeKind.PERSON_ROLES, person)[before:]
        assert [(c.by, c.before, c.after) for c in changed] == [
            (admin, {"roles": ["staff"]}, {"roles": ["supervisor"]})
        ]

    def test_a_superuser_making_someone_superuser_is_named(self):
        root, person = SuperuserFactory(), StaffFactory()

        client_for(root).post(
            reverse("admin:incidents_employee_change", args=[person.pk]),
            change_data(person, is_superuser="on"),
        )

        change = only_change(ConfigChangeKind.SUPERUSER, person)
        assert (change.by, change.after) == (root, {"is_superuser": True})

    def test_supervisors_changed_on_the_department_page_are_one_change(self):
        admin = AdminFactory()
        quality = DepartmentFactory(code="QA")
        first, second = StaffFactory(), StaffFactory()
        department_set_supervisors(department=quality, supervisors=[first])

        response = client_for(admin).post(
            reverse("admin:incidents_department_change", args=[quality.pk]),
            department_form(quality, supervisors=[second.pk]),
        )

        assert response.status_code == 302, response.content.decode()[:3000]
        change = changes_of(ConfigChangeKind.SUPERVISORS, quality)[-1]
        assert (change.by, change.before, change.after) == (
            admin,
            {"supervisors": [str(first)]},
            {"supervisors": [str(second)]},
        )
        assert len(changes_of(ConfigChangeKind.SUPERVISORS, quality)) == 2

    def test_stage_ownership_changed_on_its_page_names_the_administrator(self):
        admin = AdminFactory()
        ownership = StageOwnership.objects.get(stage=Stage.XRAY)
        fae = Department.objects.get(code=DepartmentCode.FAE)

        response = client_for(admin).post(
            reverse("admin:incidents_stageownership_change", args=[ownership.pk]),
            {"stage": Stage.XRAY, "department": fae.pk, "work_location": ""},
        )

        assert response.status_code == 302, response.content.decode()[:3000]
        change = only_change(ConfigChangeKind.STAGE_OWNERSHIP, ownership)
        assert (change.by, change.after) == (admin, {"department": "FAE"})


class AuditPageTests:
    def test_administrators_read_permissions_in_words(self):
        role = Group.objects.create(name="QA auditors")
        role.permissions.add(view_incident())

        page = client_for(AdminFactory()).get(reverse("admin:incidents_configchange_changelist"))

        text = page.content.decode()
        assert page.status_code == 200
        assert f"+ {permission_label('incidents.view_incident')}" in text
        assert "incidents.view_incident" not in text

    def test_an_entry_shows_what_it_was_before_and_after(self):
        ownership = StageOwnership.objects.get(stage=Stage.XRAY)
        ownership.department = Department.objects.get(code=DepartmentCode.FAE)
        stage_ownership_save(ownership=ownership)
        change = only_change(ConfigChangeKind.STAGE_OWNERSHIP, ownership)

        page = client_for(AdminFactory()).get(
            reverse("admin:incidents_configchange_change", args=[change.pk])
        )

        text = page.content.decode()
        assert page.status_code == 200
        assert str(Stage.XRAY.label) in text
        assert str(Department.objects.get(code="XRAY")) in text
        assert str(Department.objects.get(code="FAE")) in text
        assert page.context["has_change_permission"] is False

    def test_the_list_filters_by_kind_person_and_date(self):
        admin, other = AdminFactory(), AdminFactory()
        Group.objects.create(name="Old role")
        ConfigChange.objects.filter(object_repr="Old role").update(
            created_at=timezone.now() - timedelta(days=30), by=other
        )
        Group.objects.create(name="New role")
        DepartmentFactory(code="QA", name="Quality")
        browser = client_for(admin)
        url = reverse("admin:incidents_configchange_changelist")
        today = timezone.localdate().isoformat()

        def shown(**query) -> set[str]:
            page = browser.get(url, query)
            assert page.status_code == 200
            return {change.object_repr for change in page.context["cl"].result_list}

        assert {"Old role", "New role"} <= shown(kind__exact=ConfigChangeKind.ROLE)
        assert "Quality (QA)" not in shown(kind__exact=ConfigChangeKind.ROLE)
        assert shown(by__id__exact=other.pk) == {"Old role"}
        recent = shown(created_at_from_0=today, created_at_from_1="00:00:00")
        assert "New role" in recent and "Old role" not in recent

    @pytest.mark.parametrize("factory", [StaffFactory, SupervisorFactory])
    def test_staff_and_supervisors_are_refused(self, factory):
        Group.objects.create(name="QA auditors")
        change = ConfigChange.objects.first()
        browser = client_for(factory())

        assert browser.get(reverse("admin:incidents_configchange_changelist")).status_code == 403
        assert (
            browser.get(
                reverse("admin:incidents_configchange_change", args=[change.pk])
            ).status_code
            == 403
        )

    def test_nobody_adds_changes_or_deletes_an_entry_not_even_a_superuser(self):
        Group.objects.create(name="QA auditors")
        change = ConfigChange.objects.get(object_repr="QA auditors")
        browser = client_for(SuperuserFactory())

        added = browser.post(reverse("admin:incidents_configchange_add"), {"object_repr": "x"})
        changed = browser.post(
            reverse("admin:incidents_configchange_change", args=[change.pk]),
            {"object_repr": "Forged"},
        )
        deleted = browser.post(
            reverse("admin:incidents_configchange_delete", args=[change.pk]), {"post": "yes"}
        )
        listed = browser.post(
            reverse("admin:incidents_configchange_changelist"),
            {"action": "delete_selected", "_selected_action": [change.pk], "post": "yes"},
        )

        assert [added.status_code, changed.status_code, deleted.status_code] == [403, 403, 403]
        assert listed.status_code == 200
        assert ConfigChange.objects.get(pk=change.pk).object_repr == "QA auditors"

    def test_the_admin_role_reads_the_trail_and_no_one_else_does(self):
        admin, supervisor = AdminFactory(), SupervisorFactory()

        assert admin.has_perm("incidents.view_configchange")
        assert not admin.has_perm("incidents.change_configchange")
        assert not admin.has_perm("incidents.delete_configchange")
        assert not supervisor.has_perm("incidents.view_configchange")

    def test_someone_named_in_the_trail_is_deactivated_rather_than_deleted(self):
        admin = AdminFactory()
        client_for(admin).post(
            reverse("admin:incidents_department_add"),
            {"code": "QA", "name": "Quality", "is_active": "on"},
        )

        page = client_for(SuperuserFactory()).post(
            reverse("admin:incidents_employee_delete", args=[admin.pk]), {"post": "yes"}
        )

        assert page.status_code == 200
        assert "configuration changes" in page.content.decode()
        assert Employee.objects.filter(pk=admin.pk).exists()
