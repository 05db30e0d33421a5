"""No value typed or crafted into a form gives a 5xx, and a refused form leaves nothing written.

tests/config/test_hostile_inputs.py sends the catalogue of hostile values to every URL's query
parameters (the dashboard's filters, the scan station's API and the chat included); here it
fills the forms. Every add and change page of every registered list, the workflow's forms
(assign, record, result, submit, approve, send back, cancel), a device's Move form, the password
forms, signing in and the language, the legacy workbook upload, the spreadsheet import, its
confirmation and the export, the stage ownership list edited in place, and bulk actions of the
lists (the label sheets, deactivating, marking read, the workflow's bulk forms, Django's delete
confirmation) start from a valid form: the page's own form as the browser would post it,
with the permission matrix's valid values filled in, posted once to prove it is taken. Then each
field of the form (an inline's first row and the management form's counts included, a split date
and time as one field, a file as a file) is replaced, one at a time, by hostile values of its
kind, the rest of the form left valid: keys past 2^63, -1, text where a number goes, a lone
surrogate, 10,000 characters, nested and garbled JSON, several values for one, dates outside any
calendar, files that lie about what they are (`VALUES`). Every answer is under 500 (a form
error, a redirect, 400, 403, 404), and an answer that did not take the form (anything but a
redirect carrying no warning) left every table as it was; a bulk action given a selection or an
action that names nothing does nothing at all.

Keeping it fast (a form page takes a third of a second to draw): the one-field-at-a-time posts go
through a browser whose pages are not drawn (`UndrawnPages`: every middleware and the view run,
the template is left unrendered); of several fields of one kind in a form, the first gets all of
its kind's values and the others one each, in turn (`variations`). Each form is then posted drawn
with every field holding a hostile value at once (the first values of each kind: a key past the
database's range; and text where a number goes, for a form with a select that looks its records
up), so what a widget draws is drawn; and once with a NUL in every field, which is refused with
a 400 before any view reads it.
"""

import copy
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import quote

import pytest
from django import forms
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.forms import ReadOnlyPasswordHashField
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.forms.formsets import (
    INITIAL_FORM_COUNT,
    MAX_NUM_FORM_COUNT,
    MIN_NUM_FORM_COUNT,
    TOTAL_FORM_COUNT,
)
from django.http import HttpResponse
from django.test import Client
from django.test.utils import modify_settings
from django.urls import reverse

from tests.admin_pages import url_patterns, warnings_of
from tests.config.test_permission_matrix import EXPECTATIONS
from tests.fingerprint import changed_tables, fingerprint, write_counts
from tests.permission_matrix import (
    ANONYMOUS,
    SAMPLE_WORKBOOK,
    STAFF,
    SUPERUSER,
    SUPERVISOR,
    World,
    kept_cookies,
    world_made,
)

# --- the catalogue, by the kind of field it goes in ----------------------------------------------
# The values of tests/config/test_hostile_inputs.py, as a form carries them.
HUGE = "99999999999999999999999"
ABOVE_BIGINT = str(2**63)
LONG = "x" * 10_000
SURROGATE = "\ud800"  # sent as UTF-8 would write it: %ED%A0%80
NUL = "\x00"
NESTED_JSON = "[" * 10_000 + "]" * 10_000


@dataclass(frozen=True)
class Upload:
    """A file as a browser sends it: its name, its bytes, and the type the browser claims."""

    name: str
    content: bytes
    content_type: str

    def __repr__(self):
        return f"<file {self.name[:40]!r}, {len(self.content)} bytes, {self.content_type}>"


PNG_HEAD = b"\x89PNG\r\n\x1a\n"
# Files that lie about what they are: a program called a picture, a picture called a workbook,
# a zip that holds no workbook, text called a PDF, nothing at all, a name of 300 characters,
# a truncated picture that says it is one.
LYING_FILES = [
    Upload("photo.png", b"MZ\x90\x00\x03\x00\x00\x00 this is a program", "image/png"),
    Upload("book.xlsx", PNG_HEAD + b"\x00" * 64, "application/vnd.ms-excel"),
    Upload("book.xlsx", b"PK\x05\x06" + b"\x00" * 18, "application/zip"),
    Upload("report.pdf", "plain text \ufffd".encode(), "application/pdf"),
    Upload("empty.log", b"", "text/plain"),
    Upload("x" * 300 + ".png", PNG_HEAD, "image/png"),
]

