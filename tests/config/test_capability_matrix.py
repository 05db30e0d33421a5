"""Each capability alone, on every path: a person whose only role is one capability
(incidents/capabilities.py) asks for every URL of the permission matrix
(tests/config/test_permission_matrix.py) with GET and with POST, in the same world, and gets
what the capability says and nothing more; a person with no role at all gets only what anyone
signed in gets. A role made of several capabilities is the union of these (a Django permission
adds, never takes away), so "QA auditor" (read everything, import and export lists) and "Line
leader" (open incidents, move devices) are covered by their parts, and tested whole below.

What each capability unlocks is written out below per list (read, add, edit, delete, import,
export, labels) and per page; any URL not named for a capability must refuse its person. A new
URL is therefore refused to every capability until someone says which capability opens it.
Who may act on a given incident (assign, review, record, submit) is decided by incidents/rules.py
on top of the permissions: nobody here supervises a stage or is assigned one, so every workflow
button refuses them.
"""

import pytest
from django.contrib.auth.models import Group
from django.db import transaction
from django.test import Client
from django.urls import reverse

from incidents.capabilities import CapabilityCode, permissions_of
from incidents.choices import DepartmentCode
from incidents.models import Department
from incidents.selectors import permissions_named
from tests.config.test_permission_matrix import EXPECTATIONS
from tests.config.test_permission_matrix import world as matrix_world  # noqa: F401 (a fixture)
from tests.factories import EmployeeFactory
from tests.permission_matrix import (
    ANSWERED,
    READ_ONLY,
    REFUSED,
    SHOWN,
    WRITTEN,
    Expectation,
    at,
    bulk,
    check,
    given,
    pk_of,
    posted,
)

C = CapabilityCode
NO_ROLE = "no role"
S, RO, W, R, A = SHOWN, READ_ONLY, WRITTEN, REFUSED, ANSWERED


# --- what a person holding one capability gets ----------------------------------------------------
def _name(app_model: str) -> str:
    app, model = app_model.split(".")
    return f"admin:{app}_{model}"


def reads(app_model: str, *, history_form: bool = True) -> dict:
    """The list and the record's page (read-only), its changes and past versions."""
    name = _name(app_model)
    pages = {
        f"{name}_changelist": (S, R),
        f"{name}_change": (RO, R),
        f"{name}_history": (S, S),
    }
    if history_form:
        pages[f"{name}_simple_history"] = (S, R)
    return pages


def edits(app_model: str, *, history_form: bool = True) -> dict:
    return {**reads(app_model, history_form=history_form), f"{_name(app_model)}_change": (S, W)}


def adds(app_model: str) -> dict:
    return {f"{_name(app_model)}_add": (S, W)}


def deletes(app_model: str) -> dict:
    name = _name(app_model)
    return {f"{name}_changelist": (S, W), f"{name}_delete": (S, W)}


def exports(app_model: str) -> dict:
    return {f"{_name(app_model)}_export": (S, S)}


def imports(app_model: str) -> dict:
    name = _name(app_model)
    return {f"{name}_import": (S, S), f"{name}_process_import": (R, W)}


def labels(app_model: str) -> dict:
    name = _name(app_model)
    return {f"{name}_label_png_action": (S, S), f"{name}_label_svg_action": (S, S)}


