"""Every admin page costs the same few queries whatever the number of rows it shows: a list of 50
costs what a list of 5 costs, and an incident or device with 50 records, results, timeline
entries, moves and messages costs what one with 5 costs. Each page is loaded once to warm it up,
then counted; the data grows between two counts and nothing else changes."""

import itertools
import re
from collections import Counter
from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from incidents.admin.inlines import ReadOnlyInline
from incidents.choices import (
    ConfigChangeAction,
    ConfigChangeKind,
    DepartmentCode,
    Stage,
    Step,
    Verdict,
    WorkflowAction,
)
from incidents.models import (
    ConfigChange,
    Department,
    Incident,
    LegacyImport,
    LegacyImportStatus,
    Notification,
    StageOwnership,
)
from incidents.services import (
    analysis_result_add,
    incident_assign,
    incident_cancel,
    incident_reject,
    incident_submit,
    operation_record_add,
)
from locations.services import device_move
from messaging.services import evidence_mark, message_send, room_for, room_join
from tests.factories import (
    AdminFactory,
    DepartmentFactory,
    DeviceFactory,
    EmployeeFactory,
    IncidentFactory,
    LocationFactory,
    ProblemGroupFactory,
    StaffFactory,
)
from tests.incidents.test_workflow import assigned, build_team, open_incident, submitted

pytestmark = pytest.mark.django_db

SMALL, LARGE = 5, 50


# --- counting ----------------------------------------------------------------------------------
def _shape(sql: str) -> str:
    """A query without its numbers, quoted values and lists of them: the same query for
    another row, or for another page of rows."""
    values = re.sub(r"'[^']*'|\b\d+\b", "?", sql)
    return re.sub(r"\?(, \?)+", "?…", values)


def load(client: Client, url: str):
    """The page loaded a second time (the first warms up what a process reads once) and the
    queries of that second load."""
    assert client.get(url).status_code == 200, url
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return response, [query["sql"] for query in captured.captured_queries]


def list_rows(response) -> int:
    return len(response.context["cl"].result_list)


def first_inline_rows(response) -> int:
    """The rows the page's first inline lists, over its pages (it renders one page of them)."""
    return response.context["inline_admin_formsets"][0].formset.paginator.count


def assert_flat(client: Client, url: str, add, shown=list_rows) -> tuple[int, int]:
    """Load the page with SMALL things added by `add(n)`, then with LARGE: `shown(response)`
    grows by the difference while the number of queries stays the same. Returns both counts."""
    add(SMALL)
    small_page, small = load(client, url)
    add(LARGE - SMALL)
    large_page, large = load(client, url)

    assert shown(large_page) - shown(small_page) == LARGE - SMALL
    grown = Counter(map(_shape, large)) - Counter(map(_shape, small))
    assert len(large) == len(small), (
        f"{url}: {len(small)} queries for {SMALL}, {len(large)} for {LARGE}; more of: "
        + "\n".join(f"{n} x {sql[:300]}" for sql, n in grown.most_common(5))
    )
    return len(small), len(large)


def client_for(person) -> Client:
    client = Client()
    client.force_login(person)
    return client


def adder(make):
    """`add(n)` calling `make(i)` for the next n values of a counter kept between calls."""
    counter = itertools.count()

    def add(count: int) -> None:
        for _ in range(count):
            make(next(counter))

    return add


# --- the people and the data ---------------------------------------------------------------------
@pytest.fixture
def team():
    return build_team()


@pytest.fixture
def supervisor(team):
    """The production supervisor, as prod_lead in the demo: owns Reported, not FAE retest."""
    return team.supervisor(Stage.REPORTED)


def cancelled(team) -> Incident:
    incident = open_incident(team, Stage.REPORTED)
    return incident_cancel(incident=incident, by=team.admin, reason="Duplicate")