DATES = ["0001-01-01", "9999-12-31", "2025-13-45", "abc"]
TIMES = ["25:61", "23:59:59.9999999", "abc"]

# Each kind of field gets the values that take different paths through its code: a key too
# large for the database, text where a number goes, a value out of range, far too much text.
VALUES: dict[str, list] = {
    "text": [LONG, SURROGATE, ["one", "two"]],
    "id": [ABOVE_BIGINT, "abc", "-1"],
    "choice": [LONG, ABOVE_BIGINT, SURROGATE],
    "multiple": [[ABOVE_BIGINT], ["abc", "-1"], [HUGE] * 50],
    "number": [ABOVE_BIGINT, "-1", "1e400", "abc"],
    "count": ["abc", HUGE, "-1", "1001"],
    "boolean": [LONG],
    "date": DATES,
    "time": TIMES,
    # A split date and time, both halves at once (the date alone meets an empty time).
    "datetime": [
        ("0001-01-01", "00:00:00"),
        ("9999-12-31", "23:59:59"),
        ("2025-13-45", "25:61"),
        ("0001-01-01", "abc"),
    ],
    "json": [NESTED_JSON, "{garbled", '{"a": "\\u0000"}', '"\\ud800"', LONG],
    "file": LYING_FILES,
    # The temporary file an import's confirmation names: one that climbs out of its folder.
    "path": ["../../../../etc/passwd", "/etc/passwd", LONG, SURROGATE],
}


def kind_of(name: str, form_field: forms.Field) -> str | None:
    """The kind of a form's field, or None for a field nobody posts (shown read-only)."""
    if form_field.disabled or isinstance(form_field, ReadOnlyPasswordHashField):
        return None
    if name.rsplit("-", 1)[-1] in (
        TOTAL_FORM_COUNT,
        INITIAL_FORM_COUNT,
        MIN_NUM_FORM_COUNT,
        MAX_NUM_FORM_COUNT,
    ):
        return "count"
    kinds = [
        (forms.FileField, "file"),
        (forms.JSONField, "json"),
        (forms.SplitDateTimeField, "datetime"),
        (forms.DateTimeField, "date"),
        (forms.DateField, "date"),
        (forms.TimeField, "time"),
        (forms.ModelMultipleChoiceField, "multiple"),
        (forms.MultipleChoiceField, "multiple"),
        (forms.ModelChoiceField, "id"),
        (forms.ChoiceField, "choice"),
        (forms.IntegerField, "number"),
        (forms.FloatField, "number"),
        (forms.DecimalField, "number"),
        (forms.BooleanField, "boolean"),
    ]
    for form_class, kind in kinds:
        if isinstance(form_field, form_class):
            return kind
    # InlineForeignKeyField (an inline row's parent) is an id too.
    if type(form_field).__name__ == "InlineForeignKeyField":
        return "id"
    return "text"


def fields_of(context) -> dict[str, str]:
    """{field's name in the post: kind} of the page's form, its inlines and their management
    forms. Of an inline's rows only the first is varied: the others are the same fields."""
    found: dict[str, str] = {}
    if context is None:
        return found
    adminform = context.get("adminform")
    main = adminform.form if adminform is not None else context.get("form")
    page_forms = [main] if main is not None else []
    formsets = [inline.formset for inline in context.get("inline_admin_formsets") or []]
    changelist = context.get("cl")
    if getattr(changelist, "formset", None) is not None:
        formsets.append(changelist.formset)  # a list edited in place
    for formset in formsets:
        page_forms += [formset.management_form, *formset.forms[:1]]
    for form in page_forms:
        for bound in form:
            kind = kind_of(bound.html_name, bound.field)
            if kind is not None:
                found[bound.html_name] = kind
    return found


