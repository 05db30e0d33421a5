"""The permission matrix with a confidential project: every URL the project serves, asked for by
people outside the project, shows nothing of it; people inside see everything as before.

The world is the permission matrix's (tests/config/permission_matrix.py), with its devices'
project ("Falcon") restricted to the production department and the waiting incident in the
problem group. Staff and the supervisor of FAE are outside: every page, list, search, count,
suggestion, export, label, report and chat answer they get, with GET and with the POST the matrix
sends, is either refused or free of the project's serial numbers, name and texts. When FAE is
named too, they are inside: the matrix's own expectations hold for them unchanged.
"""

import io
import json

import pypdfium2
import pytest
from django.contrib import admin
from django.urls import reverse
from openpyxl import load_workbook

from incidents.choices import DepartmentCode
from incidents.models import Department, Incident, ProjectAccess
from locations.models import Device, Location
from messaging.selectors import can_see_room, visible_rooms
from messaging.services import room_for
from tests.admin_pages import describe, refusal
from tests.config.test_permission_matrix import (  # media_root reads this module's world
    EXPECTATIONS,
    media_root,  # noqa: F401
)
from tests.permission_matrix import (
    STAFF,
    SUPERVISOR,
    check,
    kept_cookies,
    world_made,
)

OUTSIDERS = (STAFF, SUPERVISOR)
# What the world's incidents, records and chat say (their devices are all of the project).
TEXTS = (
    "falcon",
    "fails bt_rssi at station 3",
    "retested on station 3",
    "reproduced the failure",
    "station3.log",
    "the pad is lifted",
    "pad.png",
)


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory):
    with world_made(django_db_blocker, tmp_path_factory) as made:
        waiting = made.things["waiting"]
        Incident.objects.filter(pk=waiting.pk).update(problem_group=made.things["problem_group"])
        assert set(Device.objects.values_list("project", flat=True)) == {"Falcon"}
        restriction = ProjectAccess.objects.create(project="FALCON", note="Customer contract")
        restriction.departments.add(Department.objects.get(code=DepartmentCode.PRODUCTION))
        made.things["falcon_restriction"] = restriction
        made.serials = [
            serial.lower() for serial in Device.objects.values_list("serial_number", flat=True)
        ]
        yield made


def readable(response) -> str:
    """Everything a person could read in the answer: its text, a PDF's or a workbook's text,
    the file name it downloads as, where it redirects to; lower-cased."""
    content = b"".join(response.streaming_content) if response.streaming else response.content
    kind = response.get("Content-Type", "")
    if "pdf" in kind:
        document = pypdfium2.PdfDocument(content)
        text = "\n".join(page.get_textpage().get_text_range() for page in document)
    elif "spreadsheetml" in kind:
        book = load_workbook(io.BytesIO(content), read_only=True)
        text = "\n".join(
            str(value)
            for sheet in book.worksheets
            for row in sheet.iter_rows(values_only=True)
            for value in row
            if value is not None
        )
    elif kind.startswith("image/") and "svg" not in kind:
        text = ""
    else:
        text = content.decode("utf-8", "replace")
    return "\n".join(
        [text, response.get("Content-Disposition", ""), response.get("Location", "")]
    ).lower()


def sent(url: str, data) -> str:
    """What the person sent themselves (an answer may repeat it), lower-cased."""
    parts = [url]
    for value in (data or {}).values() if isinstance(data, dict) else [data]:
        if hasattr(value, "read"):
            parts.append(value.read().decode("utf-8", "replace"))
            value.seek(0)
        else:
            parts.append(str(value))
    return "\n".join(parts).lower()


def leaked(world, response, echo: str = "") -> list[str]:
    """The project's serial numbers, name and texts the answer shows, but those in `echo`."""
    text = readable(response)
    return [term for term in (*world.serials, *TEXTS) if term in text and term not in echo]


def ask(world, role: str, method: str, url: str, data=None, *, json_body=False, prepare=None):
    client = world.clients[role]
    with kept_cookies(client):
        if prepare:
            prepare(world, client)
        if method == "GET":
            return client.get(url, data)
        if json_body:
            return client.post(url, data, content_type="application/json")
        return client.post(url, data)


MATRIX = [
    pytest.param(key, role, method, id=f"{key} {role} {method}")
    for key in sorted(EXPECTATIONS)
    for role in OUTSIDERS
    for method in ("GET", "POST")
]