# Anyone signed in: the dashboard, search, their password, the language, logging out, and
# Django's bare `<id>/` redirect (the page it leads to decides).
NO_ROLE_PAGES = {
    "": (S, S),
    "healthz": (S, S),
    "favicon": (S, S),
    "readyz": (S, S),
    "set_language": (S, A),
    "admin:index": (S, S),
    "admin:search": (S, S),
    "admin:jsi18n": (S, R),
    "admin:login": (S, A),
    "admin:logout": (R, S),
    "admin:password_change": (S, W),
    "admin:password_change_done": (S, R),
    # Each person's list of the reports they asked for (none in this world).
    "admin:incidents_reportjob_changelist": (S, R),
    # The API's schema and reference are open to anyone; its root and unknown addresses are
    # nothing.
    "api-v1:openapi-json": (S, S),
    "api-v1:openapi-view": (S, S),
    "api-v1:api-root": (R, R),
    "api-v1:nothing_here": (R, R),
    **{
        key: (S, S)
        for key in EXPECTATIONS
        if key.startswith("admin/") and key.endswith("/<path:object_id>/")
    },
}
# Those pages do not depend on a role: asked once, by the person with none.
ROLE_FREE = set(NO_ROLE_PAGES)


# The API with a person's session reads what their lists show; it only reads (a POST is 405).
def api_reads(*names: str) -> dict:
    return {f"api-v1:{name}_{page}": (S, R) for name in names for page in ("list", "detail")}


# The incidents app's page, for anyone who may see one of its lists.
APP_PAGE = {"admin:app_list": (S, S)}
# Picking a device on a form (the incident's device field): whoever may see devices.
DEVICE_PICKER = {"admin:autocomplete": (S, R)}
# Each person's own notifications: read, marked read (nothing of theirs in this world).
NOTIFICATIONS = {
    "admin:incidents_notification_changelist": (S, S),
    "admin:incidents_notification_mark_all_read": (R, S),
}
# What comes with seeing incidents: their files, reports, chat and the message search.
INCIDENT_SURROUNDINGS = {
    "admin:incidents_attachment_download": (S, S),
    "incident_report": (S, S),
    "chat:messages": (S, R),
    "chat:people": (S, R),
    "chat:revisions": (S, R),
    "chat:attachment": (S, R),
    "chat:send": (R, W),
    "chat:read": (R, W),
    "admin:messaging_message_changelist": (S, R),
    **NOTIFICATIONS,
    **api_reads("incident"),
    # What the incident page's "Seen before" shows, through the API.
    "api-v1:incident_similar": (S, R),
}
DEVICE_LIST = {
    **reads("locations.device"),
    **exports("locations.device"),
    **labels("locations.device"),
    **DEVICE_PICKER,
    **api_reads("device"),
}
LOCATION_LIST = {
    **reads("locations.location"),
    **exports("locations.location"),
    **labels("locations.location"),
    **api_reads("location"),
}
# Colleagues as on a badge: no export, no history of versions.
COLLEAGUES = {**reads("incidents.employee", history_form=False), **labels("incidents.employee")}
# The trail of configuration changes: read, never written, by whoever configures.
CONFIGURATION_TRAIL = reads("incidents.configchange", history_form=False)
# Asking for a group's report (a POST) queues a report job.
PROBLEM_GROUPS = {
    **reads("incidents.problemgroup"),
    "problem_group_report": (S, W),
    **api_reads("problem_group"),
}

