"""The machinery of the permission matrix (tests/config/test_permission_matrix.py): the world
its requests are made in, how a URL is asked for and with what data, and how an answer is judged.
It stands beside the apps' tests because each app's expectations (tests/<app>/matrix.py) are
written with it.
"""

import copy
import datetime
import io
import re
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from PIL import Image

from config.kit.spreadsheets import SafeCSV
from incidents.choices import DepartmentCode, Stage, Verdict, WorkflowAction
from incidents.models import (
    ApiTokenUse,
    ConfigChange,
    Department,
    Employee,
    Incident,
    LegacyImport,
    LegacyImportStatus,
    Notification,
    ProjectAccess,
    ReportJob,
    ReportJobStatus,
    StageOwnership,
    Station,
)
from incidents.models.deadlines import CalendarDay, WorkCalendar
from incidents.models.webhooks import WebhookDelivery
from incidents.resources import DeviceResource, EmployeeResource, IncidentResource, LocationResource
from incidents.services import (
    analysis_result_add,
    incident_assign,
    incident_open,
    incident_submit,
    operation_record_add,
)
from incidents.services.tokens import api_token_create
from incidents.services.webhooks import webhook_create
from locations.models import Device, Location
from messaging.choices import RoomKind
from messaging.services import message_send, room_for, room_post_event
from tests.admin_pages import describe, form_data, refusal, warnings_of
from tests.factories import (
    AdminFactory,
    DepartmentFactory,
    DeviceFactory,
    LocationFactory,
    ProblemGroupFactory,
    StaffFactory,
    SuperuserFactory,
    SupervisorFactory,
)
from tests.fingerprint import Watch, watched_tables
from tests.scoped import rolled_back_after

SAMPLE_WORKBOOK = Path(__file__).resolve().parents[1] / "fixtures" / "legacy_sample.xlsx"

ANONYMOUS, STAFF, SUPERVISOR, ADMIN, SUPERUSER = ROLES = (
    "anonymous",
    "staff",
    "supervisor",
    "admin",
    "superuser",
)
SIGNED_IN = (STAFF, SUPERVISOR, ADMIN, SUPERUSER)
SUPERVISOR_AND_UP = (SUPERVISOR, ADMIN, SUPERUSER)
ADMINS = (ADMIN, SUPERUSER)
EVERYONE = ROLES
NOBODY = ()

SHOWN, READ_ONLY, WRITTEN, ANSWERED, REFUSED = (
    "shown",
    "shown read-only",
    "written",
    "answered",
    "refused",
)


def shown_to(*roles: str) -> dict[str, str]:
    return {role: SHOWN if role in roles else REFUSED for role in ROLES}


def written_by(*roles: str) -> dict[str, str]:
    return {role: WRITTEN if role in roles else REFUSED for role in ROLES}


def answered_to(*roles: str) -> dict[str, str]:
    return {role: ANSWERED if role in roles else REFUSED for role in ROLES}


def change_page_to(*, change, view) -> dict[str, str]:
    """A change page: a form for those who may change the record, its fields as text for those
    who may only view it."""
    return {
        role: SHOWN if role in change else READ_ONLY if role in view else REFUSED for role in ROLES
    }


# --- the world the requests are made in -----------------------------------------------------------
@dataclass
class World:
    """The people (one per role) and the things whose pages are asked for, with a signed-in
    browser per person."""

    people: dict[str, Employee | None]
    things: dict[str, object]
    clients: dict[str, Client] = field(default_factory=dict)
    pages: dict[str, dict] = field(default_factory=dict)
    uploads: dict[str, bytes] = field(default_factory=dict)
    tables: list[str] = field(default_factory=list)
    watch: Watch | None = None
    media: Path | None = None

    def arg(self, name: str):
        """A thing's primary key; `version:<thing>` for the id of the thing's oldest version."""
        if name.startswith("version:"):
            thing = self.things[name.removeprefix("version:")]
            return thing.history.order_by("history_date", "history_id").first().history_id
        return self.things[name].pk

    def superuser_request(self, method: str, url: str, data=None):
        """What the superuser's browser gets; used to read forms, never measured."""
        client = self.clients[SUPERUSER]
        with kept_cookies(client):
            response = client.get(url) if method == "GET" else client.post(url, data)
        assert response.status_code == 200, f"{method} {url} as superuser: {describe(response)}"
        return response

    def form(self, url: str, **find) -> dict:
        """The form on the page at `url` as the superuser sees it, unchanged (read once)."""
        key = f"{url} {find}"
        if key not in self.pages:
            page = self.superuser_request("GET", url).content.decode()
            self.pages[key] = form_data(page, **find)
        return copy.deepcopy(self.pages[key])


