"""Who may open and post what: every URL pattern the project serves, asked for by each kind of
person with GET and with a POST a browser would plausibly send, against the rules of the roles.

Each (URL, person, method) is expected to be shown, written, answered or refused:

- shown: a success answer (2xx, or a redirect that is neither to the login page nor carries a
  warning) and nothing in the database changed; "shown read-only" for a change page offered
  to someone who may view the record but not change it;
- written: a success answer and something in the database changed (so the posted data is the
  kind that changes something when allowed, and a refusal below is a real refusal);
- answered: a success answer, whatever it changed (logging in, choosing a language);
- refused: see `tests.admin_pages.refusal` (a redirect to the login page; 403, 404 or 405; a
  redirect back with a warning or an error; for a POST to a list, the list shown again with the
  bulk action not run) and nothing in the database changed.

"Nothing changed" compares a fingerprint of every table (tests/fingerprint.py) taken right before
and after the request. The people, incidents, devices and the rest are made once for the module;
each request runs in its own transaction, rolled back after it, so every request sees the same
world. A URL pattern without an expectation fails `test_every_url_pattern_has_an_expectation`:
a new screen is never added unnoticed. The workflow buttons follow incidents/rules.py (a
superuser is an administrator there: they review and cancel, but only a stage's supervisor
assigns and only its assignee records and submits).
"""

from dataclasses import replace

import pytest
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from incidents.choices import Stage, Verdict
from incidents.models import (
    AnalysisResult,
    Employee,
    Incident,
    IncidentEvent,
    OperationRecord,
)
from locations.models import Device
from messaging.choices import RoomKind
from tests.admin_pages import url_patterns
from tests.config.permission_matrix import (
    ADMIN,
    ADMINS,
    CONFIRM_DELETE,
    EVERYONE,
    NOBODY,
    REFUSED,
    ROLES,
    SAMPLE_WORKBOOK,
    SHOWN,
    SIGNED_IN,
    STAFF,
    SUPERUSER,
    SUPERVISOR,
    SUPERVISOR_AND_UP,
    WRITTEN,
    Expectation,
    answered_to,
    at,
    bulk,
    change_of,
    change_page_to,
    check,
    csrf_checking_browser,
    delete_selected,
    edited,
    given,
    history_form,
    import_confirmation,
    label_pages,
    model_pages,
    pk_of,
    posted,
    room_at,
    route,
    scan_commit_ready,
    shown_to,
    spreadsheet_pages,
    workflow,
    workflow_page,
    world_made,
    written_by,
)
from tests.factories import PASSWORD


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory):
    """Made once for the module, rolled back at its end."""
    with world_made(django_db_blocker, tmp_path_factory) as made:
        yield made


@pytest.fixture
def media_root(settings, world):
    """The attachments made with the world stay readable by every test."""
    settings.MEDIA_ROOT = world.media
    return settings.MEDIA_ROOT


def matrix_result(world) -> dict:
    """A station's result for the world's device."""
    return {
        "result_id": "MATRIX-1",
        "serial_number": world.things["device"].serial_number,
        "station": "FCT-MATRIX",
        "test_item": "BT_RSSI",
        "passed": False,
        "tested_at": "2025-03-04T10:22:00+08:00",
    }