UNLOCKS: dict[str, dict] = {
    C.READ_EVERYTHING: {
        **APP_PAGE,
        **reads("incidents.incident"),
        **exports("incidents.incident"),
        **INCIDENT_SURROUNDINGS,
        **PROBLEM_GROUPS,
        "problem_group_eightd_report": (S, W),
        **DEVICE_LIST,
        **LOCATION_LIST,
        **COLLEAGUES,
        **reads("incidents.department", history_form=False),
        **reads("incidents.stageownership", history_form=False),
    },
    C.OPEN_INCIDENTS: {
        **APP_PAGE,
        **reads("incidents.incident"),
        **adds("incidents.incident"),
        **exports("incidents.incident"),
        "admin:incidents_incident_device_open_incident": (S, S),
        **INCIDENT_SURROUNDINGS,
        **DEVICE_LIST,
        **adds("locations.device"),
        "api-v1:result_batch": (R, W),
    },
    C.WORK_ON_ASSIGNED: {
        **APP_PAGE,
        **reads("incidents.incident"),
        **exports("incidents.incident"),
        **INCIDENT_SURROUNDINGS,
        **PROBLEM_GROUPS,
        "problem_group_eightd_report": (S, W),
        **DEVICE_LIST,
    },
    C.ASSIGN_AND_REVIEW: {
        **APP_PAGE,
        **edits("incidents.incident"),
        **exports("incidents.incident"),
        **INCIDENT_SURROUNDINGS,
        **PROBLEM_GROUPS,
        **edits("incidents.problemgroup"),
        **adds("incidents.problemgroup"),
        **DEVICE_LIST,
    },
    C.MOVE_DEVICES: {
        **APP_PAGE,
        **DEVICE_LIST,
        **LOCATION_LIST,
        **COLLEAGUES,
        "admin:locations_device_move_action": (S, W),
        "admin:locations_device_scan": (S, R),
        "admin:locations_device_scan_api": (R, W),
        "admin:locations_device_scan_commands": (S, R),
    },
    C.PRINT_LABELS: {**APP_PAGE, **DEVICE_LIST, **LOCATION_LIST, **COLLEAGUES},
    C.IMPORT_EXPORT_LISTS: {
        **APP_PAGE,
        **INCIDENT_SURROUNDINGS,
        "admin:incidents_incident_device_open_incident": (S, S),
        **DEVICE_PICKER,
        **{
            page: outcome
            for app_model in ("incidents.incident", "locations.device", "locations.location")
            for page, outcome in {
                **edits(app_model),
                **adds(app_model),
                **imports(app_model),
                **exports(app_model),
            }.items()
        },
        **labels("locations.device"),
        **labels("locations.location"),
        **api_reads("device", "location"),
        "api-v1:result_batch": (R, W),
    },
    C.IMPORT_LEGACY: {
        **APP_PAGE,
        "admin:incidents_legacyimport_changelist": (S, W),
        "admin:incidents_legacyimport_add": (S, W),
        "admin:incidents_legacyimport_change": (S, S),
        "admin:incidents_legacyimport_delete": (S, W),
        "admin:incidents_legacyimport_history": (S, S),
        "admin:incidents_legacyimport_status": (S, S),
        "admin:incidents_legacyimport_confirm": (S, W),
        "admin:incidents_legacyimport_retry": (S, W),
    },
    C.CONFIGURE_DEPARTMENTS: {
        **APP_PAGE,
        **{
            page: outcome
            for app_model in (
                "incidents.department",
                "incidents.stageownership",
                "incidents.projectaccess",
            )
            for page, outcome in {
                **edits(app_model, history_form=False),
                **adds(app_model),
                **deletes(app_model),
            }.items()
        },
        **COLLEAGUES,
        **LOCATION_LIST,
        **CONFIGURATION_TRAIL,
    },
    C.MANAGE_PEOPLE: {
        **APP_PAGE,
        **CONFIGURATION_TRAIL,
        **edits("incidents.employee", history_form=False),
        **adds("incidents.employee"),
        **deletes("incidents.employee"),
        **imports("incidents.employee"),
        **exports("incidents.employee"),
        **labels("incidents.employee"),
        "admin:auth_user_password_change": (S, W),
        **edits("auth.group", history_form=False),
        **adds("auth.group"),
        **deletes("auth.group"),
        "admin:auth_group_role_matrix": (S, R),
        **reads("incidents.department", history_form=False),
    },
    C.DELETE_UNUSED: {
        **APP_PAGE,
        **NOTIFICATIONS,
        **PROBLEM_GROUPS,
        **deletes("incidents.problemgroup"),
        "admin:messaging_message_changelist": (S, R),
        **DEVICE_LIST,
        **deletes("locations.device"),
        **LOCATION_LIST,
        **deletes("locations.location"),
    },
}
PEOPLE = [NO_ROLE, *UNLOCKS]