@contextmanager
def kept_cookies(client: Client):
    """Whatever a request does to the browser (logging out, a new session, a language), it
    holds the same cookies afterwards: the rolled-back session row is its session again."""
    saved = copy.deepcopy(client.cookies)
    try:
        yield client
    finally:
        client.cookies = saved


def _picture(name: str) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), "orange").save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), "image/png")


def _empty_workbook() -> bytes:
    """A real workbook holding nothing, as a report the worker made would be (a reader of
    the answer opens it)."""
    import io

    import openpyxl

    data = io.BytesIO()
    openpyxl.Workbook().save(data)
    return data.getvalue()


def build_world() -> World:
    """One person per role (staff and a supervisor of FAE, an administrator, a superuser) and
    the things whose pages are asked for, each in the state that lets its pages do something:
    incidents at every step of an FAE retest, a device with a trail, spare records nothing
    refers to (to delete), a checked and a failed legacy import, a notification per person,
    chat lines (one with a picture) in an incident's and a problem group's room."""
    fae = Department.objects.get(code=DepartmentCode.FAE)
    production = Department.objects.get(code=DepartmentCode.PRODUCTION)
    staff = StaffFactory(username="matrix-staff", department=fae)
    supervisor = SupervisorFactory(username="matrix-supervisor", department=fae)
    fae.supervisors.add(supervisor)
    admin = AdminFactory(username="matrix-admin")
    superuser = SuperuserFactory(username="matrix-superuser")
    colleague = StaffFactory(username="matrix-colleague", department=fae)
    reporter = StaffFactory(username="matrix-reporter", department=production)
    # Named in no trail and holding nothing: someone an administrator may edit and delete.
    newcomer = StaffFactory(username="matrix-newcomer", department=production)

    shelf = LocationFactory(code="FAE-SHELF", name="FAE shelf")
    bench = LocationFactory(code="FAE-BENCH", name="FAE bench")
    spare_location = LocationFactory(code="SPARE-SHELF", name="Spare shelf")

    def worked(assignee, *, submit: bool) -> Incident:
        """An FAE retest assigned to `assignee`, with a record (and its log) and a verdict."""
        incident = incident_open(
            device=DeviceFactory(location=shelf),
            reporter=reporter,
            description="Fails BT_RSSI at station 3",
            stage=Stage.FAE_RETEST,
        )
        incident = incident_assign(
            incident=incident, assignee=assignee, by=supervisor, hand_over_device=True
        )
        record = operation_record_add(
            incident=incident,
            by=assignee,
            action="Retested on station 3",
            files=[SimpleUploadedFile("station3.log", b"BT_RSSI -92 dBm FAIL\n", "text/plain")],
        )
        analysis_result_add(
            incident=incident,
            by=assignee,
            findings="Reproduced the failure",
            verdict=Verdict.FAIL,
            operation_record=record,
        )
        return incident_submit(incident=incident, by=assignee) if submit else incident

    working = worked(staff, submit=False)  # staff's to record on and submit
    waiting = worked(colleague, submit=True)  # waiting for the FAE supervisor's review
    own_work = worked(supervisor, submit=True)  # the supervisor did this one themselves
    xray_case = incident_open(
        device=DeviceFactory(location=shelf), reporter=reporter, stage=Stage.XRAY
    )

    problem_group = ProblemGroupFactory(title="First title")
    problem_group.title = "Second title"
    problem_group.save()

    # The chat of the incident waiting for review: a line the workflow wrote, staff's message
    # with a picture, the colleague's answer (so staff has something unread).
    room = room_for(incident=waiting)
    system_line = room_post_event(room=room, code="workflow", actor=staff)
    chat_line, _new = message_send(
        room=room, author=staff, text="The pad is lifted", files=[_picture("pad.png")]
    )
    chat_answer, _new = message_send(room=room, author=colleague, text="Agreed")
    group_line, _new = message_send(
        room=room_for(problem_group=problem_group), author=supervisor, text="Same root cause?"
    )

    # The ME stage has no owner, so the stage ownership add form has a stage to give.
    StageOwnership.objects.filter(stage=Stage.ME_ANALYSIS).delete()
    checked_job = LegacyImport.objects.create(
        file="legacy-imports/checked.xlsx",
        original_name="checked.xlsx",
        created_by=admin,
        status=LegacyImportStatus.CHECKED,
        dry_run_report={"ok": True, "sheets": [], "errors": []},
    )
    failed_job = LegacyImport.objects.create(
        file="legacy-imports/failed.xlsx",
        original_name="failed.xlsx",
        created_by=admin,
        status=LegacyImportStatus.FAILED,
        dry_run_report={"ok": True, "sheets": [], "errors": []},
        report={"ok": False, "sheets": [], "errors": ["The worker stopped."]},
    )
    # A report the staff member asked for, made and ready to download.
    staff_report = ReportJob.objects.create(
        kind="group_report",
        file_format="xlsx",
        title=f"Failure-analysis report {problem_group.number} (XLSX)",
        file_name=f"FA-report-{problem_group.number}.xlsx",
        created_by=staff,
        problem_group=problem_group,
        status=ReportJobStatus.DONE,
        done=1,
        total=1,
    )
    staff_report.file.save("matrix-report.xlsx", ContentFile(_empty_workbook()), save=True)
    # A station's token, used once.
    api_token, _secret = api_token_create(name="MATRIX-LINE", scopes=["incidents:read"])
    api_token_use = ApiTokenUse.objects.create(token=api_token, method="GET", path="/api/v1/")
    # A webhook (turned off: what the matrix changes is sent nowhere) and a delivery it gave up.
    webhook = webhook_create(
        url="http://127.0.0.1:9/matrix",
        secret="matrix-secret-0123456789",
        events=["incident.opened"],
        name="MATRIX-MES",
        is_active=False,
    )
    webhook_delivery = WebhookDelivery.objects.create(
        webhook=webhook, event="incident.opened", payload="{}", status="gave_up"
    )
    station = Station.objects.create(name="FCT-MATRIX")
    work_calendar = WorkCalendar.objects.create(pk=1)
    calendar_day = CalendarDay.objects.create(day=datetime.date(2026, 10, 1), note="MATRIX")
    people = {
        ANONYMOUS: None,
        STAFF: staff,
        SUPERVISOR: supervisor,
        ADMIN: admin,
        SUPERUSER: superuser,
    }
    notes = {
        role: Notification.objects.create(
            recipient=person,
            incident=working,
            action=WorkflowAction.ASSIGN,
            actor=supervisor,
            stage=working.stage,
        )
        for role, person in people.items()
        if person is not None
    }
    things = {
        "working": working,
        "waiting": waiting,
        "own_work": own_work,
        "xray_case": xray_case,
        "attachment": working.operation_records.get().attachments.get(),
        "device": working.device,  # moved (handed to staff) after it was registered
        "spare_device": DeviceFactory(location=None),
        "shelf": shelf,
        "bench": bench,
        "spare_location": spare_location,
        "problem_group": problem_group,
        "staff": staff,
        "colleague": colleague,
        "newcomer": newcomer,
        "superuser": superuser,
        "fae": fae,
        "spare_department": DepartmentFactory(code="SPARE", name="Spare department"),
        "xray_ownership": StageOwnership.objects.get(stage=Stage.XRAY),
        "auditors": Group.objects.create(name="Auditors"),
        # A confidential project no device of the world belongs to (it hides nothing here).
        "restriction": ProjectAccess.objects.create(project="MATRIX-CONFIDENTIAL"),
        # Creating the role above is kept in the audit trail of configuration.
        "config_change": ConfigChange.objects.get(object_repr="Auditors"),
        "checked_job": checked_job,
        "failed_job": failed_job,
        "staff_note": notes[STAFF],
        "staff_report": staff_report,
        "api_token": api_token,
        "api_token_use": api_token_use,
        "webhook": webhook,
        "webhook_delivery": webhook_delivery,
        "station": station,
        "work_calendar": work_calendar,
        "calendar_day": calendar_day,
        "notes": notes,
        "system_line": system_line,
        "chat_line": chat_line,
        "chat_answer": chat_answer,
        "chat_picture": chat_line.attachments.get(),
        "group_line": group_line,
    }
    world = World(people=people, things=things)
    for role, person in people.items():
        client = Client()
        if person is not None:
            client.force_login(person)
        world.clients[role] = client
    return world