EXPECTATIONS: dict[str, Expectation] = {
    # Outside the admin: the root redirects to the dashboard (so the anonymous to the login
    # page), the health check answers anyone, and the language switch is on the login page too
    # (for someone signed in it also keeps the choice on their account).
    "": Expectation(route(""), get=shown_to(*SIGNED_IN), post=shown_to(*SIGNED_IN)),
    "healthz": Expectation(at("healthz"), get=shown_to(*EVERYONE), post=shown_to(*EVERYONE)),
    "favicon": Expectation(at("favicon"), get=shown_to(*EVERYONE), post=shown_to(*EVERYONE)),
    "readyz": Expectation(at("readyz"), get=shown_to(*EVERYONE), post=shown_to(*EVERYONE)),
    # Metrics answer only a monitoring system holding METRICS_TOKEN (unset here): nobody.
    "metrics": Expectation(at("metrics"), get=shown_to(), post=shown_to()),
    # An incident's failure-analysis report: whoever may see the incident.
    "incident_report": Expectation(
        lambda world: reverse("incident_report", args=[world.arg("xray_case"), "pdf"]),
        get=shown_to(*SIGNED_IN),
        post=shown_to(*SIGNED_IN),
    ),
    # A problem group's report and its 8D PDF: whoever may see the group asks for one with a
    # POST, which queues it (a report job); a GET leads back to the group's page.
    "problem_group_report": Expectation(
        lambda world: reverse("problem_group_report", args=[world.arg("problem_group"), "xlsx"]),
        get=shown_to(*SIGNED_IN),
        post=written_by(*SIGNED_IN),
    ),
    "problem_group_eightd_report": Expectation(
        lambda world: reverse(
            "problem_group_eightd_report", args=[world.arg("problem_group"), "pdf"]
        ),
        get=shown_to(*SIGNED_IN),
        post=written_by(*SIGNED_IN),
    ),
    # The site's status: administrators only.
    "system_status": Expectation(
        at("system_status"), get=shown_to(*ADMINS), post=shown_to(*ADMINS)
    ),
    "set_language": Expectation(
        at("set_language"),
        get=shown_to(*EVERYONE),
        post=answered_to(*EVERYONE),
        data=given(language="zh-hans", next="/"),
    ),
    # The site's own pages: the dashboard, search, an app's list of models, the JavaScript
    # catalogue and the autocomplete answer (device search on the incident form) are for anyone
    # signed in; those that only read refuse a POST with 405.
    "admin:index": Expectation(
        at("admin:index"), get=shown_to(*SIGNED_IN), post=shown_to(*SIGNED_IN)
    ),
    "admin:search": Expectation(
        at("admin:search", query="?s=fae"), get=shown_to(*SIGNED_IN), post=shown_to(*SIGNED_IN)
    ),
    "admin:app_list": Expectation(
        lambda world: reverse("admin:app_list", args=["incidents"]),
        get=shown_to(*SIGNED_IN),
        post=shown_to(*SIGNED_IN),
    ),
    "admin:jsi18n": Expectation(at("admin:jsi18n"), get=shown_to(*SIGNED_IN), post=shown_to()),
    "admin:autocomplete": Expectation(
        at(
            "admin:autocomplete",
            query="?app_label=incidents&model_name=incident&field_name=device&term=SN",
        ),
        get=shown_to(*SIGNED_IN),
        post=shown_to(),
    ),
    # No model has a page outside the admin: "view on site" finds nothing for anyone.
    "admin:view_on_site": Expectation(
        lambda world: reverse(
            "admin:view_on_site",
            args=[ContentType.objects.get_for_model(Incident).pk, world.arg("working")],
        ),
        get=shown_to(),
        post=shown_to(),
    ),
    # Anything else under /admin/ is not found (after the login page for the anonymous).
    "admin/(?P<url>.*)$": Expectation(
        route("admin/(?P<url>.*)$", value="no-such-page/"), get=shown_to(), post=shown_to()
    ),
    # Logging in: the page is for anyone (signed-in people are sent on to the dashboard); posting
    # a person's credentials signs that person in (their last login changes).
    "admin:login": Expectation(
        at("admin:login"),
        get=shown_to(*EVERYONE),
        post=answered_to(*EVERYONE),
        data=lambda world: {"username": world.people[STAFF].username, "password": PASSWORD},
    ),
    # Logging out is a POST; the anonymous are sent to the dashboard, which asks them to log in.
    "admin:logout": Expectation(at("admin:logout"), get=shown_to(), post=shown_to(*SIGNED_IN)),
    # Everyone signed in changes their own password.
    "admin:password_change": Expectation(
        at("admin:password_change"),
        get=shown_to(*SIGNED_IN),
        post=written_by(*SIGNED_IN),
        data=given(
            old_password=PASSWORD,
            new_password1="Another-pass-456",
            new_password2="Another-pass-456",
        ),
    ),
    "admin:password_change_done": Expectation(
        at("admin:password_change_done"), get=shown_to(*SIGNED_IN), post=shown_to()
    ),
    # Incidents: everyone reads them and opens one (the add form registers the device by its
    # serial number); supervisors and administrators edit details; only a superuser deletes one.
    # Importing is adding and changing: supervisors and up.
    **model_pages(
        "incidents.incident",
        "working",
        view=SIGNED_IN,
        add=SIGNED_IN,
        change=SUPERVISOR_AND_UP,
        delete=(SUPERUSER,),
        added={"serial_number": "SN-MATRIX-NEW", "description": "Opened by the matrix"},
        edited_fields={"description": "Rewritten by the matrix"},
    ),
    **history_form(
        "incidents.incident",
        "working",
        view=SIGNED_IN,
        edited_fields={"description": "Rewritten from the past"},
    ),
    **spreadsheet_pages(
        "incidents.incident", "working", import_=SUPERVISOR_AND_UP, export=SIGNED_IN
    ),
    # The workflow buttons follow incidents/rules.py: the FAE supervisor assigns, reviews and
    # cancels FAE stages, an administrator (a superuser is one) reviews and cancels any; only
    # the assignee records, adds results and submits.
    **workflow_page(
        "assign",
        "working",
        allowed=(SUPERVISOR,),
        fields={"assignee": pk_of("colleague"), "comment": "Please take it over"},
    ),
    **workflow_page(
        "record",
        "working",
        allowed=(STAFF,),
        fields={"action": "Retested on station 5", "notes": "Same failure"},
    ),
    **workflow_page(
        "result",
        "working",
        allowed=(STAFF,),
        fields={"findings": "Antenna pad lifted", "verdict": Verdict.FAIL},
    ),
    **workflow_page("submit", "working", allowed=(STAFF,), fields={"comment": "Ready"}),
    **workflow_page("approve", "waiting", allowed=SUPERVISOR_AND_UP, fields={"comment": "Agreed"}),
    **workflow_page(
        "reject", "waiting", allowed=SUPERVISOR_AND_UP, fields={"reason": "Retest on station 5"}
    ),
    **workflow_page(
        "cancel", "working", allowed=SUPERVISOR_AND_UP, fields={"reason": "Duplicate report"}
    ),
    # Attachments are served to whoever may see the incident.
    "admin:incidents_attachment_download": Expectation(
        at("admin:incidents_attachment_download", "attachment"),
        get=shown_to(*SIGNED_IN),
        post=shown_to(*SIGNED_IN),
    ),
    # The chat of an incident is read and written by whoever may see the incident: older
    # messages, whom to @mention, a message's earlier versions and its files only answer GET;
    # sending and marking as read only POST (opening the room and moving the read mark is a
    # write). Only the author edits or deletes their message; the assignee, the stage's
    # supervisors and administrators mark evidence (staff here does not work this stage).
    "chat:messages": Expectation(
        room_at("chat:messages", "waiting"), get=shown_to(*SIGNED_IN), post=shown_to()
    ),
    "chat:people": Expectation(
        room_at("chat:people", "waiting"), get=shown_to(*SIGNED_IN), post=shown_to()
    ),
    "chat:send": Expectation(
        room_at("chat:send", "waiting"),
        get=shown_to(),
        post=written_by(*SIGNED_IN),
        data=given(text="Written by the matrix"),
    ),
    "chat:read": Expectation(
        room_at("chat:read", "waiting"),
        get=shown_to(),
        post=written_by(*SIGNED_IN),
        data=given(up_to=pk_of("chat_answer")),
    ),
    "chat:edit": Expectation(
        at("chat:edit", "chat_line"),
        get=shown_to(),
        post=written_by(STAFF),
        data=given(text="Edited by the matrix"),
    ),
    "chat:delete": Expectation(
        at("chat:delete", "chat_line"), get=shown_to(), post=written_by(STAFF)
    ),
    "chat:revisions": Expectation(
        at("chat:revisions", "chat_line"), get=shown_to(*SIGNED_IN), post=shown_to()
    ),
    "chat:evidence": Expectation(
        at("chat:evidence", "chat_line"), get=shown_to(), post=written_by(*SUPERVISOR_AND_UP)
    ),
    "chat:attachment": Expectation(
        at("chat:attachment", "chat_picture"), get=shown_to(*SIGNED_IN), post=shown_to()
    ),
    # Messages are searched by whoever may see incidents; nobody adds, changes or deletes one
    # there (the list's "Delete selected" is not offered: the list is shown again).
    "admin:messaging_message_changelist": Expectation(
        at("admin:messaging_message_changelist", query="?q=pad"),
        get=shown_to(*SIGNED_IN),
        post=written_by(),
        data=delete_selected("chat_line"),
        page_counts=True,
    ),
    # Problem groups: supervisors and up add and edit them, administrators delete them.
    **model_pages(
        "incidents.problemgroup",
        "problem_group",
        view=SIGNED_IN,
        add=SUPERVISOR_AND_UP,
        change=SUPERVISOR_AND_UP,
        delete=ADMINS,
        added={"number": "BUG-2099-0001", "title": "Cracked shield can"},
        edited_fields={"title": "Renamed by the matrix"},
    ),
    **history_form(
        "incidents.problemgroup",
        "problem_group",
        view=SIGNED_IN,
        edited_fields={"title": "Hacked", "status": "closed"},
    ),
    # Devices: everyone registers one; supervisors and up edit what a device is; administrators
    # delete one that has no incident. Moving devices is the scan station's, for everyone.
    **model_pages(
        "locations.device",
        "device",
        view=SIGNED_IN,
        add=SIGNED_IN,
        change=SUPERVISOR_AND_UP,
        delete=ADMINS,
        added={"serial_number": "SN-MATRIX-ADD", "project": "Falcon"},
        edited_fields={"project": "Renamed project"},
        deleted="spare_device",
    ),
    **history_form(
        "locations.device", "device", view=SIGNED_IN, edited_fields={"project": "Hacked"}
    ),
    **spreadsheet_pages("locations.device", "device", import_=SUPERVISOR_AND_UP, export=SIGNED_IN),
    **label_pages("locations.device", "device", view=SIGNED_IN),
    # The scan station (locations.move_device): its page takes no POST; its API takes only
    # POSTs, here the commit of a device scanned with a location.
    "admin:locations_device_scan": Expectation(
        at("admin:locations_device_scan"), get=shown_to(*SIGNED_IN), post=shown_to()
    ),
    # The scan station's printable command codes (a PDF): for those who may move devices.
    "admin:locations_device_scan_commands": Expectation(
        at("admin:locations_device_scan_commands"), get=shown_to(*SIGNED_IN), post=shown_to()
    ),
    # A device's Move button (locations.move_device): where it goes, who takes it, and why,
    # through the same service and trail as the scan station.
    "admin:locations_device_move_action": Expectation(
        at("admin:locations_device_move_action", "device"),
        get=shown_to(*SIGNED_IN),
        post=written_by(*SIGNED_IN),
        data=given(location=pk_of("bench"), holder="", reason="Moved by the matrix"),
    ),
    # The new-incident form asks whether the picked device has an open incident (JSON): whoever
    # may open incidents.
    "admin:incidents_incident_device_open_incident": Expectation(
        lambda world: (
            reverse("admin:incidents_incident_device_open_incident")
            + f"?device={world.arg('device')}"
        ),
        get=shown_to(*SIGNED_IN),
        post=shown_to(*SIGNED_IN),
    ),
    "admin:locations_device_scan_api": Expectation(
        at("admin:locations_device_scan_api"),
        get=shown_to(),
        post=written_by(*SIGNED_IN),
        data=given(op="commit", reason="Moved by the matrix"),
        json=True,
        prepare=scan_commit_ready,
    ),
    # Locations: supervisors and up add and edit them, administrators delete one named in no
    # trail.
    **model_pages(
        "locations.location",
        "shelf",
        view=SIGNED_IN,
        add=SUPERVISOR_AND_UP,
        change=SUPERVISOR_AND_UP,
        delete=ADMINS,
        added={"code": "LOC-MATRIX-NEW", "name": "New shelf"},
        edited_fields={"name": "Renamed shelf"},
        deleted="spare_location",
    ),
    **history_form("locations.location", "shelf", view=SIGNED_IN, edited_fields={"name": "Hacked"}),
    **spreadsheet_pages("locations.location", "shelf", import_=SUPERVISOR_AND_UP, export=SIGNED_IN),
    **label_pages("locations.location", "shelf", view=SIGNED_IN),
    # Employees: everyone reads the list (assigning, labels); administrators add, edit, delete
    # and import people and set their passwords.
    **model_pages(
        "incidents.employee",
        "newcomer",
        view=SIGNED_IN,
        add=ADMINS,
        change=ADMINS,
        delete=ADMINS,
        added={
            "username": "matrix-added",
            "employee_number": "M-0001",
            "display_name": "Added person",
            "email": "added@example.com",
            "department": pk_of("fae"),
            "usable_password": "true",
            "password1": "Another-pass-456",
            "password2": "Another-pass-456",
        },
        edited_fields={"display_name": "Renamed person"},
    ),
    # Colleagues read one another as on a badge; the list as a file is for who manages people.
    **spreadsheet_pages("incidents.employee", "newcomer", import_=ADMINS, export=ADMINS),
    **label_pages("incidents.employee", "newcomer", view=SIGNED_IN),
    "admin:auth_user_password_change": Expectation(
        at("admin:auth_user_password_change", "newcomer"),
        get=shown_to(*ADMINS),
        post=written_by(*ADMINS),
        data=edited(
            at("admin:auth_user_password_change", "newcomer"),
            password1="Another-pass-456",
            password2="Another-pass-456",
        ),
    ),
    # Departments and stage ownership: read by everyone, configured by administrators.
    **model_pages(
        "incidents.department",
        "spare_department",
        view=SIGNED_IN,
        add=ADMINS,
        change=ADMINS,
        delete=ADMINS,
        added={"code": "NEW", "name": "New department"},
        edited_fields={"description": "Changed by the matrix"},
    ),
    **model_pages(
        "incidents.stageownership",
        "xray_ownership",
        view=SIGNED_IN,
        add=ADMINS,
        change=ADMINS,
        delete=ADMINS,
        added={"stage": Stage.ME_ANALYSIS, "department": pk_of("fae")},
        edited_fields={"work_location": pk_of("bench")},
    ),
    # Confidential projects: administrators restrict them.
    **model_pages(
        "incidents.projectaccess",
        "restriction",
        view=ADMINS,
        add=ADMINS,
        change=ADMINS,
        delete=ADMINS,
        added={"project": "MATRIX-NEW"},
        edited_fields={"note": "Changed by the matrix"},
    ),
    # Role groups: administrators only.
    **model_pages(
        "auth.group",
        "auditors",
        view=ADMINS,
        add=ADMINS,
        change=ADMINS,
        delete=ADMINS,
        added={"name": "Matrix group"},
        edited_fields={"name": "Auditors renamed"},
    ),
    # The role matrix (roles by capabilities) only reads: whoever may see the roles.
    "admin:auth_group_role_matrix": Expectation(
        at("admin:auth_group_role_matrix"), get=shown_to(*ADMINS), post=shown_to()
    ),
    # Configuration changes: administrators read the audit trail; nobody adds, changes or
    # deletes an entry (the list's "Delete selected" is not offered: the list is shown again).
    "admin:incidents_configchange_changelist": Expectation(
        at("admin:incidents_configchange_changelist"),
        get=shown_to(*ADMINS),
        post=written_by(),
        data=delete_selected("config_change"),
        page_counts=True,
    ),
    "admin:incidents_configchange_add": Expectation(
        at("admin:incidents_configchange_add"),
        get=shown_to(),
        post=written_by(),
        data=given(kind="role", action="created", object_repr="Forged"),
    ),
    "admin:incidents_configchange_change": Expectation(
        at("admin:incidents_configchange_change", "config_change"),
        get=change_page_to(change=NOBODY, view=ADMINS),
        post=written_by(),
        data=given(object_repr="Forged"),
    ),
    "admin:incidents_configchange_delete": Expectation(
        at("admin:incidents_configchange_delete", "config_change"),
        get=shown_to(),
        post=written_by(),
        data=CONFIRM_DELETE,
    ),
    "admin:incidents_configchange_history": Expectation(
        at("admin:incidents_configchange_history", "config_change"),
        get=shown_to(*ADMINS),
        post=shown_to(*ADMINS),
    ),
    "admin/incidents/configchange/<path:object_id>/": Expectation(
        route("admin/incidents/configchange/<path:object_id>/", "config_change"),
        get=shown_to(*SIGNED_IN),
        post=shown_to(*SIGNED_IN),
    ),
    # Notifications: each person's own. Nobody adds, edits or deletes one; the list's "Mark as
    # read" (posted for everyone's notifications) marks the person's own. The staff member's
    # notification is theirs alone: anyone else is told it does not exist.
    "admin:incidents_notification_changelist": Expectation(
        at("admin:incidents_notification_changelist"),
        get=shown_to(*SIGNED_IN),
        post=written_by(*SIGNED_IN),
        data=lambda world: {
            "action": "mark_read",
            "_selected_action": [str(note.pk) for note in world.things["notes"].values()],
        },
        page_counts=True,
    ),
    # A row opens its notification's page and marks it read: only for its recipient. "Mark all
    # read" marks each person's own, and only when posted.
    "admin:incidents_notification_open": Expectation(
        at("admin:incidents_notification_open", "staff_note"),
        get=written_by(STAFF),
        post=written_by(STAFF),
    ),
    "admin:incidents_notification_mark_all_read": Expectation(
        at("admin:incidents_notification_mark_all_read"),
        get=shown_to(),
        post=written_by(*SIGNED_IN),
    ),
    "admin:incidents_notification_add": Expectation(
        at("admin:incidents_notification_add"), get=shown_to(), post=written_by()
    ),
    "admin:incidents_notification_change": Expectation(
        at("admin:incidents_notification_change", "staff_note"),
        get=change_page_to(change=NOBODY, view=(STAFF,)),
        post=written_by(),
        data=given(read_at_0="2025-01-01", read_at_1="00:00:00"),
    ),
    "admin:incidents_notification_delete": Expectation(
        at("admin:incidents_notification_delete", "staff_note"),
        get=shown_to(),
        post=written_by(),
        data=CONFIRM_DELETE,
    ),
    "admin:incidents_notification_history": Expectation(
        at("admin:incidents_notification_history", "staff_note"),
        get=shown_to(STAFF),
        post=shown_to(STAFF),
    ),
    "admin/incidents/notification/<path:object_id>/": Expectation(
        route("admin/incidents/notification/<path:object_id>/", "staff_note"),
        get=shown_to(*SIGNED_IN),
        post=shown_to(*SIGNED_IN),
    ),
    # Reports made in the background: each person's list of their own; a report's page, its
    # progress and its file for the person who asked (the staff member) and administrators,
    # "not found" for anyone else; nobody adds, edits or deletes one; a report already made
    # cannot be cancelled.
    "admin:incidents_reportjob_changelist": Expectation(
        at("admin:incidents_reportjob_changelist"),
        get=shown_to(*SIGNED_IN),
        post=written_by(),
        page_counts=True,
    ),
    "admin:incidents_reportjob_change": Expectation(
        at("admin:incidents_reportjob_change", "staff_report"),
        get=shown_to(STAFF, *ADMINS),
        post=shown_to(STAFF, *ADMINS),
    ),
    "admin:incidents_reportjob_status": Expectation(
        at("admin:incidents_reportjob_status", "staff_report"),
        get=shown_to(STAFF, *ADMINS),
        post=shown_to(STAFF, *ADMINS),
    ),
    "admin:incidents_reportjob_download": Expectation(
        at("admin:incidents_reportjob_download", "staff_report"),
        get=shown_to(STAFF, *ADMINS),
        post=shown_to(STAFF, *ADMINS),
    ),
    "admin:incidents_reportjob_cancel": Expectation(
        at("admin:incidents_reportjob_cancel", "staff_report"),
        get=shown_to(STAFF, *ADMINS),
        post=written_by(),
    ),
    "admin:incidents_reportjob_add": Expectation(
        at("admin:incidents_reportjob_add"), get=shown_to(), post=written_by()
    ),
    "admin:incidents_reportjob_delete": Expectation(
        at("admin:incidents_reportjob_delete", "staff_report"),
        get=shown_to(),
        post=written_by(),
        data=CONFIRM_DELETE,
    ),
    "admin:incidents_reportjob_history": Expectation(
        at("admin:incidents_reportjob_history", "staff_report"),
        get=shown_to(STAFF),
        post=shown_to(STAFF),
    ),
    "admin/incidents/reportjob/<path:object_id>/": Expectation(
        route("admin/incidents/reportjob/<path:object_id>/", "staff_report"),
        get=shown_to(*SIGNED_IN),
        post=shown_to(*SIGNED_IN),
    ),
    # API tokens: administrators list them, make one (its secret shown on the answer, once) and
    # revoke them (a bulk action); nobody edits or deletes one. Their uses are read only.
    **model_pages(
        "incidents.apitoken",
        "api_token",
        view=ADMINS,
        add=ADMINS,
        change=NOBODY,
        delete=NOBODY,
        added={"name": "MATRIX-STATION", "scopes": "incidents:read"},
        edited_fields={"name": "Renamed by the matrix"},
    ),
    "admin:incidents_apitokenuse_changelist": Expectation(
        at("admin:incidents_apitokenuse_changelist"),
        get=shown_to(*ADMINS),
        post=written_by(),
        data=delete_selected("api_token_use"),
        page_counts=True,
    ),
    "admin:incidents_apitokenuse_add": Expectation(
        at("admin:incidents_apitokenuse_add"),
        get=shown_to(),
        post=written_by(),
        data=given(method="GET", path="/forged/"),
    ),
    "admin:incidents_apitokenuse_change": Expectation(
        at("admin:incidents_apitokenuse_change", "api_token_use"),
        get=change_page_to(change=NOBODY, view=ADMINS),
        post=written_by(),
        data=given(path="/forged/"),
    ),
    "admin:incidents_apitokenuse_delete": Expectation(
        at("admin:incidents_apitokenuse_delete", "api_token_use"),
        get=shown_to(),
        post=written_by(),
        data=CONFIRM_DELETE,
    ),
    "admin:incidents_apitokenuse_history": Expectation(
        at("admin:incidents_apitokenuse_history", "api_token_use"),
        get=shown_to(*ADMINS),
        post=shown_to(*ADMINS),
    ),
    "admin/incidents/apitokenuse/<path:object_id>/": Expectation(
        route("admin/incidents/apitokenuse/<path:object_id>/", "api_token_use"),
        get=shown_to(*SIGNED_IN),
        post=shown_to(*SIGNED_IN),
    ),
    # The REST API with a person's session: what their screens show (a token is asked for
    # otherwise, 401). Its schema and reference are open to anyone; its reads refuse a POST.
    "api-v1:openapi-json": Expectation(
        at("api-v1:openapi-json"), get=shown_to(*EVERYONE), post=shown_to(*EVERYONE)
    ),
    "api-v1:openapi-view": Expectation(
        at("api-v1:openapi-view"), get=shown_to(*EVERYONE), post=shown_to(*EVERYONE)
    ),
    "api-v1:api-root": Expectation(at("api-v1:api-root"), get=shown_to(), post=shown_to()),
    "api-v1:nothing_here": Expectation(
        lambda world: reverse("api-v1:nothing_here", args=["nothing/here"]),
        get=shown_to(),
        post=shown_to(),
    ),
    # Reporting test results: whoever may open incidents (a POST; reading it is 405).
    "api-v1:result_batch": Expectation(
        at("api-v1:result_batch"),
        get=shown_to(),
        post=written_by(*SIGNED_IN),
        data=lambda world: {"results": [matrix_result(world)]},
        json=True,
    ),
    **{
        f"api-v1:{name}": Expectation(
            at(f"api-v1:{name}", *things), get=shown_to(*SIGNED_IN), post=shown_to()
        )
        for name, things in (
            ("incident_list", ()),
            ("incident_detail", ("working",)),
            ("device_list", ()),
            ("device_detail", ("device",)),
            ("location_list", ()),
            ("location_detail", ("shelf",)),
            ("problem_group_list", ()),
            ("problem_group_detail", ("problem_group",)),
        )
    },
    # Legacy workbook imports: administrators only. Uploading keeps the workbook and queues its
    # check; a job's page only shows; confirming a checked job and starting a failed one again
    # queue them. Anyone else is refused at every one of these URLs (but Django's bare `<id>/`
    # redirect, which leads to the job page).
    "admin:incidents_legacyimport_changelist": Expectation(
        at("admin:incidents_legacyimport_changelist"),
        get=shown_to(*ADMINS),
        post=written_by(*ADMINS),
        data=delete_selected("failed_job"),
        page_counts=True,
    ),
    "admin:incidents_legacyimport_add": Expectation(
        at("admin:incidents_legacyimport_add"),
        get=shown_to(*ADMINS),
        post=written_by(*ADMINS),
        data=given(
            workbook=lambda world: SimpleUploadedFile("legacy.xlsx", SAMPLE_WORKBOOK.read_bytes())
        ),
    ),
    "admin:incidents_legacyimport_change": Expectation(
        at("admin:incidents_legacyimport_change", "checked_job"),
        get=shown_to(*ADMINS),
        post=shown_to(*ADMINS),
    ),
    "admin:incidents_legacyimport_delete": Expectation(
        at("admin:incidents_legacyimport_delete", "failed_job"),
        get=shown_to(*ADMINS),
        post=written_by(*ADMINS),
        data=CONFIRM_DELETE,
    ),
    "admin:incidents_legacyimport_history": Expectation(
        at("admin:incidents_legacyimport_history", "checked_job"),
        get=shown_to(*ADMINS),
        post=shown_to(*ADMINS),
    ),
    "admin/incidents/legacyimport/<path:object_id>/": Expectation(
        route("admin/incidents/legacyimport/<path:object_id>/", "checked_job"),
        get=shown_to(*SIGNED_IN),
        post=shown_to(*SIGNED_IN),
    ),
    "admin:incidents_legacyimport_status": Expectation(
        at("admin:incidents_legacyimport_status", "checked_job"),
        get=shown_to(*ADMINS),
        post=shown_to(*ADMINS),
    ),
    "admin:incidents_legacyimport_confirm": Expectation(
        at("admin:incidents_legacyimport_confirm", "checked_job"),
        get=shown_to(*ADMINS),
        post=written_by(*ADMINS),
    ),
    "admin:incidents_legacyimport_retry": Expectation(
        at("admin:incidents_legacyimport_retry", "failed_job"),
        get=shown_to(*ADMINS),
        post=written_by(*ADMINS),
    ),
}