# --- posting without drawing the page ------------------------------------------------------------
class Undrawn(HttpResponse):
    """A page the view answered, kept with its context but not drawn."""

    def __init__(self, page):
        super().__init__(status=page.status_code)
        self.context_data = page.context_data
        self.template_name = page.template_name

    def render(self):
        return self


class UndrawnPages:
    """Test-only last middleware: a template response is not drawn (see the module)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_template_response(self, request, response):
        return Undrawn(response)


def browser(person, *, drawn: bool) -> Client:
    client = Client()
    if person is not None:
        client.force_login(person)
    if not drawn:
        with modify_settings(MIDDLEWARE={"append": f"{__name__}.UndrawnPages"}):
            client.handler.load_middleware()
    return client


# --- the forms ------------------------------------------------------------------------------------
@dataclass
class Form:
    """A form to post: where, by whom, and its valid fields and files."""

    url: str
    role: str
    data: dict
    files: dict[str, Upload] = field(default_factory=dict)
    # {name: kind} of the fields to vary; None: read from the page the view answers.
    kinds: dict[str, str] | None = None
    # A form that is refused to everyone (a record nobody edits): the baseline is refused too,
    # and only the rounds of every field at once are posted.
    refused: bool = False
    # The status of the valid form's answer when it is taken without a redirect (a dry run of
    # an import shows what it would do).
    taken_with: int | None = None
    # A form that never writes (a dry run): no answer may change a table.
    writes: bool = True
    # A bulk action: it runs on the rows it can and says why not for the others, so a redirect
    # is its answer; a hostile value in a field not in `may_still_run` must make it do
    # nothing, whatever it answers.
    bulk: bool = False
    may_still_run: frozenset[str] = frozenset()
    # How many rounds of every field at once are drawn (the first values of each kind: those
    # a widget reads, a key past the database's range and text where a number goes).
    drawn_rounds: int = 2
    # Done before each post (an import's confirmation takes its previewed file away).
    prepare: Callable[[], None] | None = None


def as_upload(value) -> Upload:
    value.seek(0)
    return Upload(value.name, value.read(), value.content_type or "application/octet-stream")


def split(data: dict) -> tuple[dict, dict[str, Upload]]:
    fields, files = {}, {}
    for name, value in data.items():
        if isinstance(value, SimpleUploadedFile):
            files[name] = as_upload(value)
        elif isinstance(value, Upload):
            files[name] = value
        else:
            fields[name] = value
    return fields, files


def encoded(value: str) -> bytes:
    return value.encode("utf-8", "surrogatepass")


def body_of(data: dict, files: dict[str, Upload]) -> tuple[bytes, str]:
    """The body a browser sends: urlencoded, or multipart when a file goes along; any lone
    surrogate written as UTF-8 would write it."""
    pairs = [
        (name, value)
        for name, values in data.items()
        for value in (values if isinstance(values, list) else [values])
    ]
    if not files:
        body = "&".join(
            f"{quote(encoded(name), safe='')}={quote(encoded(str(value)), safe='')}"
            for name, value in pairs
        )
        return body.encode(), "application/x-www-form-urlencoded"
    boundary = "HostileFormBoundary"
    parts = []
    for name, value in pairs:
        parts.append(
            b'--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n'
            % (boundary.encode(), encoded(name), encoded(str(value)))
        )
    for name, upload in files.items():
        parts.append(
            b'--%s\r\nContent-Disposition: form-data; name="%s"; filename="%s"\r\n'
            b"Content-Type: %s\r\n\r\n%s\r\n"
            % (
                boundary.encode(),
                encoded(name),
                encoded(upload.name),
                upload.content_type.encode(),
                upload.content,
            )
        )
    parts.append(b"--%s--\r\n" % boundary.encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def varied(form: Form, name: str, kind: str, value) -> tuple[dict, dict[str, Upload]]:
    """The form with the field `name` (of `kind`) holding `value`."""
    data, files = copy.deepcopy(form.data), dict(form.files)
    if kind == "file":
        files[name] = value
    elif kind == "datetime":
        data[f"{name}_0"], data[f"{name}_1"] = value
    else:
        data[name] = value
    return data, files


def savepoint():
    """A block whose writes and failed statements are undone when it ends."""

    class Block:
        def __enter__(self):
            self.atomic = transaction.atomic()
            self.atomic.__enter__()

        def __exit__(self, *exc):
            transaction.set_rollback(True)
            self.atomic.__exit__(None, None, None)
            return False

    return Block()


@dataclass
class Asker:
    """Posts forms as each person, drawn or not, and judges the answers."""

    world: World
    drawn: dict[str, Client]
    undrawn: dict[str, Client]
    before: dict[str, str]

    def post(
        self,
        form: Form,
        data: dict,
        files: dict,
        *,
        drawn: bool = False,
        said: str = "",
        may_write: bool | None = None,
    ):
        """The answer to the post and what is wrong with it (None when nothing is): a 5xx, or
        tables written by an answer that may not write (`may_write`; by default, one that did
        not take the form)."""
        client = (self.drawn if drawn else self.undrawn)[form.role]
        body, content_type = body_of(data, files)
        described = f"{form.role} POST {form.url} {said}".strip()
        if form.prepare:
            form.prepare()
        with kept_cookies(client):
            try:
                with savepoint():
                    counts = write_counts(self.world.tables)
                    response = client.post(form.url, body, content_type=content_type)
                    if response.streaming:
                        b"".join(response.streaming_content)
                    if may_write is None:
                        may_write = form.writes and taken(form, response)
                    # Digesting the tables again only when the post wrote rows at all.
                    changed = (
                        []
                        if may_write or write_counts(self.world.tables) == counts
                        else changed_tables(self.before, fingerprint(self.world.tables))
                    )
            except Exception as error:  # what the server would answer with a 500
                return None, f"{described} → 500 ({type(error).__name__}: {str(error)[:300]})"
        if response.status_code >= 500:
            return response, f"{described} → {response.status_code}"
        if changed:
            return response, f"{described} → {response.status_code}, but wrote {changed}"
        return response, None


def taken(form: Form, response) -> bool:
    """Whether the form was taken: a redirect carrying no warning (the page shown again is a
    refusal), or the answer it gives when taken."""
    if response.status_code == form.taken_with:
        return True
    redirect = 300 <= response.status_code < 400
    return redirect and (form.bulk or not warnings_of(response))


def variations(kinds: dict[str, str]):
    """(field, kind, value) to post one at a time: each field with the values of its kind; of
    several fields of one kind in a form, the first gets all of them and each other one in
    turn, so every value still meets the form, at a fraction of the posts (an 8D has sixteen
    fields of two kinds)."""
    seen: dict[str, int] = {}
    for name, kind in kinds.items():
        values = VALUES[kind]
        count = seen[kind] = seen.get(kind, -1) + 1
        for value in values if count == 0 else [values[(count - 1) % len(values)]]:
            yield name, kind, value


def form_kinds(asker: Asker, form: Form) -> dict[str, str]:
    """The fields the page's form has, from the view's answer (not drawn)."""
    if form.kinds is not None:
        return form.kinds
    client = asker.undrawn[form.role]
    with kept_cookies(client), savepoint():
        page = client.get(form.url)
    return fields_of(getattr(page, "context_data", None))


def problems_posting(asker: Asker, form: Form) -> list[str]:
    """Everything wrong with the answers to the hostile variants of `form`."""
    kinds = form_kinds(asker, form)
    problems = []
    response, problem = asker.post(form, form.data, form.files, said="(the valid form)")
    if problem:
        return [problem]
    if form.refused:
        assert not taken(form, response), f"{form.url}: the valid form was taken"
    else:
        assert taken(form, response), (
            f"{form.role} POST {form.url}: the valid form was not taken ({response.status_code}"
            f"{', ' + warnings_of(response)[0] if warnings_of(response) else ''})"
        )
    assert kinds, f"{form.url}: no field to vary"

    # One field at a time, not drawn.
    for name, kind, value in [] if form.refused else variations(kinds):
        data, files = varied(form, name, kind, value)
        may_write = (name in form.may_still_run) if form.bulk else None
        _response, problem = asker.post(
            form, data, files, said=f"{name}={short(value)}", may_write=may_write
        )
        if problem:
            problems.append(problem)

    # Every field at once, drawn, once per value of the catalogue (its first values); then a
    # NUL in every field.
    # A second round only where a widget reads its value (a select looks its records up).
    reads = any(kind in ("id", "multiple") for kind in kinds.values())
    for turn in range(form.drawn_rounds if reads else 1):
        data, files = copy.deepcopy(form.data), dict(form.files)
        for name, kind in kinds.items():
            if kind == "count":
                continue  # a huge count would draw a thousand empty rows; not drawn here
            values = VALUES[kind]
            data, files = varied(
                Form(form.url, form.role, data, files), name, kind, values[turn % len(values)]
            )
        _response, problem = asker.post(
            form, data, files, drawn=True, said=f"(round {turn})", may_write=form.bulk or None
        )
        if problem:
            problems.append(problem)
    data = copy.deepcopy(form.data)
    typed = [name for name, kind in kinds.items() if kind not in ("file", "datetime")]
    for name in typed:
        data[name] = f"a{NUL}b"
    response, problem = asker.post(form, data, form.files, drawn=True, said="(NUL everywhere)")
    if problem:
        problems.append(problem)
    elif typed and response.status_code != 400:
        problems.append(f"{form.url} with a NUL in every field → {response.status_code}, not 400")
    return problems


def short(value) -> str:
    text = repr(value)
    return text if len(text) < 60 else f"{text[:40]}…({len(text)} characters)"


# --- which forms, with what valid values ----------------------------------------------------------
def matrix_form(key: str, role: str = SUPERUSER, **options):
    """The form the permission matrix posts to the URL `key` (valid: it writes)."""

    def build(world: World) -> Form:
        expectation = EXPECTATIONS[key]
        data, files = split(expectation.data(world))
        return Form(expectation.url(world), role, data, files, **options)

    return build


MODEL_ADMINS = {
    f"{model._meta.app_label}_{model._meta.model_name}": model for model in admin.site._registry
}
URL_NAMES = {pattern.key for pattern in url_patterns()}
# Lists nobody adds to or edits: their add and change pages answer a post without a form.
NO_FORM = {
    "admin:incidents_configchange_add",
    "admin:incidents_configchange_change",
    "admin:incidents_notification_add",
    "admin:incidents_notification_change",
    "admin:incidents_reportjob_add",
    "admin:incidents_reportjob_change",
    "admin:incidents_legacyimport_change",
    "admin:incidents_apitoken_change",
    "admin:incidents_apitokenuse_add",
    "admin:incidents_apitokenuse_change",
    "admin:incidents_webhookdelivery_add",
    "admin:incidents_webhookdelivery_change",
    # The one working calendar is changed, never added.
    "admin:incidents_workcalendar_add",
}


def model_fields(label: str) -> dict[str, str]:
    """{field: kind} of a model's own fields, as its form would have them."""
    model = MODEL_ADMINS[label]
    kinds = {}
    for model_field in model._meta.get_fields():
        if not getattr(model_field, "concrete", False) or model_field.auto_created:
            continue
        form_field = model_field.formfield()
        if form_field is not None:
            kinds[model_field.name] = kind_of(model_field.name, form_field)
    return kinds