def incidents_of_every_kind(team, reader):
    """Incidents in every step of a stage `reader` supervises and of one they do not, submitted
    with and without a verdict, closed; some in problem groups, some with unread messages."""
    # Each of the first five asks the rules something the others do not: five rows read all
    # that fifty do.
    kinds = [
        lambda: open_incident(team, Stage.REPORTED),
        lambda: submitted(team, Stage.FAE_RETEST, Verdict.FAIL),
        lambda: open_incident(team, Stage.FAE_RETEST),
        lambda: submitted(team, Stage.REPORTED, verdict=None),
        lambda: cancelled(team),
        lambda: assigned(team, Stage.REPORTED),
        lambda: assigned(team, Stage.FAE_RETEST),
    ]

    def make(i: int) -> None:
        incident = kinds[i % len(kinds)]()
        if i % 3 == 0:
            Incident.objects.filter(pk=incident.pk).update(problem_group=ProblemGroupFactory())
        if i % 4 == 0:
            room = room_for(incident=incident)
            room_join(room=room, person=reader)
            message_send(room=room, author=team.reporter, text=f"News {i}")

    return adder(make)


# --- lists -------------------------------------------------------------------------------------
INCIDENTS = reverse("admin:incidents_incident_changelist")


class IncidentListQueryTests:
    def test_the_incident_list_costs_the_same_for_50_rows_as_for_5(self, team, supervisor):
        assert_flat(client_for(supervisor), INCIDENTS, incidents_of_every_kind(team, supervisor))

    def test_the_incident_list_of_an_administrator_costs_the_same_for_50_rows_as_for_5(self, team):
        # An administrator reviews every stage: each submitted row asks for its verdict.
        assert_flat(client_for(team.admin), INCIDENTS, incidents_of_every_kind(team, team.admin))

    def test_a_filtered_incident_list_counts_its_rows_once_and_never_the_whole_table(
        self, team, supervisor
    ):
        incidents_of_every_kind(team, supervisor)(SMALL)

        response, queries = load(client_for(supervisor), f"{INCIDENTS}?stage__exact=reported")

        whole_table = 'SELECT COUNT(*) AS "__count" FROM "incidents_incident"'
        assert whole_table not in queries
        assert response.context["cl"].full_result_count is None


class WorkQueueQueryTests:
    """Each queue of the sidebar (incidents/admin/queues.py) is the incident list filtered."""

    @pytest.mark.parametrize(
        "queue, make",
        [
            (
                "mine",
                lambda team, me: incident_assign(
                    incident=open_incident(team, Stage.REPORTED), assignee=me, by=me
                ),
            ),
            ("review", lambda team, me: submitted(team, Stage.REPORTED, verdict=None)),
            ("unassigned", lambda team, me: open_incident(team, Stage.REPORTED)),
        ],
    )
    def test_a_work_queue_costs_the_same_for_50_rows_as_for_5(self, team, supervisor, queue, make):
        # Incidents elsewhere, which the queue leaves out, are there all along.
        incidents_of_every_kind(team, supervisor)(3)

        assert_flat(
            client_for(supervisor),
            f"{INCIDENTS}?work={queue}&per_page=100",
            adder(lambda i: make(team, supervisor)),
        )


class DeviceAndLocationListQueryTests:
    def test_the_device_list_costs_the_same_for_50_rows_as_for_5(self, team, supervisor):
        area = LocationFactory()

        def make(i: int) -> None:
            device = DeviceFactory(
                location=LocationFactory(parent=area), holder=StaffFactory(), project=f"P{i % 4}"
            )
            if i % 2:
                IncidentFactory(device=device, reporter=team.reporter)

        assert_flat(
            client_for(supervisor), reverse("admin:locations_device_changelist"), adder(make)
        )

    def test_the_location_list_costs_the_same_for_50_rows_as_for_5(self, supervisor):
        building = LocationFactory()

        def make(i: int) -> None:
            place = LocationFactory(parent=building if i % 2 else None)
            for _ in range(i % 3):
                DeviceFactory(location=place)

        # The building is a row too: 51 rows, on a page of 100.
        locations = reverse("admin:locations_location_changelist") + "?per_page=100"
        assert_flat(client_for(supervisor), locations, adder(make))


