"""Roles in words: capabilities are named bundles of permissions; the built-in roles are theirs,
the role page ticks them, the role list and the matrix show who holds what."""

import re
from html import unescape

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from incidents.capabilities import (
    BUILT_IN_ROLES,
    CAPABILITIES,
    CAPABILITY_BY_CODE,
    CapabilityCode,
    Holding,
    holdings,
    included_in,
    permission_label,
    permissions_of,
)
from incidents.choices import Role
from incidents.roles import ROLE_PERMISSIONS
from incidents.selectors import permissions_named, role_permission_names
from incidents.services import role_change_capabilities
from tests.admin_pages import form_data
from tests.factories import AdminFactory, EmployeeFactory, StaffFactory

pytestmark = pytest.mark.django_db

C = CapabilityCode


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def role_with(name: str, *codes: str, extra: tuple[str, ...] = ()) -> Group:
    role = Group.objects.create(name=name)
    role.permissions.set(permissions_named(permissions_of(codes) | set(extra)))
    return role


def holdings_held(permissions: set[str]) -> set[str]:
    return {s.capability.code for s in holdings(permissions) if s.holding == Holding.ALL}


def held_on(states) -> dict[str, str]:
    return {state.capability.code: state.holding for state in states}


class CapabilityDefinitionTests:
    @pytest.mark.parametrize("role", list(Role))
    def test_each_built_in_role_is_exactly_the_union_of_its_capabilities(self, role):
        assert permissions_of(BUILT_IN_ROLES[role]) == ROLE_PERMISSIONS[role]

    @pytest.mark.parametrize("role", list(Role))
    def test_a_built_in_role_holds_its_capabilities_whole_and_no_other_even_partly(self, role):
        states = held_on(holdings(ROLE_PERMISSIONS[role]))

        assert {code for code, holding in states.items() if holding == Holding.ALL} == set(
            BUILT_IN_ROLES[role]
        )
        assert Holding.PARTLY not in states.values()

    def test_every_permission_a_capability_names_exists(self):
        named = permissions_of(CAPABILITY_BY_CODE)

        assert len(permissions_named(named)) == len(named)

    def test_each_capability_is_described_in_one_sentence(self):
        for capability in CAPABILITIES:
            description = str(capability.description)
            assert str(capability.name)
            assert description.endswith(".") and description.count(". ") == 0, capability.code

    def test_printing_labels_comes_with_reading_everything_and_moving_devices(self):
        assert [c.code for c in included_in(C.PRINT_LABELS)] == [
            C.READ_EVERYTHING,
            C.MOVE_DEVICES,
        ]

    def test_a_role_with_part_of_what_a_capability_adds_holds_it_partly_and_lacks_the_rest(self):
        permissions = permissions_of([C.READ_EVERYTHING]) | {"locations.add_location"}

        state = next(s for s in holdings(permissions) if s.capability.code == C.IMPORT_EXPORT_LISTS)

        assert state.holding == Holding.PARTLY
        assert "locations.change_location" in state.missing
        assert "locations.add_location" not in state.missing

    def test_reading_what_a_capability_also_reads_is_not_holding_it_partly(self):
        states = held_on(holdings(permissions_of([C.READ_EVERYTHING])))

        assert states[C.CONFIGURE_DEPARTMENTS] == Holding.NONE
        assert states[C.MANAGE_PEOPLE] == Holding.NONE

    def test_permissions_are_said_in_words(self):
        assert permission_label("locations.change_device") == "change devices"
        assert permission_label("locations.move_device") == "Can move devices and hand them over"


class RoleChangeCapabilitiesTests:
    def test_granting_a_capability_adds_its_permissions_and_nothing_else(self):
        role = role_with("Line leader", C.OPEN_INCIDENTS)

        role_change_capabilities(role=role, granted=[C.MOVE_DEVICES])

        assert role_permission_names(role) == permissions_of([C.OPEN_INCIDENTS, C.MOVE_DEVICES])

    def test_withdrawing_a_capability_keeps_what_a_capability_still_held_needs(self):
        # Moving devices reads the device, location and people lists: printing labels comes
        # with it, and opening incidents reads devices too.
        role = role_with("Line leader", C.OPEN_INCIDENTS, C.MOVE_DEVICES)

        role_change_capabilities(role=role, withdrawn=[C.MOVE_DEVICES])

        names = role_permission_names(role)
        assert names == permissions_of([C.OPEN_INCIDENTS, C.PRINT_LABELS])
        assert "locations.move_device" not in names

    def test_withdrawing_everything_a_capability_comes_with_takes_it_all_away(self):
        role = role_with("Line leader", C.OPEN_INCIDENTS, C.MOVE_DEVICES)

        role_change_capabilities(role=role, withdrawn=[C.MOVE_DEVICES, C.PRINT_LABELS])

        assert role_permission_names(role) == permissions_of([C.OPEN_INCIDENTS])

    def test_withdrawing_leaves_the_permissions_outside_any_capability(self):
        role = role_with("Cleaner", C.DELETE_UNUSED, extra=("incidents.delete_incident",))

        role_change_capabilities(role=role, withdrawn=[C.DELETE_UNUSED])

        assert role_permission_names(role) == {"incidents.delete_incident"}

    def test_an_unknown_capability_changes_nothing(self):
        role = role_with("Line leader", C.OPEN_INCIDENTS)

        with pytest.raises(ValueError):
            role_change_capabilities(role=role, granted=["fly"])

        assert role_permission_names(role) == permissions_of([C.OPEN_INCIDENTS])