def unformed(key: str, label: str):
    """A page whose form is shown to nobody: posted with the model's fields anyway."""

    def build(world: World) -> Form:
        expectation = EXPECTATIONS[key]
        data, files = split(expectation.data(world))
        return Form(
            expectation.url(world),
            SUPERUSER,
            data,
            files,
            kinds=model_fields(label),
            refused=True,
        )

    return build


def legacy_upload(world: World) -> Form:
    workbook = Upload(
        "legacy.xlsx",
        SAMPLE_WORKBOOK.read_bytes(),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    return Form(reverse("admin:incidents_legacyimport_add"), SUPERUSER, {}, {"workbook": workbook})


# Every list's add and change pages that exist (the chat's messages are only searched).
ADMIN_FORMS = {
    key: unformed(key, label) if key in NO_FORM else matrix_form(key)
    for label in MODEL_ADMINS
    for view in ("add", "change")
    if (key := f"admin:{label}_{view}") in URL_NAMES
}
ADMIN_FORMS["admin:incidents_legacyimport_add"] = legacy_upload
# A new API token is answered with its secret on the page itself (201), never a redirect.
ADMIN_FORMS["admin:incidents_apitoken_add"] = matrix_form(
    "admin:incidents_apitoken_add", taken_with=201
)

WORKFLOW_FORMS = {
    f"admin:incidents_incident_{button}_action": matrix_form(
        f"admin:incidents_incident_{button}_action", role
    )
    for button, role in [
        ("assign", SUPERVISOR),
        ("record", STAFF),
        ("result", STAFF),
        ("submit", STAFF),
        ("approve", SUPERVISOR),
        ("reject", SUPERVISOR),
        ("cancel", SUPERVISOR),
    ]
}


def edited_in_place(world: World) -> Form:
    """The stage ownership list's form as the page holds it, saved as it is."""
    url = reverse("admin:incidents_stageownership_changelist")
    data = {**world.form(url, form_id="changelist-form"), "_save": "Save"}
    data.pop("action", None)
    return Form(url, SUPERUSER, data)


OTHER_FORMS = {
    "admin:locations_device_move_action": matrix_form("admin:locations_device_move_action"),
    "admin:locations_device_correct_serial_action": matrix_form(
        "admin:locations_device_correct_serial_action"
    ),
    "admin:password_change": matrix_form(
        "admin:password_change",
        kinds={"old_password": "text", "new_password1": "text", "new_password2": "text"},
    ),
    "admin:auth_user_password_change": matrix_form("admin:auth_user_password_change"),
    # Signing in and choosing a language, before anyone is signed in.
    "admin:login": matrix_form(
        "admin:login", ANONYMOUS, kinds={"username": "text", "password": "text"}
    ),
    "set_language": matrix_form(
        "set_language", ANONYMOUS, kinds={"language": "choice", "next": "text"}
    ),
    # A list edited in place (which department owns each stage, and where it works).
    "admin:incidents_stageownership_changelist": edited_in_place,
}


def previewed(key: str):
    """An import's confirmation: the file its preview kept is put back before each post (a
    confirmation imports it and takes it away)."""

    def build(world: World) -> Form:
        form = matrix_form(
            key,
            kinds={
                "import_file_name": "path",
                "original_file_name": "text",
                "format": "choice",
                "resource": "choice",
            },
            drawn_rounds=1,
        )(world)
        path = os.path.join(tempfile.gettempdir(), form.data["import_file_name"])
        with open(path, "rb") as kept:
            content = kept.read()

        def put_back():
            with open(path, "wb") as file:
                file.write(content)

        form.prepare = put_back
        return form

    return build


# The spreadsheet import of a list: the upload (a dry run, which writes nothing whatever is
# posted) and the confirmation it leads to (which imports).
SPREADSHEETS = [
    "incidents_incident",
    "locations_device",
    "locations_location",
    "incidents_employee",
]
IMPORT_FORMS = {
    **{
        f"admin:{name}_import": matrix_form(f"admin:{name}_import", taken_with=200, writes=False)
        for name in SPREADSHEETS
    },
    **{
        f"admin:{name}_process_import": previewed(f"admin:{name}_process_import")
        for name in SPREADSHEETS
    },
    # The export: its format and the columns chosen (a file, or a report made in the
    # background for a long list).
    **{
        f"admin:{name}_export": matrix_form(f"admin:{name}_export", taken_with=200)
        for name in SPREADSHEETS
    },
}
# Bulk actions, each run on one record of the list: the action's name, the selection and the
# list's own fields (index, select_across) varied on the first action of a list, the selection
# and the action's own form (the workflow's bulk forms) on every other.
LIST_FIELDS = {"action": "choice", "index": "number", "select_across": "boolean"}
BULK_ACTIONS = {
    # list: (who, [(action, thing, its form's fields {name: (value, kind)}), ...])
    "incidents_incident": (
        SUPERVISOR,
        [
            ("bulk_assign", "working", {"apply": ("1", None), "assignee": ("colleague", "id")}),
            ("bulk_approve", "waiting", {}),
            ("bulk_reject", "waiting", {"apply": ("1", None), "reason": ("Retest", "text")}),
            ("bulk_cancel", "working", {"apply": ("1", None), "reason": ("Duplicate", "text")}),
            (
                "bulk_problem_group",
                "working",
                {"apply": ("1", None), "problem_group": ("problem_group", "id")},
            ),
        ],
    ),
    "locations_device": (SUPERUSER, [("print_labels", "device", {})]),
    "locations_location": (
        SUPERUSER,
        [("print_labels", "shelf", {}), ("deactivate_selected", "spare_location", {})],
    ),
    "incidents_employee": (
        SUPERUSER,
        [("print_labels", "newcomer", {}), ("deactivate_selected", "newcomer", {})],
    ),
    "incidents_notification": (STAFF, [("mark_read", "staff_note", {})]),
    # Django's own confirmation, on a list whose keys are UUIDs.
    "incidents_legacyimport": (SUPERUSER, [("delete_selected", "failed_job", {})]),
}


def bulk_action(name: str, role: str, action: str, thing: str, fields: dict, first: bool):
    """The action run on the thing: its name, the selection (of the list's own fields, on the
    first action of a list) and the action's own form varied. Only a hostile index or
    select_across (the action still runs, on the selection or on every row) or text in the
    action's form (a long reason is a reason) may let it do something."""

    def build(world: World) -> Form:
        data = {
            "action": action,
            ACTION_CHECKBOX_NAME: [str(world.arg(thing))],
            "index": "0",
            **{
                field: str(world.arg(value)) if kind == "id" else value
                for field, (value, kind) in fields.items()
            },
        }
        kinds = {ACTION_CHECKBOX_NAME: "multiple"} | (LIST_FIELDS if first else {})
        kinds |= {field: kind for field, (value, kind) in fields.items() if kind}
        # A label sheet is a PDF, a confirmation or a form asking for more is a page.
        return Form(
            reverse(f"admin:{name}_changelist"),
            role,
            data,
            kinds=kinds,
            taken_with=200,
            bulk=True,
            may_still_run=frozenset(
                {"index", "select_across"}
                | {field for field, (_value, kind) in fields.items() if kind == "text"}
            ),
            drawn_rounds=1,
        )

    return build


BULK_FORMS = {
    f"bulk {name} {action}": bulk_action(name, role, action, thing, fields, first=index == 0)
    for name, (role, actions) in BULK_ACTIONS.items()
    for index, (action, thing, fields) in enumerate(actions)
}

FORMS = {**ADMIN_FORMS, **WORKFLOW_FORMS, **OTHER_FORMS, **IMPORT_FORMS, **BULK_FORMS}


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory):
    with world_made(django_db_blocker, tmp_path_factory) as made:
        yield made