class PeopleListQueryTests:
    # The people there already are rows too: 50 more, on a page of 100.
    EMPLOYEES = reverse("admin:incidents_employee_changelist") + "?per_page=100"

    @staticmethod
    def _people(i: int) -> None:
        person = EmployeeFactory(department=DepartmentFactory(code=f"Q{i % 7}"))
        person.groups.set(Group.objects.all()[: 1 + i % 3])

    def test_the_employee_list_of_a_supervisor_costs_the_same_for_50_rows_as_for_5(
        self, supervisor
    ):
        assert_flat(client_for(supervisor), self.EMPLOYEES, adder(self._people))

    def test_the_employee_list_of_an_administrator_costs_the_same_for_50_rows_as_for_5(self, team):
        assert_flat(client_for(team.admin), self.EMPLOYEES, adder(self._people))

    def test_the_department_list_costs_the_same_for_50_rows_as_for_5(self, supervisor):
        def make(i: int) -> None:
            department = DepartmentFactory(code=f"DQ{i}")
            department.supervisors.add(StaffFactory(department=department))
            StaffFactory(department=department)

        assert_flat(
            client_for(supervisor), reverse("admin:incidents_department_changelist"), adder(make)
        )

    def test_the_role_list_costs_the_same_for_50_roles_as_for_5(self, team):
        permissions = list(Permission.objects.filter(content_type__app_label="incidents")[:12])

        def make(i: int) -> None:
            role = Group.objects.create(name=f"Custom role {i}")
            role.permissions.set(permissions[: 1 + i % 12])
            StaffFactory().groups.add(role)

        assert_flat(client_for(team.admin), reverse("admin:auth_group_changelist"), adder(make))

    def test_the_stage_ownership_list_costs_the_same_with_50_departments_and_places_as_5(
        self, team
    ):
        """Its rows are the stages, a fixed few, each editable: the choice of a department and of
        a place must not list every one there is."""
        url = reverse("admin:incidents_stageownership_changelist")
        client = client_for(team.admin)
        for ownership in StageOwnership.objects.all():
            StageOwnership.objects.filter(pk=ownership.pk).update(work_location=LocationFactory())

        for i in range(SMALL):
            DepartmentFactory(code=f"SO{i}")
        _page, small = load(client, url)
        for i in range(SMALL, LARGE):
            DepartmentFactory(code=f"SO{i}")
            LocationFactory()
        _page, large = load(client, url)

        assert len(large) == len(small)


class IncidentSideListQueryTests:
    def test_the_problem_group_list_costs_the_same_for_50_rows_as_for_5(self, team, supervisor):
        def make(i: int) -> None:
            group = ProblemGroupFactory(owner=StaffFactory())
            for incident in (open_incident(team), cancelled(team))[: 1 + i % 2]:
                Incident.objects.filter(pk=incident.pk).update(problem_group=group)

        assert_flat(
            client_for(supervisor),
            reverse("admin:incidents_problemgroup_changelist"),
            adder(make),
        )

    def test_the_notification_list_costs_the_same_for_50_rows_as_for_5(self, team, supervisor):
        actions = [
            WorkflowAction.ASSIGN,
            WorkflowAction.SUBMIT,
            WorkflowAction.APPROVE,
            WorkflowAction.REJECT,
            WorkflowAction.CANCEL,
            WorkflowAction.MENTION,
        ]

        def make(i: int) -> None:
            action = actions[i % len(actions)]
            on_group = action == WorkflowAction.MENTION and i % 2
            Notification.objects.create(
                recipient=supervisor,
                incident=None if on_group else IncidentFactory(reporter=team.reporter),
                problem_group=ProblemGroupFactory() if on_group else None,
                action=action,
                actor=StaffFactory(),
                stage=Stage.REPORTED,
                comment=f"Note {i}",
                read_at=timezone.now() if i % 3 else None,
            )

        assert_flat(
            client_for(supervisor),
            reverse("admin:incidents_notification_changelist"),
            adder(make),
        )

    def test_the_message_search_list_costs_the_same_for_50_rows_as_for_5(self, team, supervisor):
        def make(i: int) -> None:
            if i % 2:
                room = room_for(problem_group=ProblemGroupFactory())
            else:
                room = room_for(incident=IncidentFactory(reporter=team.reporter))
            message_send(room=room, author=StaffFactory(), text=f"Solder joint {i}")

        assert_flat(
            client_for(supervisor), reverse("admin:messaging_message_changelist"), adder(make)
        )

    def test_the_legacy_import_list_costs_the_same_for_50_rows_as_for_5(self, team):
        statuses = [LegacyImportStatus.DONE, LegacyImportStatus.INVALID, LegacyImportStatus.FAILED]

        def make(i: int) -> None:
            LegacyImport.objects.create(
                file=SimpleUploadedFile(f"legacy-{i}.xlsx", b"PK"),
                original_name=f"legacy-{i}.xlsx",
                created_by=AdminFactory(),
                status=statuses[i % len(statuses)],
                finished_at=timezone.now(),
            )

        assert_flat(
            client_for(team.admin), reverse("admin:incidents_legacyimport_changelist"), adder(make)
        )

    def test_the_configuration_change_list_costs_the_same_for_50_rows_as_for_5(self, team):
        fae = Department.objects.get(code=DepartmentCode.FAE)
        people = [AdminFactory(), AdminFactory()]
        # Only the entries made here: making people writes some too.
        ConfigChange.objects.all().delete()

        def make(i: int) -> None:
            # Who owns a stage names departments by code: the page names them in words.
            if i % 2:
                entry = {
                    "kind": ConfigChangeKind.STAGE_OWNERSHIP,
                    "object_id": i,
                    "object_repr": Stage.XRAY,
                    "before": {"department": DepartmentCode.XRAY},
                    "after": {"department": fae.code},
                }
            else:
                entry = {
                    "kind": ConfigChangeKind.DEPARTMENT,
                    "object_id": fae.pk,
                    "object_repr": str(fae),
                    "before": {"name": f"Old {i}"},
                    "after": {"name": fae.name},
                }
            ConfigChange.objects.create(
                by=people[i % 2], action=ConfigChangeAction.CHANGED, **entry
            )

        assert_flat(
            client_for(team.admin), reverse("admin:incidents_configchange_changelist"), adder(make)
        )