def role_form(client: Client, url: str) -> dict:
    return form_data(client.get(url).content.decode(), form_id="group_form")


class RoleFormTests:
    def test_the_role_page_ticks_the_capabilities_the_role_holds_with_their_descriptions(self):
        staff = Group.objects.get(name=Role.STAFF)

        page = client_for(AdminFactory()).get(reverse("admin:auth_group_change", args=[staff.pk]))

        html = unescape(page.content.decode())
        ticked = set(
            re.findall(r'value="(\w+)" id="id_capabilities_\d+" class="[^"]*" checked', html)
        )
        assert ticked == set(BUILT_IN_ROLES[Role.STAFF])
        assert str(CAPABILITY_BY_CODE[C.MOVE_DEVICES].description) in html
        assert "Built in. Given to every person created or imported" in html

    def test_the_permission_list_is_one_click_away_folded(self):
        staff = Group.objects.get(name=Role.STAFF)

        page = client_for(AdminFactory()).get(reverse("admin:auth_group_change", args=[staff.pk]))

        html = page.content.decode()
        folded = html[html.index("<details>") : html.index("</details>")]
        assert "Permissions, for experts" in folded
        assert 'name="permissions"' in html[html.index("<details>") :]

    def test_a_capability_held_partly_says_so_and_what_it_lacks(self):
        role = role_with("Shelf keeper", C.READ_EVERYTHING, extra=("locations.add_location",))

        page = client_for(AdminFactory()).get(reverse("admin:auth_group_change", args=[role.pk]))

        html = page.content.decode()
        assert "Partly held." in html
        assert (
            "It lacks: add devices, add incidents, change devices, change incidents, "
            "change locations. Ticking it adds them." in html
        )

    def test_an_administrator_creates_a_qa_auditor_from_capabilities(self):
        client = client_for(AdminFactory())
        url = reverse("admin:auth_group_add")
        data = {
            **role_form(client, url),
            "name": "QA auditor",
            "capabilities": [C.READ_EVERYTHING, C.IMPORT_EXPORT_LISTS],
        }

        response = client.post(url, data)

        assert response.status_code == 302, response.content.decode()[:2000]
        auditor = Group.objects.get(name="QA auditor")
        assert role_permission_names(auditor) == permissions_of(
            [C.READ_EVERYTHING, C.IMPORT_EXPORT_LISTS]
        )

    def test_unticking_a_capability_takes_its_permissions_away(self):
        role = role_with("Line leader", C.OPEN_INCIDENTS, C.MOVE_DEVICES)
        client = client_for(AdminFactory())
        url = reverse("admin:auth_group_change", args=[role.pk])
        data = role_form(client, url)
        data["capabilities"] = [C.OPEN_INCIDENTS]

        response = client.post(url, data)

        assert response.status_code == 302
        assert role_permission_names(role) == permissions_of([C.OPEN_INCIDENTS])

    def test_a_permission_added_by_hand_is_kept_beside_the_capabilities(self):
        role = role_with("Line leader", C.OPEN_INCIDENTS)
        client = client_for(AdminFactory())
        url = reverse("admin:auth_group_change", args=[role.pk])
        data = role_form(client, url)
        extra = permissions_named(["incidents.delete_incident"])[0]
        data["permissions"] = [*data["permissions"], str(extra.pk)]
        data["capabilities"] = [C.OPEN_INCIDENTS, C.MOVE_DEVICES]

        client.post(url, data)

        assert role_permission_names(role) == permissions_of([C.OPEN_INCIDENTS, C.MOVE_DEVICES]) | {
            "incidents.delete_incident"
        }

    def test_unticking_what_a_ticked_capability_includes_is_refused_with_the_reason(self):
        staff = Group.objects.get(name=Role.STAFF)
        before = role_permission_names(staff)
        client = client_for(AdminFactory())
        url = reverse("admin:auth_group_change", args=[staff.pk])
        data = role_form(client, url)
        data["capabilities"] = [c for c in data["capabilities"] if c != C.PRINT_LABELS]

        response = client.post(url, data)

        assert response.status_code == 200
        assert "Print labels comes with Read everything, Move devices, which stay ticked" in (
            response.content.decode()
        )
        assert role_permission_names(staff) == before

    def test_an_administrator_cannot_untick_managing_people_from_a_role_they_hold(self):
        admin_role = Group.objects.get(name=Role.ADMIN)
        before = role_permission_names(admin_role)
        client = client_for(AdminFactory())
        url = reverse("admin:auth_group_change", args=[admin_role.pk])
        data = role_form(client, url)
        data["capabilities"] = [c for c in data["capabilities"] if c != C.MANAGE_PEOPLE]

        response = client.post(url, data)

        assert response.status_code == 200
        assert "You hold this role: without Manage people and roles it would stop you" in (
            unescape(response.content.decode())
        )
        assert role_permission_names(admin_role) == before

    def test_a_superuser_may_take_managing_people_from_the_administrator_role(self):
        admin_role = Group.objects.get(name=Role.ADMIN)
        superuser = EmployeeFactory(is_superuser=True, is_staff=True)
        superuser.groups.add(admin_role)
        client = client_for(superuser)
        url = reverse("admin:auth_group_change", args=[admin_role.pk])
        data = role_form(client, url)
        data["capabilities"] = [c for c in data["capabilities"] if c != C.MANAGE_PEOPLE]

        response = client.post(url, data)

        assert response.status_code == 302
        assert C.MANAGE_PEOPLE not in holdings_held(role_permission_names(admin_role))

    def test_a_built_in_role_keeps_its_name_and_is_never_deleted(self):
        client = client_for(AdminFactory())
        admin_role = Group.objects.get(name=Role.ADMIN)
        url = reverse("admin:auth_group_change", args=[admin_role.pk])

        page = client.get(url)
        deleting = client.post(
            reverse("admin:auth_group_delete", args=[admin_role.pk]), {"post": "yes"}
        )
        from_the_list = client.post(
            reverse("admin:auth_group_changelist"),
            {"action": "delete_selected", "_selected_action": [admin_role.pk], "post": "yes"},
        )

        assert 'name="name"' not in page.content.decode()
        assert "they review and cancel any incident" in page.content.decode()
        assert deleting.status_code == 403
        assert from_the_list.status_code == 200
        assert "is a built-in role" in from_the_list.content.decode()
        assert Group.objects.filter(name=Role.ADMIN).exists()

    def test_staff_may_not_open_the_role_page(self):
        staff = Group.objects.get(name=Role.STAFF)

        page = client_for(StaffFactory()).get(reverse("admin:auth_group_change", args=[staff.pk]))

        assert page.status_code == 403