def expected(person: str, key: str) -> tuple[str, str]:
    if key in ROLE_FREE:
        return NO_ROLE_PAGES[key]
    return UNLOCKS.get(person, {}).get(key, (R, R))


@pytest.fixture(scope="module")
def capability_world(request, django_db_blocker):
    """The permission matrix's world, with one person per capability whose only role is that
    capability, and one person with no role (all in FAE, like the matrix's staff)."""
    world = request.getfixturevalue("matrix_world")
    with django_db_blocker.unblock():
        fae = Department.objects.get(code=DepartmentCode.FAE)
        for person in PEOPLE:
            employee = EmployeeFactory(username=f"only-{person}".replace(" ", "-"), department=fae)
            if person != NO_ROLE:
                role = Group.objects.create(name=f"Only {person}")
                role.permissions.set(permissions_named(permissions_of([person])))
                employee.groups.add(role)
            client = Client()
            client.force_login(employee)
            world.people[person] = employee
            world.clients[person] = client
    return world


@pytest.fixture
def media_root(settings, capability_world):
    """The attachments made with the world stay readable by every test."""
    settings.MEDIA_ROOT = capability_world.media
    return settings.MEDIA_ROOT


def ask(world, person: str, method: str, expectation: Expectation, outcome: str) -> None:
    """One request in its own savepoint, rolled back, so the next one sees the same world."""
    with transaction.atomic():
        check(world, person, method, expectation, outcome)
        transaction.set_rollback(True)


MATRIX = [
    pytest.param(person, key, id=f"{person} {key}")
    for person in PEOPLE
    for key in sorted(EXPECTATIONS)
    if person == NO_ROLE or key not in ROLE_FREE
]


@pytest.mark.django_db
class CapabilityMatrixTests:
    def test_every_page_a_capability_unlocks_is_a_url_of_the_matrix(self):
        named = {key for unlocked in UNLOCKS.values() for key in unlocked} | ROLE_FREE

        assert sorted(named - set(EXPECTATIONS)) == []

    @pytest.mark.parametrize(("person", "key"), MATRIX)
    def test_a_capability_alone_opens_what_it_says_and_nothing_more(
        self, capability_world, person, key
    ):
        on_get, on_post = expected(person, key)

        ask(capability_world, person, "GET", EXPECTATIONS[key], on_get)
        ask(capability_world, person, "POST", EXPECTATIONS[key], on_post)


# --- the buttons of the lists, which the matrix's one request per URL does not press -------------
def print_labels(app_model: str, thing: str) -> Expectation:
    """The list's "Print QR labels" on one thing: a PDF, not the list again."""
    app, model = app_model.split(".")
    return posted(
        at(f"admin:{app}_{model}_changelist"),
        given(action="print_labels", _selected_action=pk_of(thing)),
    )


LIST_ACTIONS = {
    "opening incidents opens one for a device from the device list": (
        bulk("locations.device", "open_incidents", "spare_device"),
        {C.OPEN_INCIDENTS: W, C.IMPORT_EXPORT_LISTS: W, C.READ_EVERYTHING: R, C.MOVE_DEVICES: R},
    ),
    "assigning and reviewing gathers incidents into a problem group from the list": (
        posted(
            at("admin:incidents_incident_changelist"),
            given(
                action="bulk_problem_group",
                _selected_action=pk_of("working"),
                apply="1",
                problem_group=pk_of("problem_group"),
            ),
            page_counts=True,
        ),
        {C.ASSIGN_AND_REVIEW: W, C.READ_EVERYTHING: R, C.WORK_ON_ASSIGNED: R},
    ),
    "printing labels prints a sheet from the device list": (
        print_labels("locations.device", "device"),
        {C.PRINT_LABELS: S, C.MOVE_DEVICES: S, C.IMPORT_LEGACY: R, NO_ROLE: R},
    ),
    "printing labels prints a sheet from the employee list": (
        print_labels("incidents.employee", "newcomer"),
        {C.PRINT_LABELS: S, C.IMPORT_EXPORT_LISTS: R},
    ),
    "managing people deactivates someone from the list": (
        bulk("incidents.employee", "deactivate_selected", "newcomer"),
        {C.MANAGE_PEOPLE: W, C.CONFIGURE_DEPARTMENTS: R, C.READ_EVERYTHING: R},
    ),
    "deactivating a location from the list is editing it, not deleting": (
        bulk("locations.location", "deactivate_selected", "spare_location"),
        {C.IMPORT_EXPORT_LISTS: W, C.DELETE_UNUSED: R},
    ),
}
LIST_ACTION_CASES = [
    pytest.param(name, person, id=f"{name}: {person}")
    for name, (_expectation, outcomes) in LIST_ACTIONS.items()
    for person in outcomes
]