class WholeTableCountTests:
    def test_no_list_counts_the_whole_table_besides_its_rows(self):
        lists = {
            model._meta.label: model_admin.show_full_result_count
            for model, model_admin in admin.site._registry.items()
        }

        assert {label for label, counts in lists.items() if counts} == set()

    def test_a_filtered_list_says_how_many_it_found_and_offers_all(self, team, supervisor):
        incidents_of_every_kind(team, supervisor)(SMALL)

        page = client_for(supervisor).get(f"{INCIDENTS}?stage__exact=reported")

        header = page.content.decode().split("</h1>")[0]
        assert re.search(r"\d+ results? \(<a href=\"\?\">Show all</a>\)", header)

    def test_an_unfiltered_list_says_nothing_of_a_total(self, team, supervisor):
        incidents_of_every_kind(team, supervisor)(SMALL)

        page = client_for(supervisor).get(INCIDENTS)

        assert "Show all" not in page.content.decode().split("</h1>")[0]
        assert page.context["cl"].full_result_count == page.context["cl"].result_count == SMALL


# --- one incident, one device -------------------------------------------------------------------
def _upload(i: int) -> SimpleUploadedFile:
    return SimpleUploadedFile(f"station-{i}.log", b"BT_RSSI -92 dBm FAIL\n", "text/plain")


def busy_incident(team):
    """An incident in FAE retest and `add(n)`: n more rounds (a record with a file, a result,
    submitted and sent back: two timeline entries), moves of its device and chat messages,
    some kept as evidence."""
    supervisor, worker = team.supervisor(Stage.FAE_RETEST), team.worker(Stage.FAE_RETEST)
    incident = assigned(team, Stage.FAE_RETEST)
    room = room_for(incident=incident)

    def make(i: int) -> None:
        nonlocal incident
        record = operation_record_add(
            incident=incident, by=worker, action=f"Retest {i}", files=[_upload(i)]
        )
        analysis_result_add(
            incident=incident,
            by=worker,
            findings=f"Finding {i}",
            verdict=Verdict.FAIL,
            operation_record=record,
        )
        incident = incident_submit(incident=incident, by=worker)
        incident = incident_reject(incident=incident, by=supervisor, reason=f"Again {i}")
        device_move(
            device=incident.device,
            moved_by=StaffFactory(),
            location=LocationFactory(),
            holder=worker if i % 2 else None,
            reason=f"Move {i}",
        )
        message, _new = message_send(room=room, author=StaffFactory(), text=f"Look at {i}")
        if i % 3 == 0:
            evidence_mark(message=message, by=supervisor)

    return incident, adder(make)