@contextmanager
def world_made(django_db_blocker, tmp_path_factory):
    """The world, made inside a transaction that is rolled back when the block ends
    (`tests.scoped.rolled_back_after`). For a module-scoped fixture: everything asked of the
    world is asked inside the block."""
    with rolled_back_after(django_db_blocker, tmp_path_factory) as media:
        made = build_world()
        made.media = media
        made.tables = watched_tables()
        made.watch = Watch(made.tables)
        yield made


# --- what a URL is asked with ---------------------------------------------------------------------
Builder = Callable[[World], object]


@dataclass(frozen=True)
class Expectation:
    """How a URL is asked for, and what each person should get with GET and with POST."""

    url: Callable[[World], str]
    get: dict[str, str]
    post: dict[str, str]
    data: Builder = lambda world: {}
    # A JSON body instead of a form.
    json: bool = False
    # For a POST to a list: the list shown again (the bulk action not run) counts as refused.
    page_counts: bool = False
    # Done in the person's browser before the request (not measured).
    prepare: Callable[[World, Client], None] | None = None
    headers: dict | None = None


def at(name: str, *things: str, query: str = "") -> Callable[[World], str]:
    """The URL named `name` for the world's things."""
    return lambda world: reverse(name, args=[world.arg(thing) for thing in things]) + query