class RoleListAndMatrixTests:
    def test_the_role_list_shows_members_and_capabilities(self):
        auditor = role_with("QA auditor", C.READ_EVERYTHING, C.IMPORT_EXPORT_LISTS)
        EmployeeFactory(roles=["QA auditor"])
        EmployeeFactory(roles=["QA auditor"], is_active=False)

        page = client_for(AdminFactory()).get(reverse("admin:auth_group_changelist"))

        html = page.content.decode()
        row = html[html.index(f"?groups__id__exact={auditor.pk}") :][:2000]
        assert '&amp;is_active__exact=1">1</a>' in row
        assert "Read everything" in row and "Import and export lists" in row
        assert "Move devices" not in row
        assert "Role matrix" in html

    def test_the_role_matrix_shows_each_role_against_each_capability(self):
        role_with(
            "Line leader", C.OPEN_INCIDENTS, C.MOVE_DEVICES, extra=("locations.add_location",)
        )

        page = client_for(AdminFactory()).get(reverse("admin:auth_group_role_matrix"))

        html = page.content.decode()
        cells = dict(
            re.findall(
                r'data-capability="(\w+)">.*?data-role="Line leader" data-holding="(\w+)"',
                html,
                re.S,
            )
        )
        assert cells[C.OPEN_INCIDENTS] == Holding.ALL
        assert cells[C.MOVE_DEVICES] == Holding.ALL
        assert cells[C.IMPORT_EXPORT_LISTS] == Holding.PARTLY
        assert cells[C.MANAGE_PEOPLE] == Holding.NONE
        assert "lacks change devices, change incidents, change locations" in html
        assert "Administrator" in html and "Supervisor" in html

    def test_staff_are_refused_the_role_matrix(self):
        page = client_for(StaffFactory()).get(reverse("admin:auth_group_role_matrix"))

        assert page.status_code == 403

    def test_the_role_matrix_lists_permissions_given_outside_any_capability(self):
        role_with("Cleaner", extra=("incidents.delete_incident",))

        page = client_for(AdminFactory()).get(reverse("admin:auth_group_role_matrix"))

        assert "delete incidents" in page.content.decode()