@pytest.fixture(scope="module")
def browsers(world, django_db_blocker):
    """Each person's browsers, drawing pages and not, signed in once for the module; and the
    tables as the world left them, which every refused post must leave them as."""
    people = world.people
    with django_db_blocker.unblock():
        return (
            {role: browser(person, drawn=True) for role, person in people.items()},
            {role: browser(person, drawn=False) for role, person in people.items()},
            fingerprint(world.tables),
        )


@pytest.fixture
def asker(world, browsers, settings):
    settings.MEDIA_ROOT = world.media
    drawn, undrawn, before = browsers
    return Asker(world=world, drawn=drawn, undrawn=undrawn, before=before)


@pytest.mark.django_db
class HostileFormTests:
    def test_every_add_and_change_page_of_every_registered_list_is_here(self):
        pages = {
            key
            for label in MODEL_ADMINS
            for view in ("add", "change")
            if (key := f"admin:{label}_{view}") in URL_NAMES
        }

        assert len(pages) >= 2 * (len(MODEL_ADMINS) - 1)
        assert pages <= set(FORMS)

    @pytest.mark.parametrize("key", sorted(FORMS))
    def test_no_hostile_value_in_any_field_is_a_server_error_or_half_written(self, asker, key):
        form = FORMS[key](asker.world)

        assert not (problems := problems_posting(asker, form)), "\n".join(problems)