@pytest.mark.django_db
@pytest.mark.usefixtures("media_root")
class OutsidersSeeNothingOfTheProjectTests:
    @pytest.mark.parametrize(("key", "role", "method"), MATRIX)
    def test_every_url_answers_an_outsider_without_the_project(self, world, key, role, method):
        expectation = EXPECTATIONS[key]
        url = expectation.url(world)
        data = expectation.data(world) if method == "POST" else None
        echo = sent(url, data)
        response = ask(
            world, role, method, url, data, json_body=expectation.json, prepare=expectation.prepare
        )

        if refusal(response):
            return
        found = leaked(world, response, echo=echo)
        assert found == [], f"{role} {method} {url} → {describe(response)}"

    SEARCHES = [
        ("admin:incidents_incident_changelist", "q"),
        ("admin:locations_device_changelist", "q"),
        ("admin:incidents_notification_changelist", "q"),
        ("admin:messaging_message_changelist", "q"),
        ("admin:search", "s"),
    ]

    @pytest.mark.parametrize(("name", "param"), SEARCHES)
    @pytest.mark.parametrize("role", OUTSIDERS)
    def test_searches_find_nothing_of_the_project(self, world, role, name, param):
        terms = [world.things["device"].serial_number, "Falcon", "pad", "station 3"]
        for term in terms:
            query = {param: term, **({"extended": "1"} if param == "s" else {})}
            response = ask(world, role, "GET", reverse(name), query)

            assert response.status_code == 200, describe(response)
            assert leaked(world, response, echo=term.lower()) == [], f"{name} {term}"

    @pytest.mark.parametrize(
        ("model", "field"),
        [
            ("incidents.incident", "device"),
            ("locations.device", None),
            ("incidents.incident", None),
        ],
    )
    @pytest.mark.parametrize("role", OUTSIDERS)
    def test_suggestions_offer_nothing_of_the_project(self, world, role, model, field):
        app_label, model_name = model.split(".")
        # Autocomplete asks for the field of a model whose admin lists the suggested model.
        asked = {
            "incidents.incident": ("incidents", "incident", "device"),
            "locations.device": ("incidents", "incident", "device"),
        }
        if field is None and model == "incidents.incident":
            app_label, model_name, field = "incidents", "notification", "incident"
        elif field is None:
            app_label, model_name, field = asked[model]
        response = ask(
            world,
            role,
            "GET",
            reverse("admin:autocomplete"),
            {"app_label": app_label, "model_name": model_name, "field_name": field, "term": ""},
        )

        if refusal(response):
            return
        assert json.loads(response.content)["results"] == [] or not leaked(world, response)
        assert leaked(world, response) == []

    @pytest.mark.parametrize("role", OUTSIDERS)
    def test_counts_count_nothing_of_the_project(self, world, role):
        shelf = world.things["shelf"]
        locations = ask(world, role, "GET", reverse("admin:locations_location_changelist"))
        groups = ask(world, role, "GET", reverse("admin:incidents_problemgroup_changelist"))
        dashboard = ask(world, role, "GET", reverse("admin:index"))

        counted = {row.pk: row.device_count for row in locations.context["cl"].result_list}
        assert counted[shelf.pk] == 0
        assert Location.objects.get(pk=shelf.pk).devices.count() > 0
        group = world.things["problem_group"]
        row = next(r for r in groups.context["cl"].result_list if r.pk == group.pk)
        assert (row.incident_count, row.open_count) == (0, 0)
        assert dashboard.status_code == 200
        assert leaked(world, dashboard) == []
        stage_rows = dashboard.context.get("stage_rows", [])
        assert all(cell["count"] == 0 for row in stage_rows for cell in row.get("cells", []))

    @pytest.mark.parametrize("role", OUTSIDERS)
    def test_the_dashboard_offers_no_filter_by_the_project(self, world, role):
        response = ask(world, role, "GET", reverse("admin:index"), {"project": "Falcon"})

        assert response.status_code == 200
        assert leaked(world, response, echo="falcon") == []
        assert "Falcon" not in response.context["projects"]

    @pytest.mark.parametrize("role", OUTSIDERS)
    def test_a_bulk_export_and_labels_of_the_projects_devices_hold_nothing(self, world, role):
        devices = [str(pk) for pk in Device.objects.values_list("pk", flat=True)]
        labels = ask(
            world,
            role,
            "POST",
            reverse("admin:locations_device_changelist"),
            {"action": "print_labels", "_selected_action": devices},
        )

        assert labels.get("Content-Type") != "application/pdf" or leaked(world, labels) == []
        assert leaked(world, labels) == []

    def test_the_chat_rooms_of_the_project_are_closed_to_outsiders(self, world):
        room = room_for(incident=world.things["waiting"])
        for role in OUTSIDERS:
            person = world.people[role]

            assert not can_see_room(room, person)
            assert not visible_rooms(person).filter(pk=room.pk).exists()

    def test_the_model_admins_of_the_projects_rows_list_none_of_them(self, world):
        """Every registered list of a model whose rows belong to a project."""
        from django.test import RequestFactory

        from incidents import access

        listed = 0
        for model, model_admin in admin.site._registry.items():
            if not access.applies_to(model):
                continue
            for role in OUTSIDERS:
                request = RequestFactory().get("/")
                request.user = world.people[role]
                rows = list(model_admin.get_queryset(request))
                assert all(access.may_see(row, request.user) for row in rows), (model, role)
                listed += 1
        assert listed >= 4


@pytest.mark.django_db
@pytest.mark.usefixtures("media_root")
class InsidersSeeEverythingAsBeforeTests:
    @pytest.fixture(autouse=True)
    def inside(self, world):
        world.things["falcon_restriction"].departments.add(
            Department.objects.get(code=DepartmentCode.FAE)
        )

    @pytest.mark.parametrize(
        ("key", "role"),
        [
            pytest.param(key, role, id=f"{key} {role}")
            for key in sorted(EXPECTATIONS)
            for role in OUTSIDERS
        ],
    )
    def test_the_matrix_holds_for_people_inside(self, world, key, role):
        expectation = EXPECTATIONS[key]

        check(world, role, "GET", expectation, expectation.get[role])

    @pytest.mark.parametrize("role", OUTSIDERS)
    def test_a_person_inside_finds_the_projects_devices(self, world, role):
        serial = world.things["device"].serial_number
        response = ask(
            world, role, "GET", reverse("admin:locations_device_changelist"), {"q": serial}
        )

        assert serial.lower() in readable(response)