class IncidentPageQueryTests:
    @pytest.mark.parametrize("reader", ["supervisor of the stage", "administrator"])
    def test_the_incident_page_costs_the_same_with_50_rounds_moves_and_messages_as_with_5(
        self, team, reader
    ):
        incident, add = busy_incident(team)
        person = team.supervisor(Stage.FAE_RETEST) if reader != "administrator" else team.admin

        def shown(response) -> int:
            return response.content.decode().count('data-testid="trail-entry"')

        assert_flat(
            client_for(person),
            reverse("admin:incidents_incident_change", args=[incident.pk]),
            add,
            shown,
        )

    def test_the_incident_history_costs_the_same_for_50_rounds_as_for_5(self, team):
        incident, add = busy_incident(team)

        def shown(response) -> int:
            # Each round saves the incident twice (submitted, sent back).
            return response.context["page_obj"].paginator.count // 2

        assert_flat(
            client_for(team.supervisor(Stage.FAE_RETEST)),
            reverse("admin:incidents_incident_history", args=[incident.pk]),
            add,
            shown,
        )


def busy_device(team):
    """A device and `add(n)`: n more moves between places and people, and every other time an
    incident of it opened and closed (in a problem group)."""
    device = DeviceFactory()
    start = timezone.now() - timedelta(days=100)

    def make(i: int) -> None:
        device_move(
            device=device,
            moved_by=StaffFactory(),
            location=LocationFactory(),
            holder=StaffFactory() if i % 2 else None,
            reason=f"Move {i}",
            at=start + timedelta(hours=i),
        )
        opened = start + timedelta(hours=i)
        IncidentFactory(
            device=device,
            reporter=team.reporter,
            problem_group=ProblemGroupFactory(),
            stage=Stage.RETURNED,
            step=Step.CLOSED,
            opened_at=opened,
            closed_at=opened + timedelta(minutes=30),
        )

    return device, adder(make)


class DevicePageQueryTests:
    def test_the_device_page_costs_the_same_with_50_moves_and_incidents_as_with_5(
        self, team, supervisor
    ):
        device, add = busy_device(team)

        def shown(response) -> int:
            return response.content.decode().count('data-testid="trail-entry"')

        assert_flat(
            client_for(supervisor),
            reverse("admin:locations_device_change", args=[device.pk]),
            add,
            shown,
        )

    def test_the_device_history_costs_the_same_for_50_moves_as_for_5(self, team, supervisor):
        device, add = busy_device(team)

        def shown(response) -> int:
            return response.context["page_obj"].paginator.count

        assert_flat(
            client_for(supervisor),
            reverse("admin:locations_device_history", args=[device.pk]),
            add,
            shown,
        )


class PagesListingRecordsQueryTests:
    def test_a_problem_group_page_costs_the_same_with_50_incidents_as_with_5(
        self, team, supervisor
    ):
        group = ProblemGroupFactory(owner=supervisor)

        def make(i: int) -> None:
            IncidentFactory(problem_group=group, reporter=StaffFactory())

        assert_flat(
            client_for(supervisor),
            reverse("admin:incidents_problemgroup_change", args=[group.pk]),
            adder(make),
            first_inline_rows,
        )

    def test_a_page_renders_one_page_of_an_inlines_rows(self, supervisor):
        shelf = LocationFactory()
        for _ in range(25):
            DeviceFactory(location=shelf)
        url = reverse("admin:locations_location_change", args=[shelf.pk])
        client = client_for(supervisor)

        first, _ = load(client, url)
        prefix = first.context["inline_admin_formsets"][0].formset.prefix
        second, _ = load(client, f"{url}?{prefix}-page=2")

        shown = [
            len(page.context["inline_admin_formsets"][0].formset.forms) for page in (first, second)
        ]
        assert shown == [ReadOnlyInline.per_page, 25 - ReadOnlyInline.per_page]

    def test_a_location_page_costs_the_same_with_50_devices_as_with_5(self, supervisor):
        shelf = LocationFactory()

        def make(i: int) -> None:
            DeviceFactory(location=shelf, holder=StaffFactory())

        assert_flat(
            client_for(supervisor),
            reverse("admin:locations_location_change", args=[shelf.pk]),
            adder(make),
            first_inline_rows,
        )