PATTERNS = url_patterns()
MATRIX = [
    pytest.param(key, role, method, id=f"{key} {role} {method}")
    for key in sorted(EXPECTATIONS)
    for role in ROLES
    for method in ("GET", "POST")
]


@pytest.mark.django_db
class PermissionMatrixTests:
    def test_every_url_pattern_has_an_expectation(self):
        missing = [p.route for p in PATTERNS if p.key not in EXPECTATIONS]

        assert not missing, "\n".join(
            f"new admin URL without an expectation: {route}" for route in missing
        )

    def test_every_expectation_names_a_url_pattern(self):
        keys = {p.key for p in PATTERNS}

        assert [key for key in EXPECTATIONS if key not in keys] == []

    @pytest.mark.parametrize(("key", "role", "method"), MATRIX)
    def test_each_person_is_shown_or_refused_what_the_rules_say(self, world, key, role, method):
        expectation = EXPECTATIONS[key]
        expected = expectation.get[role] if method == "GET" else expectation.post[role]

        check(world, role, method, expectation, expected)


# --- rules the matrix's one object per URL cannot show -------------------------------------------
SCENARIOS = {
    "a supervisor cannot approve a stage they worked themselves": (
        SUPERVISOR,
        "POST",
        posted(
            at("admin:incidents_incident_approve_action", "own_work"),
            workflow("own_work", {"comment": "Looks fine to me"}),
        ),
        REFUSED,
    ),
    "a supervisor cannot assign a stage another department owns": (
        SUPERVISOR,
        "POST",
        posted(
            at("admin:incidents_incident_assign_action", "xray_case"),
            workflow("xray_case", {"assignee": pk_of("colleague")}),
        ),
        REFUSED,
    ),
    "an administrator cannot change a superuser's account": (
        ADMIN,
        "POST",
        change_of("incidents.employee", "superuser", display_name="Renamed"),
        REFUSED,
    ),
    "an administrator cannot set a superuser's password": (
        ADMIN,
        "POST",
        posted(
            at("admin:auth_user_password_change", "superuser"),
            given(password1="Another-pass-456", password2="Another-pass-456"),
        ),
        REFUSED,
    ),
    "an administrator cannot delete a superuser": (
        ADMIN,
        "POST",
        posted(at("admin:incidents_employee_delete", "superuser"), CONFIRM_DELETE),
        REFUSED,
    ),
    "an administrator cannot delete a superuser from the list": (
        ADMIN,
        "POST",
        bulk("incidents.employee", "delete_selected", "superuser", post="yes"),
        REFUSED,
    ),
    "an administrator cannot deactivate a superuser from the list": (
        ADMIN,
        "POST",
        bulk("incidents.employee", "deactivate_selected", "superuser"),
        REFUSED,
    ),
    "an administrator cannot change a superuser's account through an import": (
        ADMIN,
        "POST",
        posted(
            at("admin:incidents_employee_process_import"),
            import_confirmation("incidents.employee", "superuser"),
            page_counts=True,
        ),
        REFUSED,
    ),
    # People and places named in a device trail are deactivated, never deleted: the delete page
    # lists why instead of deleting (the page shown again).
    "an administrator cannot delete a person named in a device trail": (
        ADMIN,
        "POST",
        posted(at("admin:incidents_employee_delete", "staff"), CONFIRM_DELETE, page_counts=True),
        REFUSED,
    ),
    "an administrator cannot delete them from the list either": (
        ADMIN,
        "POST",
        bulk("incidents.employee", "delete_selected", "staff", post="yes"),
        REFUSED,
    ),
    "a superuser cannot delete a person named in a device trail": (
        SUPERUSER,
        "POST",
        posted(at("admin:incidents_employee_delete", "staff"), CONFIRM_DELETE, page_counts=True),
        REFUSED,
    ),
    "an administrator deactivates a person named in a device trail instead": (
        ADMIN,
        "POST",
        bulk("incidents.employee", "deactivate_selected", "staff"),
        WRITTEN,
    ),
    "an administrator cannot delete a location named in a device trail": (
        ADMIN,
        "POST",
        posted(at("admin:locations_location_delete", "shelf"), CONFIRM_DELETE, page_counts=True),
        REFUSED,
    ),
    "an administrator cannot delete it from the list either": (
        ADMIN,
        "POST",
        bulk("locations.location", "delete_selected", "shelf", post="yes"),
        REFUSED,
    ),
    "an administrator deactivates a location named in a device trail instead": (
        ADMIN,
        "POST",
        bulk("locations.location", "deactivate_selected", "shelf"),
        WRITTEN,
    ),
    # The list's bulk workflow actions follow the same rules as the buttons.
    "staff cannot cancel incidents from the list": (
        STAFF,
        "POST",
        bulk("incidents.incident", "bulk_cancel", "working", apply="1", reason="Duplicate"),
        REFUSED,
    ),
    "staff cannot approve incidents from the list": (
        STAFF,
        "POST",
        bulk("incidents.incident", "bulk_approve", "waiting"),
        REFUSED,
    ),
    "a supervisor cancels their department's incidents from the list": (
        SUPERVISOR,
        "POST",
        bulk("incidents.incident", "bulk_cancel", "working", apply="1", reason="Duplicate"),
        WRITTEN,
    ),
    "an administrator cannot delete incidents from the list": (
        ADMIN,
        "POST",
        bulk("incidents.incident", "delete_selected", "working", post="yes"),
        REFUSED,
    ),
    # Only the scan station moves a device for staff: the device form stays closed to them.
    "staff cannot move a device through its form": (
        STAFF,
        "POST",
        change_of("locations.device", "device", location=pk_of("bench")),
        REFUSED,
    ),
    # The dashboard's app pages list only what the person may see.
    "staff cannot open the auth app's page": (
        STAFF,
        "GET",
        Expectation(lambda world: reverse("admin:app_list", args=["auth"]), get={}, post={}),
        REFUSED,
    ),
    # A problem group's room is read and written by whoever may see the group; a line the
    # workflow wrote is nobody's to edit, not even the actor's it names.
    "staff read a problem group's room": (
        STAFF,
        "GET",
        Expectation(
            room_at("chat:messages", "problem_group", RoomKind.PROBLEM_GROUP), get={}, post={}
        ),
        SHOWN,
    ),
    "staff write in a problem group's room": (
        STAFF,
        "POST",
        posted(
            room_at("chat:send", "problem_group", RoomKind.PROBLEM_GROUP),
            given(text="Seen on station 5 too"),
        ),
        WRITTEN,
    ),
    "the actor of a system line cannot edit it": (
        STAFF,
        "POST",
        posted(at("chat:edit", "system_line"), given(text="Rewritten")),
        REFUSED,
    ),
}