def room_at(name: str, thing: str, kind: str = RoomKind.INCIDENT) -> Callable[[World], str]:
    """The chat URL named `name` of the thing's room (an incident's, or a problem group's)."""
    return lambda world: reverse(name, args=[kind, world.arg(thing)])


def route(path: str, thing: str | None = None, value: str = "") -> Callable[[World], str]:
    """The URL of an unnamed pattern: its route with the thing's key (or `value`) put in."""

    def build(world: World) -> str:
        filled = value if thing is None else str(world.arg(thing))
        return "/" + re.sub(r"<[^>]+>|\(\?P<\w+>[^)]*\)\$?", filled, path)

    return build


def resolved(values: dict, world: World) -> dict:
    return {name: value(world) if callable(value) else value for name, value in values.items()}


def edited(url: Callable[[World], str], **changes) -> Builder:
    """The form on the page at `url` as it is now, with `changes` made (values may be built
    from the world)."""
    return lambda world: {**world.form(url(world)), **resolved(changes, world), "_save": "Save"}


def given(**values) -> Builder:
    return lambda world: resolved(values, world)


def pk_of(thing: str) -> Builder:
    return lambda world: str(world.arg(thing))


CONFIRM_DELETE = given(post="yes")


def delete_selected(thing: str) -> Builder:
    """The changelist's "Delete selected" confirmed for one thing."""
    return given(action="delete_selected", _selected_action=pk_of(thing), post="yes")


def workflow(thing: str, fields: dict) -> Builder:
    """A workflow form posted as its page offers it: with the stage and step the person saw."""

    def build(world: World) -> dict:
        incident = world.things[thing]
        return {
            "expected_stage": incident.stage,
            "expected_step": incident.step,
            **resolved(fields, world),
        }

    return build


# --- the expectations, grouped by what the pages are for -----------------------------------------
def model_pages(
    app_model: str,
    thing: str,
    *,
    view,
    add,
    change,
    delete,
    added: dict,
    edited_fields: dict,
    deleted: str | None = None,
) -> dict[str, Expectation]:
    """The list, add, change, delete and history pages of a model, and the bare `<id>/`
    redirect. A POST to the list confirms "Delete selected" for the thing to delete."""
    app, model = app_model.split(".")
    name = f"admin:{app}_{model}"
    deleted = deleted or thing
    add_url = at(f"{name}_add")
    change_url = at(f"{name}_change", thing)
    return {
        f"{name}_changelist": Expectation(
            at(f"{name}_changelist"),
            get=shown_to(*view),
            post=written_by(*delete),
            data=delete_selected(deleted),
            page_counts=True,
        ),
        f"{name}_add": Expectation(
            add_url, get=shown_to(*add), post=written_by(*add), data=edited(add_url, **added)
        ),
        f"{name}_change": Expectation(
            change_url,
            get=change_page_to(change=change, view=view),
            post=written_by(*change),
            data=edited(change_url, **edited_fields),
        ),
        f"{name}_delete": Expectation(
            at(f"{name}_delete", deleted),
            get=shown_to(*delete),
            post=written_by(*delete),
            data=CONFIRM_DELETE,
        ),
        f"{name}_history": Expectation(
            at(f"{name}_history", thing), get=shown_to(*view), post=shown_to(*view)
        ),
        # Django's redirect from the bare object URL to its change page, which decides.
        f"admin/{app}/{model}/<path:object_id>/": Expectation(
            route(f"admin/{app}/{model}/<path:object_id>/", thing),
            get=shown_to(*SIGNED_IN),
            post=shown_to(*SIGNED_IN),
        ),
    }


