"""The read endpoints: what each answers, its filters (as the lists filter), its pages (an opaque
cursor, newest first) and what it costs (queries bounded per page, whatever the page holds)."""

import base64
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from incidents.choices import ProblemGroupStatus, Stage
from incidents.models import Incident, ProjectAccess
from incidents.services import incident_open
from locations.choices import LocationKind
from tests.factories import (
    DeviceFactory,
    IncidentFactory,
    LocationFactory,
    ProblemGroupFactory,
    StaffFactory,
)
from tests.scoped import rolled_back_after


def walk(client, url: str, limit: int) -> list[list[int]]:
    """The ids of every page, following `next` to the end."""
    pages, cursor = [], None
    while True:
        separator = "&" if "?" in url else "?"
        answer = client.get(
            f"{url}{separator}limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        )
        assert answer.status_code == 200, answer.content
        body = answer.json()
        pages.append([row["id"] for row in body["results"]])
        cursor = body["next"]
        if cursor is None:
            return pages


def queries(client, url: str) -> int:
    """The queries of one answer (after a first, which may fill what a process keeps)."""
    client.get(url)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


@pytest.fixture
def tree(db):
    """A building, an area in it and a shelf in that."""
    building = LocationFactory(code="B1", name="Building 1", kind=LocationKind.BUILDING)
    area = LocationFactory(code="B1-LAB", name="Lab", kind=LocationKind.AREA, parent=building)
    shelf = LocationFactory(code="B1-LAB-S3", name="Shelf 3", kind=LocationKind.SHELF, parent=area)
    return building, area, shelf


@pytest.mark.django_db
class IncidentReadTests:
    def test_an_incident_comes_with_its_failure_device_and_timeline(self, machine, tree):
        holder = StaffFactory(employee_number="E-77", display_name="Li Lei")
        device = DeviceFactory(serial_number="SN-API-1", location=tree[2], holder=holder)
        reporter = StaffFactory()
        incident = incident_open(
            device=device,
            reporter=reporter,
            description="No RF",
            fail_station="FCT-3",
            fail_item="BT_RSSI",
            test_log_url="https://logs.example/1",
        )

        body = machine.get(f"/api/v1/incidents/{incident.pk}/").json()

        assert body["serial_number"] == "SN-API-1"
        assert body["stage"] == Stage.REPORTED
        assert body["failure"]["station"] == "FCT-3"
        assert body["failure"]["log_urls"] == ["https://logs.example/1"]
        assert body["device"]["location"] == {
            "code": "B1-LAB-S3",
            "name": "Shelf 3",
            "path": ["B1", "B1-LAB", "B1-LAB-S3"],
        }
        assert body["device"]["holder"] == {"employee_number": "E-77", "name": "Li Lei"}
        assert body["reporter"]["employee_number"] == reporter.employee_number
        assert [entry["action"] for entry in body["timeline"]] == ["open"]
        assert body["timeline"][0]["to_stage"] == Stage.REPORTED

    def test_an_unknown_incident_is_404(self, machine):
        answer = machine.get("/api/v1/incidents/999999/")

        assert answer.status_code == 404
        assert answer.json()["error"]["code"] == "not_found"

    def test_pages_follow_the_cursor_newest_first_each_row_once(self, machine):
        ids = [IncidentFactory().pk for _ in range(7)]

        pages = walk(machine, "/api/v1/incidents/", limit=3)

        assert pages == [ids[::-1][:3], ids[::-1][3:6], ids[::-1][6:]]

    def test_a_row_added_meanwhile_neither_repeats_nor_shifts_the_pages(self, machine):
        ids = [IncidentFactory().pk for _ in range(4)]
        first = machine.get("/api/v1/incidents/?limit=2").json()
        IncidentFactory()

        second = machine.get(f"/api/v1/incidents/?limit=2&cursor={first['next']}").json()

        assert [row["id"] for row in second["results"]] == ids[1::-1]

    @pytest.mark.parametrize(
        "cursor",
        [
            "abc",
            base64.urlsafe_b64encode(b"before:1 OR 1=1").decode(),
            base64.urlsafe_b64encode(b"after:5").decode(),
            base64.urlsafe_b64encode(b"before:99999999999999999999").decode(),
            base64.urlsafe_b64encode(b"before:-1").decode(),
            "%FF%FE",
            "====",
            "x" * 200,
        ],
    )
    def test_a_tampered_cursor_is_400(self, machine, cursor):
        IncidentFactory()

        answer = machine.get(f"/api/v1/incidents/?cursor={cursor}")

        assert answer.status_code == 400
        assert "cursor" in answer.json()["error"]["message"]

    def test_the_filters_narrow_as_the_list_does(self, machine):
        group = ProblemGroupFactory(number="BUG-2025-0042")
        falcon = IncidentFactory(device__project="Falcon", fail_station="FCT-1", fail_item="CAM")
        hawk = IncidentFactory(
            device__project="Hawk", device__serial_number="SN-HAWK", problem_group=group
        )

        def ids(query: str) -> list[int]:
            answer = machine.get(f"/api/v1/incidents/?{query}")
            assert answer.status_code == 200, answer.content
            return [row["id"] for row in answer.json()["results"]]

        assert ids("project=Falcon") == [falcon.pk]
        assert ids("serial_number=SN-HAWK") == [hawk.pk]
        assert ids("problem_group=BUG-2025-0042") == [hawk.pk]
        assert ids("fail_station=FCT-1&fail_item=CAM") == [falcon.pk]
        assert ids("stage=reported") == [hawk.pk, falcon.pk]
        assert ids("stage=xray&stage=scrapped") == []
        assert ids("step=unassigned&project=Hawk") == [hawk.pk]

    def test_opened_from_and_to_take_whole_days_or_moments(self, machine):
        day = timezone.make_aware(datetime(2025, 3, 4, 23, 30))
        late = IncidentFactory(opened_at=day)
        early = IncidentFactory(opened_at=day - timedelta(days=1))

        def ids(query: str) -> list[int]:
            return [
                row["id"] for row in machine.get(f"/api/v1/incidents/?{query}").json()["results"]
            ]

        assert ids("opened_from=2025-03-04") == [late.pk]
        assert ids("opened_to=2025-03-04") == [early.pk, late.pk]
        assert ids("opened_to=2025-03-03") == [early.pk]
        moment = (day - timedelta(minutes=1)).astimezone(UTC).isoformat().replace("+00:00", "Z")
        assert ids(f"opened_from={moment}") == [late.pk]

    @pytest.mark.parametrize(
        "query",
        [
            "opened_from=1899-12-31",
            "opened_to=3000-01-01",
            "opened_from=0001-01-01T00:00:00%2B14:00",
            "opened_from=2025-02-30",
            "opened_to=yesterday",
            "stage=nowhere",
            "limit=0",
            "limit=201",
        ],
    )
    def test_a_filter_out_of_bounds_is_400_naming_it(self, machine, query):
        answer = machine.get(f"/api/v1/incidents/?{query}")

        assert answer.status_code == 400
        assert query.split("=")[0] in answer.json()["error"]["message"]

    def test_a_page_costs_the_same_queries_however_many_rows_it_holds(
        self, machine, tree, django_assert_max_num_queries
    ):
        IncidentFactory(device__location=tree[2])
        one = queries(machine, "/api/v1/incidents/?limit=200")
        for _ in range(30):
            IncidentFactory(
                device__location=tree[2],
                problem_group=ProblemGroupFactory(),
                assignee=StaffFactory(),
            )

        assert queries(machine, "/api/v1/incidents/?limit=200") == one
        with django_assert_max_num_queries(12):
            machine.get("/api/v1/incidents/?limit=200")

    def test_an_incident_with_a_long_timeline_costs_the_same_queries(self, machine, tree):
        incident = IncidentFactory(device__location=tree[2], device__holder=StaffFactory())
        url = f"/api/v1/incidents/{incident.pk}/"
        few = queries(machine, url)
        for person in StaffFactory.create_batch(5):
            incident.events.create(action="assign", actor=person, assignee=person)

        assert queries(machine, url) == few


@pytest.mark.django_db
class DeviceReadTests:
    def test_a_device_says_where_it_is_who_holds_it_and_its_incidents(self, machine, tree):
        holder = StaffFactory(employee_number="E-9")
        device = DeviceFactory(location=tree[1], holder=holder, project="Falcon")
        old = IncidentFactory(device=device, opened_at=timezone.now() - timedelta(days=9))
        Incident.objects.filter(pk=old.pk).update(stage=Stage.RETURNED)
        current = IncidentFactory(device=device)

        body = machine.get(f"/api/v1/devices/{device.pk}/").json()

        assert body["location"]["path"] == ["B1", "B1-LAB"]
        assert body["holder"]["employee_number"] == "E-9"
        assert body["open_incident"] == current.pk
        assert body["incidents"] == [current.pk, old.pk]

    def test_the_filters_narrow_as_the_list_does(self, machine, tree):
        holder = StaffFactory(employee_number="E-5")
        on_shelf = DeviceFactory(location=tree[2], project="Hawk")
        held = DeviceFactory(location=None, holder=holder, serial_number="SN-HELD")

        def ids(query: str) -> list[int]:
            return [row["id"] for row in machine.get(f"/api/v1/devices/?{query}").json()["results"]]

        assert ids("location=B1-LAB-S3") == [on_shelf.pk]
        assert ids("holder=E-5") == [held.pk]
        assert ids("serial_number=SN-HELD") == [held.pk]
        assert ids("project=Hawk") == [on_shelf.pk]

    def test_pages_walk_every_device_once(self, machine):
        ids = [device.pk for device in DeviceFactory.create_batch(5)]
        pages = walk(machine, "/api/v1/devices/", limit=2)

        assert [pk for page in pages for pk in page] == ids[::-1]

    def test_a_page_costs_the_same_queries_however_deep_and_many_its_places(self, machine, tree):
        DeviceFactory(location=tree[2])
        one = queries(machine, "/api/v1/devices/?limit=200")
        for index in range(20):
            place = LocationFactory(parent=tree[index % 3])
            DeviceFactory(location=place, holder=StaffFactory())
            IncidentFactory(device__location=place)

        # A query per level of the tree at most, and the tree is one level deeper now.
        assert queries(machine, "/api/v1/devices/?limit=200") <= one + 1


@pytest.mark.django_db
class LocationReadTests:
    def test_a_location_has_its_path_and_counts_the_devices_the_caller_sees(self, machine, tree):
        DeviceFactory.create_batch(2, location=tree[2], project="Falcon")
        ProjectAccess.objects.create(project="Secret")
        DeviceFactory(location=tree[2], project="Secret")

        body = machine.get(f"/api/v1/locations/{tree[2].pk}/").json()

        assert body["path"] == ["B1", "B1-LAB", "B1-LAB-S3"]
        assert body["parent"] == "B1-LAB"
        assert body["device_count"] == 2

    def test_the_filters_narrow_as_the_list_does(self, machine, tree):
        closed = LocationFactory(is_active=False, kind=LocationKind.LAB)

        def ids(query: str) -> list[int]:
            return [
                row["id"] for row in machine.get(f"/api/v1/locations/?{query}").json()["results"]
            ]

        assert ids("kind=shelf") == [tree[2].pk]
        assert ids("parent=B1") == [tree[1].pk]
        assert ids("is_active=false") == [closed.pk]

    def test_a_page_costs_the_same_queries_however_many_places(self, machine, tree):
        one = queries(machine, "/api/v1/locations/?limit=200")
        for index in range(20):
            LocationFactory(parent=tree[index % 3])

        assert queries(machine, "/api/v1/locations/?limit=200") == one


@pytest.mark.django_db
class ProblemGroupReadTests:
    def test_a_group_counts_and_lists_only_the_incidents_the_caller_sees(self, machine):
        group = ProblemGroupFactory(status=ProblemGroupStatus.OPEN)
        seen = IncidentFactory(problem_group=group)
        closed = IncidentFactory(problem_group=group)
        Incident.objects.filter(pk=closed.pk).update(stage=Stage.SCRAPPED)
        ProjectAccess.objects.create(project="Secret")
        IncidentFactory(problem_group=group, device__project="Secret")

        body = machine.get(f"/api/v1/problem-groups/{group.pk}/").json()
        listed = machine.get("/api/v1/problem-groups/?status=open").json()["results"]

        assert (body["incident_count"], body["open_count"]) == (2, 1)
        assert sorted(body["incidents"]) == sorted([seen.pk, closed.pk])
        assert [row["id"] for row in listed] == [group.pk]
        assert machine.get("/api/v1/problem-groups/?status=closed").json()["results"] == []

    def test_a_page_costs_the_same_queries_however_many_groups(self, machine):
        one = queries(machine, "/api/v1/problem-groups/?limit=200")
        for _ in range(15):
            IncidentFactory(problem_group=ProblemGroupFactory(owner=StaffFactory()))

        assert queries(machine, "/api/v1/problem-groups/?limit=200") == one


@pytest.mark.django_db
class VisibilityTests:
    """Every endpoint answers through incidents.access: a person outside a confidential project
    finds nothing of it anywhere, one inside finds it; a token, never."""

    @pytest.fixture
    def secret(self, tree):
        restriction = ProjectAccess.objects.create(project="Secret")
        insider = StaffFactory()
        restriction.people.add(insider)
        group = ProblemGroupFactory()
        incident = IncidentFactory(
            device__project="Secret", device__location=tree[2], problem_group=group
        )
        return incident, insider

    def urls(self, incident) -> list[str]:
        return [
            "/api/v1/incidents/",
            f"/api/v1/incidents/{incident.pk}/",
            "/api/v1/incidents/?project=Secret",
            "/api/v1/devices/",
            f"/api/v1/devices/{incident.device_id}/",
            "/api/v1/devices/?project=Secret",
            f"/api/v1/problem-groups/{incident.problem_group_id}/",
            f"/api/v1/locations/{incident.device.location_id}/",
        ]

    def test_an_outsider_finds_nothing_of_the_project(self, secret, staff_client, machine):
        incident, _insider = secret
        for client in (staff_client, machine):
            for url in self.urls(incident):
                answer = client.get(url)
                text = answer.content.decode()

                assert answer.status_code in (200, 404), url
                assert "Secret" not in text and incident.device.serial_number not in text, url
            group = client.get(f"/api/v1/problem-groups/{incident.problem_group_id}/").json()
            assert (group["incident_count"], group["incidents"]) == (0, [])
            place = client.get(f"/api/v1/locations/{incident.device.location_id}/").json()
            assert place["device_count"] == 0

    def test_an_insider_finds_it(self, secret, client):
        incident, insider = secret
        client.force_login(insider)

        assert client.get(f"/api/v1/incidents/{incident.pk}/").status_code == 200
        assert client.get(f"/api/v1/devices/{incident.device_id}/").status_code == 200
        listed = client.get("/api/v1/incidents/?project=Secret").json()["results"]
        assert [row["id"] for row in listed] == [incident.pk]


ENDPOINTS = [
    "/api/v1/incidents/?limit=200",
    "/api/v1/incidents/{incident}/",
    "/api/v1/devices/?limit=200",
    "/api/v1/devices/{device}/",
    "/api/v1/locations/?limit=200",
    "/api/v1/locations/{location}/",
    "/api/v1/problem-groups/?limit=200",
    "/api/v1/problem-groups/{group}/",
]


@pytest.fixture(scope="module")
def forty(django_db_setup, django_db_blocker, tmp_path_factory):
    """Forty incidents of one problem group, each device held by someone, in a place of its
    own under a tree; made once for the module (the pages only read them)."""
    with rolled_back_after(django_db_blocker, tmp_path_factory):
        building = LocationFactory(code="B1", kind=LocationKind.BUILDING)
        area = LocationFactory(code="B1-LAB", kind=LocationKind.AREA, parent=building)
        shelf = LocationFactory(code="B1-LAB-S3", kind=LocationKind.SHELF, parent=area)
        ProjectAccess.objects.create(project="Secret")
        group = ProblemGroupFactory(owner=StaffFactory())
        for index in range(40):
            place = LocationFactory(parent=(building, area, shelf)[index % 3])
            incident = IncidentFactory(
                device__location=place,
                device__holder=StaffFactory(),
                assignee=StaffFactory(),
                problem_group=group,
            )
            incident.events.create(action="assign", actor=incident.assignee)
        yield {
            "incident": incident.pk,
            "device": incident.device_id,
            "location": place.pk,
            "group": group.pk,
        }


@pytest.mark.django_db
@pytest.mark.parametrize("url", ENDPOINTS)
@pytest.mark.parametrize("who", ["machine", "staff_client"])
def test_a_full_page_takes_a_handful_of_queries(
    request, forty, url, who, django_assert_max_num_queries
):
    """Who asks (token or session, its scopes or roles, what it may see) and the page, with
    everything a row shows joined in; the places' paths a query per level of the tree."""
    client = request.getfixturevalue(who)
    url = url.format(**forty)
    client.get(url)

    with django_assert_max_num_queries(10):
        assert client.get(url).status_code == 200