@pytest.mark.django_db
class RuleTests:
    @pytest.mark.parametrize("rule", SCENARIOS)
    def test_holds(self, world, rule):
        role, method, expectation, expected = SCENARIOS[rule]

        check(world, role, method, expectation, expected)

    def test_an_administrator_cannot_make_anyone_a_superuser(self, world):
        change = change_of(
            "incidents.employee", "newcomer", display_name="Renamed", is_superuser="on"
        )

        check(world, ADMIN, "POST", change, WRITTEN)

        newcomer = Employee.objects.get(pk=world.arg("newcomer"))
        assert newcomer.display_name == "Renamed"
        assert not newcomer.is_superuser

    def test_a_superuser_deletes_an_incident_and_its_timeline_stays(self, world):
        incident = world.things["working"]
        events = list(
            IncidentEvent.objects.filter(incident_id=incident.pk).values_list("pk", flat=True)
        )
        delete = posted(at("admin:incidents_incident_delete", "working"), CONFIRM_DELETE)

        check(world, SUPERUSER, "POST", delete, WRITTEN)

        assert not Incident.objects.filter(pk=incident.pk).exists()
        assert events
        assert (
            list(IncidentEvent.objects.filter(incident_id=incident.pk).values_list("pk", flat=True))
            == events
        )
        assert OperationRecord.objects.filter(incident_id=incident.pk).exists()
        assert AnalysisResult.objects.filter(incident_id=incident.pk).exists()


@pytest.mark.django_db
class ScanApiCsrfTests:
    """The scan station's API is posted to by the page's script: without the page's CSRF token a
    POST is refused (403) and moves nothing; with it, staff move devices."""

    COMMIT = EXPECTATIONS["admin:locations_device_scan_api"]

    def test_a_post_without_the_csrf_token_is_refused_and_moves_nothing(self, world):
        browser = csrf_checking_browser(world, STAFF)

        response = check(world, STAFF, "POST", self.COMMIT, REFUSED, client=browser)

        assert response.status_code == 403
        assert Device.objects.get(pk=world.arg("device")).location_id != world.arg("bench")

    def test_staff_with_the_csrf_token_move_a_device(self, world):
        browser = csrf_checking_browser(world, STAFF)
        browser.get(reverse("admin:locations_device_scan"))
        token = browser.cookies[settings.CSRF_COOKIE_NAME].value
        with_token = replace(self.COMMIT, headers={"X-CSRFToken": token})

        check(world, STAFF, "POST", with_token, WRITTEN, client=browser)

        assert Device.objects.get(pk=world.arg("device")).location_id == world.arg("bench")