def history_form(app_model: str, thing: str, *, view, edited_fields: dict) -> dict:
    """A past version's page: shown to whoever may view the record; a POST (what a "Revert"
    would send: the record's fields altered) is refused to everyone, the superuser included."""
    app, model = app_model.split(".")
    change_url = at(f"admin:{app}_{model}_change", thing)
    return {
        f"admin:{app}_{model}_simple_history": Expectation(
            at(f"admin:{app}_{model}_simple_history", thing, f"version:{thing}"),
            get=shown_to(*view),
            post=written_by(),
            data=edited(change_url, **edited_fields),
        )
    }


RESOURCES = {
    "incidents.incident": (IncidentResource, Incident, "description"),
    "incidents.employee": (EmployeeResource, Employee, "display_name"),
    "locations.location": (LocationResource, Location, "name"),
    "locations.device": (DeviceResource, Device, "project"),
}


def spreadsheet_file(app_model: str, thing: str) -> Builder:
    """The thing exported as CSV with one cell edited: what someone re-imports."""

    def build(world: World) -> SimpleUploadedFile:
        key = f"{app_model} {thing}"
        if key not in world.uploads:
            resource_class, model, attribute = RESOURCES[app_model]
            resource = resource_class()
            dataset = resource.export(queryset=model.objects.filter(pk=world.arg(thing)))
            attributes = [f.attribute for f in resource.get_export_fields()]
            row = list(dataset[0])
            row[attributes.index(attribute)] = "Edited in the spreadsheet"
            dataset[0] = row
            world.uploads[key] = SafeCSV().export_data(dataset).encode()
        return SimpleUploadedFile(f"{thing}.csv", world.uploads[key], "text/csv")

    return build


def csv_choice(app_model: str, direction: str) -> str:
    """The value of the CSV choice in the import or export form's format field."""
    model_admin = admin.site._registry[apps.get_model(app_model)]
    formats = getattr(model_admin, f"get_{direction}_formats")()
    return str(formats.index(SafeCSV))


def spreadsheet_upload(app_model: str, thing: str) -> Builder:
    """The import page's form with the edited export of the thing: a dry run."""
    app, model = app_model.split(".")
    return edited(
        at(f"admin:{app}_{model}_import"),
        format=csv_choice(app_model, "import"),
        import_file=spreadsheet_file(app_model, thing),
    )


def import_confirmation(app_model: str, thing: str) -> Builder:
    """The confirmation form the dry run of the thing's edited export shows (to the superuser):
    posting it imports the file."""
    app, model = app_model.split(".")
    upload = spreadsheet_upload(app_model, thing)

    def build(world: World) -> dict:
        url = reverse(f"admin:{app}_{model}_import")
        page = world.superuser_request("POST", url, upload(world))
        return form_data(page.content.decode(), action=f"/{app}/{model}/process_import/")

    return build


def spreadsheet_pages(app_model: str, thing: str, *, import_, export) -> dict:
    """Import (both the add and change permissions) and export (view) of a list. The import page
    posts a file for a dry run, which shows what would change; the confirmation then writes it."""
    app, model = app_model.split(".")
    name = f"admin:{app}_{model}"
    import_url = at(f"{name}_import")
    upload = spreadsheet_upload(app_model, thing)
    confirmation = import_confirmation(app_model, thing)

    return {
        f"{name}_import": Expectation(
            import_url, get=shown_to(*import_), post=shown_to(*import_), data=upload
        ),
        f"{name}_process_import": Expectation(
            at(f"{name}_process_import"),
            get=shown_to(),  # the confirmation is a POST
            post=written_by(*import_),
            data=confirmation,
        ),
        f"{name}_export": Expectation(
            at(f"{name}_export"),
            get=shown_to(*export),
            post=shown_to(*export),
            data=edited(at(f"{name}_export"), format=csv_choice(app_model, "export")),
        ),
    }