@pytest.mark.django_db
class CapabilityListActionTests:
    @pytest.mark.parametrize(("name", "person"), LIST_ACTION_CASES)
    def test_holds(self, capability_world, name, person):
        expectation, outcomes = LIST_ACTIONS[name]

        ask(capability_world, person, "POST", expectation, outcomes[person])


# --- roles made of several capabilities -----------------------------------------------------------
def person_with(world, name: str, *codes: str) -> Client:
    role = Group.objects.create(name=name)
    role.permissions.set(permissions_named(permissions_of(codes)))
    employee = EmployeeFactory(username=name.lower().replace(" ", "-"), roles=[name])
    client = Client()
    client.force_login(employee)
    world.clients[name] = client
    return client


@pytest.mark.django_db
class ComposedRoleTests:
    def test_a_qa_auditor_reads_exports_and_imports_but_configures_nothing(self, capability_world):
        world = capability_world
        person_with(world, "QA auditor", C.READ_EVERYTHING, C.IMPORT_EXPORT_LISTS)
        cases = [
            ("admin:incidents_incident_export", "POST", S),
            ("admin:locations_device_process_import", "POST", W),
            ("admin:incidents_problemgroup_changelist", "GET", S),
            ("admin:incidents_department_change", "POST", R),
            ("admin:incidents_employee_export", "GET", R),
            ("admin:auth_group_changelist", "GET", R),
            ("admin:incidents_legacyimport_add", "GET", R),
            ("admin:locations_device_scan_api", "POST", R),
        ]

        for key, method, outcome in cases:
            ask(world, "QA auditor", method, EXPECTATIONS[key], outcome)

    def test_a_line_leader_opens_incidents_and_moves_devices_and_nothing_else(
        self, capability_world
    ):
        world = capability_world
        person_with(world, "Line leader", C.OPEN_INCIDENTS, C.MOVE_DEVICES)
        cases = [
            ("admin:incidents_incident_add", "POST", W),
            ("admin:locations_device_scan_api", "POST", W),
            ("admin:locations_device_move_action", "POST", W),
            ("admin:locations_device_change", "POST", R),
            ("admin:incidents_incident_change", "POST", R),
            ("admin:incidents_problemgroup_changelist", "GET", R),
            ("admin:incidents_incident_import", "GET", R),
            ("admin:auth_group_changelist", "GET", R),
        ]

        for key, method, outcome in cases:
            ask(world, "Line leader", method, EXPECTATIONS[key], outcome)

    def test_a_line_leaders_sidebar_has_the_scan_station_and_no_settings(self, capability_world):
        client = person_with(capability_world, "Line leader", C.OPEN_INCIDENTS, C.MOVE_DEVICES)

        page = client.get(reverse("admin:index")).content.decode()

        assert reverse("admin:locations_device_scan") in page
        assert reverse("admin:incidents_incident_changelist") in page
        assert reverse("admin:incidents_problemgroup_changelist") not in page
        assert reverse("admin:auth_group_changelist") not in page
        assert reverse("admin:incidents_stageownership_changelist") not in page
