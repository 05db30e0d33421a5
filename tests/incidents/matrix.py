"""What the permission matrix (tests/config/test_permission_matrix.py) expects of the workflow's
pages: incidents and their buttons, attachments, problem groups and their reports, people,
departments, roles and confidential projects, the configuration's trail, notifications, reports
made in the background, API tokens and legacy imports.
"""

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from incidents.choices import Stage, Verdict
from tests.permission_matrix import (
    ADMINS,
    CONFIRM_DELETE,
    NOBODY,
    SAMPLE_WORKBOOK,
    SIGNED_IN,
    STAFF,
    SUPERUSER,
    SUPERVISOR,
    SUPERVISOR_AND_UP,
    Expectation,
    at,
    change_page_to,
    delete_selected,
    edited,
    given,
    history_form,
    label_pages,
    model_pages,
    pk_of,
    route,
    shown_to,
    spreadsheet_pages,
    workflow_page,
    written_by,
)

EXPECTATIONS: dict[str, Expectation] = {
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
    # A problem group suggested on the incident's page, joined in one click (a POST):
    # supervisors and administrators.
    "admin:incidents_incident_join_group": Expectation(
        at("admin:incidents_incident_join_group", "working"),
        get=shown_to(),
        post=written_by(*SUPERVISOR_AND_UP),
        data=lambda world: {"problem_group": world.arg("problem_group")},
    ),
    # Attachments are served to whoever may see the incident.
    "admin:incidents_attachment_download": Expectation(
        at("admin:incidents_attachment_download", "attachment"),
        get=shown_to(*SIGNED_IN),
        post=shown_to(*SIGNED_IN),
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
    # Test stations: administrators list, add and change them (the names results may carry,
    # their fails to open); nobody deletes one (an unused station is made inactive).
    **model_pages(
        "incidents.station",
        "station",
        view=ADMINS,
        add=ADMINS,
        change=ADMINS,
        delete=NOBODY,
        added={
            "name": "MATRIX-NEW-STATION",
            "description": "",
            "fails_to_open": "",
            "active": "on",
        },
        edited_fields={"description": "Changed by the matrix", "fails_to_open": "4"},
    ),
    # The working calendar (one, never added nor deleted: its list opens its page) and its
    # holidays and extra working days, which administrators keep and may remove.
    **model_pages(
        "incidents.workcalendar",
        "work_calendar",
        view=ADMINS,
        add=NOBODY,
        change=ADMINS,
        delete=NOBODY,
        added={},
        edited_fields={"weekdays": ["0", "1", "2", "3", "4", "5"], "day_end": "18:00"},
    ),
    # No add page to read a form from: a forged one is refused to everyone.
    "admin:incidents_workcalendar_add": Expectation(
        at("admin:incidents_workcalendar_add"),
        get=shown_to(),
        post=written_by(),
        data=given(weekdays="0", day_start="08:00", day_end="17:00"),
    ),
    **model_pages(
        "incidents.calendarday",
        "calendar_day",
        view=ADMINS,
        add=ADMINS,
        change=ADMINS,
        delete=ADMINS,
        added={"day": "2026-10-02", "working": "", "note": "National Day"},
        edited_fields={"note": "Changed by the matrix"},
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
    # Webhooks: administrators list, add and change them (the secret typed, never shown);
    # nobody deletes one (it is turned off). Their deliveries are read only, for administrators,
    # who may send one again (a POST; a GET leads back to the delivery's page).
    **model_pages(
        "incidents.webhook",
        "webhook",
        view=ADMINS,
        add=ADMINS,
        change=ADMINS,
        delete=NOBODY,
        added={},  # below: the form's "url" field is not a keyword `edited` takes
        edited_fields={"name": "Renamed by the matrix", "events": "device.moved"},
    ),
    "admin:incidents_webhook_add": Expectation(
        at("admin:incidents_webhook_add"),
        get=shown_to(*ADMINS),
        post=written_by(*ADMINS),
        data=lambda world: {
            **world.form(reverse("admin:incidents_webhook_add")),
            "name": "MATRIX-NEW-MES",
            "url": "https://mes.example/hook",
            "events": "incident.closed",
            "new_secret": "matrix-new-secret-0123456789",
            "is_active": "on",
            "_save": "Save",
        },
    ),
    "admin:incidents_webhookdelivery_changelist": Expectation(
        at("admin:incidents_webhookdelivery_changelist"),
        get=shown_to(*ADMINS),
        post=written_by(*ADMINS),
        data=given(action="send_again_selected", _selected_action=pk_of("webhook_delivery")),
        page_counts=True,
    ),
    "admin:incidents_webhookdelivery_add": Expectation(
        at("admin:incidents_webhookdelivery_add"),
        get=shown_to(),
        post=written_by(),
        data=given(event="incident.opened", payload="{}"),
    ),
    "admin:incidents_webhookdelivery_change": Expectation(
        at("admin:incidents_webhookdelivery_change", "webhook_delivery"),
        get=change_page_to(change=NOBODY, view=ADMINS),
        post=written_by(),
        data=given(payload="{}"),
    ),
    "admin:incidents_webhookdelivery_delete": Expectation(
        at("admin:incidents_webhookdelivery_delete", "webhook_delivery"),
        get=shown_to(),
        post=written_by(),
        data=CONFIRM_DELETE,
    ),
    "admin:incidents_webhookdelivery_history": Expectation(
        at("admin:incidents_webhookdelivery_history", "webhook_delivery"),
        get=shown_to(*ADMINS),
        post=shown_to(*ADMINS),
    ),
    "admin:incidents_webhookdelivery_send_again": Expectation(
        at("admin:incidents_webhookdelivery_send_again", "webhook_delivery"),
        get=shown_to(*ADMINS),
        post=written_by(*ADMINS),
    ),
    "admin/incidents/webhookdelivery/<path:object_id>/": Expectation(
        route("admin/incidents/webhookdelivery/<path:object_id>/", "webhook_delivery"),
        get=shown_to(*SIGNED_IN),
        post=shown_to(*SIGNED_IN),
    ),
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