def label_pages(app_model: str, thing: str, *, view) -> dict:
    """The PNG and SVG label buttons of an object's page: whoever may view it."""
    app, model = app_model.split(".")
    return {
        f"admin:{app}_{model}_label_{kind}_action": Expectation(
            at(f"admin:{app}_{model}_label_{kind}_action", thing),
            get=shown_to(*view),
            post=shown_to(*view),
        )
        for kind in ("png", "svg")
    }


def workflow_page(button: str, thing: str, *, allowed, fields: dict) -> dict:
    """A workflow button's page on the incident: its form for those the rules allow; anyone
    else is sent back to the incident saying why."""
    name = f"admin:incidents_incident_{button}_action"
    return {
        name: Expectation(
            at(name, thing),
            get=shown_to(*allowed),
            post=written_by(*allowed),
            data=workflow(thing, fields),
        )
    }


def scan_commit_ready(world: World, client: Client) -> None:
    """The browser has scanned the device and the bench; committing moves the device there."""
    session = client.session
    session["scan_station"] = {
        "pending": {"device": world.arg("device"), "location": world.arg("bench")},
        "moves": [],
    }
    session.save()


# --- asking ---------------------------------------------------------------------------------------
def send(world: World, role: str, method: str, expectation: Expectation, client=None):
    """The request as the person's browser sends it, and the tables it changed; the browser
    keeps its cookies."""
    client = client or world.clients[role]
    url = expectation.url(world)
    data = expectation.data(world) if method == "POST" else None
    with kept_cookies(client):
        if expectation.prepare:
            expectation.prepare(world, client)
        before = world.watch.before()
        headers = expectation.headers or {}
        if method == "GET":
            response = client.get(url, headers=headers)
        elif expectation.json:
            response = client.post(url, data, content_type="application/json", headers=headers)
        else:
            response = client.post(url, data, headers=headers)
        if response.streaming:
            # Reading a download to its end closes it as the client does, leaving the test's
            # connection open (closing it directly would close the connection too).
            b"".join(response.streaming_content)
        changed = world.watch.changed_since(before)
    return url, response, changed


def check(world: World, role: str, method: str, expectation: Expectation, expected: str, **kw):
    """Send the request and assert the outcome `expected`."""
    url, response, changed = send(world, role, method, expectation, **kw)

    said = f"{role} {method} {url} → {describe(response)}"
    refused_as = refusal(response, page_counts=expectation.page_counts and method == "POST")
    if expected == REFUSED:
        assert refused_as, f"{said}: expected refused" + (
            f", and changed {changed}" if changed else ""
        )
        assert not changed, f"{said}: refused ({refused_as}) but changed {changed}"
        return response
    assert not refused_as, f"{said}: expected {expected}, refused ({refused_as})"
    assert response.status_code < 400 and not warnings_of(response), said
    if expected in (SHOWN, READ_ONLY):
        assert not changed, f"{said}: only shows, but changed {changed}"
    if expected == READ_ONLY:
        assert response.context["has_change_permission"] is False, f"{said}: offers a form"
    if expected == WRITTEN:
        assert changed, f"{said}: allowed, but nothing changed"
    return response


# --- requests for the rules beyond the matrix ----------------------------------------------------
def change_of(app_model: str, thing: str, **changes) -> Expectation:
    app, model = app_model.split(".")
    url = at(f"admin:{app}_{model}_change", thing)
    return Expectation(url, get={}, post={}, data=edited(url, **changes))


def posted(url: Callable[[World], str], data: Builder, **options) -> Expectation:
    return Expectation(url, get={}, post={}, data=data, **options)


def bulk(app_model: str, action: str, *things: str, **fields) -> Expectation:
    """A bulk action of a list run on the things (with its form's fields, when it asks)."""
    app, model = app_model.split(".")
    return posted(
        at(f"admin:{app}_{model}_changelist"),
        lambda world: {
            "action": action,
            "_selected_action": [str(world.arg(thing)) for thing in things],
            **fields,
        },
        page_counts=True,
    )


def csrf_checking_browser(world: World, role: str) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.people[role])
    return client
