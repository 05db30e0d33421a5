from pathlib import PurePath

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import flatten_fieldsets
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import capfirst
from django.utils.timesince import timesince
from django.utils.translation import gettext_lazy as _
from import_export.admin import ImportExportModelAdmin
from unfold.admin import ModelAdmin
from unfold.contrib.filters.admin import (
    AutocompleteSelectFilter,
    ChoicesCheckboxFilter,
)
from unfold.contrib.import_export.forms import ExportForm
from unfold.decorators import display
from unfold.widgets import UnfoldAdminSelect2Widget, UnfoldAdminTextInputWidget

import incidents.admin.queues as queues
from config.kit.filters import DateTimeRangeFilter
from config.kit.ids import pk_or_404
from config.kit.lists import LeanListMixin, label_html
from config.kit.search import IndexedSearchMixin
from config.kit.spreadsheets import SpreadsheetAdminMixin
from config.kit.uploads import SMALL_PICTURE_TYPES
from config.kit.widgets import AutocompleteKeysMixin
from incidents import access, contributions, rules, selectors, services
from incidents.admin.ages import StageAgeMixin
from incidents.admin.dashboard import DashboardFilter
from incidents.admin.deadlines import DeadlineColumnMixin
from incidents.admin.list_filters import MyWorkFilter, OverdueFilter, UnreadMessagesFilter
from incidents.admin.similar import SimilarIncidentsAdminMixin, similar_context
from incidents.admin.station_results import recent_results_context
from incidents.admin.workflow import WorkflowAdminMixin
from incidents.choices import Stage, Step
from incidents.models import FAILURE_FIELDS, Attachment, Incident, Notification
from incidents.resources import IncidentResource
from locations import selectors as location_selectors
from locations.history_admin import TrailHistoryAdmin
from locations.models import Device, Location
from locations.serials import matching_serial
from locations.services import device_register

# Red is failure and scrap, green is done, amber is waiting (the steps that wait for someone);
# a stage being worked on is plain blue.
STAGE_COLORS = {
    Stage.REPORTED: "info",
    Stage.FAE_RETEST: "info",
    Stage.XRAY: "info",
    Stage.EE_ANALYSIS: "info",
    Stage.ME_ANALYSIS: "info",
    Stage.FINAL_RETEST: "info",
    Stage.RETURNED: "success",
    Stage.SCRAPPED: "danger",
    Stage.CANCELLED: "default",
}
STEP_COLORS = {
    Step.UNASSIGNED: "warning",
    Step.ASSIGNED: "info",
    Step.SUBMITTED: "warning",
    Step.CLOSED: "default",
}


class IncidentAddForm(forms.ModelForm):
    """Open an incident for a registered device, or register the device by its serial number."""

    serial_number = forms.CharField(
        label=_("or a new device's serial number"),
        required=False,
        max_length=64,
        widget=UnfoldAdminTextInputWidget,
        help_text=_("Registers the device. A serial number already registered is refused."),
    )
    project = forms.CharField(label=_("project"), required=False, widget=UnfoldAdminTextInputWidget)
    location = forms.ModelChoiceField(
        label=_("where the new device is now"),
        queryset=Location.objects.filter(is_active=True),
        required=False,
        widget=UnfoldAdminSelect2Widget,
        help_text=_(
            "Only for a new serial number. Filled in with where your department works "
            "(Stage ownership); empty when it names no place: leave it empty if you do not know."
        ),
    )

    # Who is filling the form in (IncidentAdmin.get_form sets it).
    reporter = None

    class Meta:
        model = Incident
        # The reporter is whoever opens it and it opens now: back-dating is for imports only.
        # The failure is the incident's own, for a device registered long ago too.
        fields = [
            "device",
            "fail_station",
            "fail_item",
            "test_log_url",
            "failed_at",
            "problem_group",
            "description",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Labels in sentence case, as everywhere else (the model's verbose names are lower case).
        for field in self.fields.values():
            field.label = capfirst(field.label)
        self.fields["device"].required = False
        # Picking a device asks at once whether it has an open incident (incident_add.js).
        device_widget = self.fields["device"].widget
        getattr(device_widget, "widget", device_widget).attrs["data-open-incident-url"] = reverse(
            "admin:incidents_incident_device_open_incident"
        )

    class Media:
        js = ["js/incident_add.js"]

    def clean(self):
        data = super().clean()
        device, serial = data.get("device"), (data.get("serial_number") or "").strip()
        if bool(device) == bool(serial):
            raise forms.ValidationError(
                _("Pick a registered device or type a new serial number (one of the two).")
            )
        # A serial the device had before a correction names it too.
        registered = serial and Device.objects.filter(matching_serial(serial)).first()
        if registered and not access.may_see_device(registered, self.reporter):
            self.add_error(
                "serial_number",
                _(
                    "Device %(serial)s is already registered in a confidential project that is "
                    "not open to you; an administrator can open it to you."
                )
                % {"serial": serial},
            )
        elif registered:
            self.add_error(
                "serial_number",
                _("Device %(serial)s is already registered; pick it in the device field.")
                % {"serial": serial},
            )
        failed_at = data.get("failed_at")
        if failed_at and failed_at > timezone.now():
            self.add_error("failed_at", _("The failure time is in the future."))
        open_incident = device and selectors.device_open_incident(device)
        if open_incident:
            self.add_error(
                "device",
                format_html(
                    '{} <a href="{}" class="underline">{}</a>',
                    _("Device %(serial)s already has an open incident.")
                    % {"serial": device.serial_number},
                    reverse("admin:incidents_incident_change", args=[open_incident.pk]),
                    _("Open incident #%(id)s") % {"id": open_incident.pk},
                ),
            )
        return data


class IncidentChangeForm(forms.ModelForm):
    """An incident's details. Its failure time is checked against when it opened here, where the
    field can say so: the database's rule names the opening time, which this form does not
    edit, so the form's own check of the model skips it and the save answered 500."""

    def clean_failed_at(self):
        failed_at = self.cleaned_data.get("failed_at")
        opened_at = self.instance.opened_at
        if failed_at and opened_at and failed_at > opened_at:
            raise forms.ValidationError(
                _(
                    "A device fails before its incident is reported: the failure time cannot be "
                    "later than the time the incident was opened."
                )
            )
        return failed_at


@admin.register(Incident)
class IncidentAdmin(
    SimilarIncidentsAdminMixin,
    AutocompleteKeysMixin,
    WorkflowAdminMixin,
    StageAgeMixin,
    DeadlineColumnMixin,
    IndexedSearchMixin,
    LeanListMixin,
    SpreadsheetAdminMixin,
    ImportExportModelAdmin,
    TrailHistoryAdmin,
    ModelAdmin,
):
    resource_classes = [IncidentResource]
    export_form_class = ExportForm
    list_display = [
        "number",
        "unread_messages",
        "device",
        # The step under its stage in one cell: two columns of wide labels pushed the list past
        # a desktop's width.
        "stage_label",
        "assignee_name",
        "stage_age",
        "deadline_mark",
        "problem_group_number",
        "fail_item",
        "opened_at",
    ]
    list_display_links = ["number", "device"]
    list_filter = [
        MyWorkFilter,
        UnreadMessagesFilter,
        # What a number of the dashboard counts (shown only when a dashboard link set it).
        DashboardFilter,
        OverdueFilter,
        ("stage", ChoicesCheckboxFilter),
        ("step", ChoicesCheckboxFilter),
        # Typed, not listed: a factory has hundreds of problem groups.
        ("problem_group", AutocompleteSelectFilter),
        ("opened_at", DateTimeRangeFilter),
    ]
    list_filter_submit = True
    search_fields = [
        "=id",
        "device__serial_number",
        "device__project",
        "fail_item",
        "problem_group__number",
        "assignee__display_name",
        "description",
    ]
    autocomplete_fields = ["device", "reporter", "problem_group"]
    list_select_related = ["device", "problem_group", "assignee"]
    readonly_fields = [
        "current_stage",
        "current_step",
        "assignee",
        "stage_round",
        "stage_since",
        "closed_at",
        "reported_by",
    ]
    # The incident page's form holds what a person may correct, folded: the summary above it
    # (summary.html) shows the failure, and the stage, step, assignee, round and dates the
    # form showed again. A fieldset with an error opens by itself.
    fieldsets = (
        (
            _("Failure"),
            {
                "fields": ("fail_station", "fail_item", "test_log_url", "failed_at"),
                "classes": ["collapse"],
            },
        ),
        (_("Details"), {"fields": ("problem_group", "description"), "classes": ["collapse"]}),
    )
    # A past version's page (history) has no summary: it shows everything the version held.
    past_version_fieldsets = (
        (None, {"fields": ("device", "current_stage", "current_step", "assignee", "stage_round")}),
        (
            _("Failure"),
            {"fields": ("fail_station", "fail_item", "test_log_url", "failed_at")},
        ),
        (_("Details"), {"fields": ("problem_group", "description")}),
        (_("Dates"), {"fields": ("reported_by", "opened_at", "stage_since", "closed_at")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "fields": (
                    "device",
                    "serial_number",
                    "project",
                    "location",
                )
            },
        ),
        (
            _("Failure"),
            {"fields": ("fail_station", "fail_item", "test_log_url", "failed_at")},
        ),
        (_("Incident"), {"fields": ("problem_group", "description")}),
    )
    # A past version is named by its device (history pages).
    history_named_by = ("device",)
    # Above the form: what a person needs first (summary.html); below it: the workflow.
    change_form_outer_before_template = "admin/incidents/incident/summary.html"
    change_form_outer_after_template = "admin/incidents/incident/workflow_panel.html"

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)

    def visible_history(self, request, records):
        return access.restrict(records, request.user)

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = IncidentAddForm
            kwargs["fields"] = None
        else:
            kwargs.setdefault("form", IncidentChangeForm)
        form = super().get_form(request, obj, change=change, **kwargs)
        form.reporter = request.user
        return form

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # A device of a confidential project not open to the person is not theirs to pick.
        if db_field.name == "device":
            kwargs["queryset"] = Device.objects.visible_to(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return self.add_fieldsets
        if getattr(request, "_past_version", False):
            return self.past_version_fieldsets
        return super().get_fieldsets(request, obj)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        request._past_version = True
        return super().history_form_view(request, object_id, version_id, extra_context)

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        if not rules.can_edit_incident(obj, request.user):
            # Closed means closed: the page reads as the incident ended (incident_update
            # refuses any change too, with the same rule).
            return flatten_fieldsets(self.get_fieldsets(request, obj))
        return [*self.readonly_fields, "device", "opened_at", "reporter"]

    def has_delete_permission(self, request, obj=None) -> bool:
        # Incidents are cancelled. A superuser may still delete one (after Django's
        # confirmation page); its timeline, records, results and history stay.
        return request.user.is_superuser and super().has_delete_permission(request, obj)

    def get_deleted_objects(self, objs, request):
        deleted, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        # Notifications only point at the incident and go with it; nobody deletes them alone.
        perms_needed.discard(Notification._meta.verbose_name)
        return deleted, model_count, perms_needed, protected

    def change_view(self, request, object_id, form_url="", extra_context=None):
        incident = self._incident(request, object_id)
        timeline = selectors.incident_timeline(incident)
        extra_context = {
            **(extra_context or {}),
            "custody_warning": selectors.custody_warning(incident),
            "blocked_actions": selectors.blocked_actions(
                incident, request.user, self._facts(request)
            ),
            "device_trail": location_selectors.device_trail(incident.device),
            "timeline": timeline,
            "record_groups": selectors.incident_records_by_stage(incident),
            "graph": selectors.workflow_graph(incident, timeline),
            "summary": _summary(incident, timeline),
            "queue": queues.queue_context(request, incident),
            "station_results": recent_results_context(incident.device, request.user),
            # An incident is opened from the list or a device, never one after another here.
            "show_save_and_add_another": False,
            "similar": similar_context(incident, request.user),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def get_changelist_instance(self, request):
        """The page of incidents, each with its number of unread chat messages for the person
        looking (one query for the whole page)."""
        changelist = super().get_changelist_instance(request)
        count_unread_messages(request, changelist.result_list)
        return changelist

    def get_urls(self):
        download = path(
            "attachment/<uuid:attachment_id>/",
            self.admin_site.admin_view(self.attachment_view),
            name="incidents_attachment_download",
        )
        device_open_incident = path(
            "device-open-incident/",
            self.admin_site.admin_view(self.device_open_incident_view),
            name="incidents_incident_device_open_incident",
        )
        return [download, device_open_incident, *super().get_urls()]

    def attachment_view(self, request, attachment_id):
        """Attachments are served only to people who may see the incident, by unguessable id.
        `?preview=1` asks for a picture's preview, made once on upload: the page's thumbnail
        and the picture opened full size (a picture without one is not found)."""
        attachment = get_object_or_404(
            Attachment.objects.select_related("record__incident"), pk=attachment_id
        )
        if not rules.can_view(attachment.record.incident, request.user):
            raise PermissionDenied
        stored, content_type = attachment.file, attachment.content_type
        if request.GET.get("preview") == "1" and attachment.is_image:
            stored = attachment.preview
            if not stored:
                raise Http404
            content_type = SMALL_PICTURE_TYPES.get(PurePath(stored.name).suffix, "image/png")
        try:
            content = stored.open("rb")
        except FileNotFoundError:  # its file was lost (a restore without the media)
            raise Http404 from None
        response = FileResponse(
            content,
            as_attachment=not attachment.is_image,
            filename=attachment.original_name,
            content_type=content_type,
        )
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        return response

    def save_form(self, request, form, change):
        if change:
            return super().save_form(request, form, change)
        data = form.cleaned_data
        try:
            device = data["device"] or device_register(
                serial_number=data["serial_number"],
                registered_by=request.user,
                project=data["project"],
                location=data["location"],
            )
            return services.incident_open(
                device=device,
                reporter=request.user,
                problem_group=data["problem_group"],
                description=data["description"],
                **{name: data[name] for name in FAILURE_FIELDS},
            )
        except (ValidationError, services.WorkflowError) as error:
            # Someone registered the same device or opened it a moment ago.
            raise IncidentAddRace(str(getattr(error, "message", error))) from error

    def get_changeform_initial_data(self, request):
        """A new device is most likely where the reporter's department works."""
        initial = super().get_changeform_initial_data(request)
        location = selectors.home_location(request.user)
        if location is not None:
            initial.setdefault("location", location.pk)
        return initial

    def device_open_incident_view(self, request):
        """The open incident of the device picked on the add form, if any (JSON)."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        devices = Device.objects.visible_to(request.user)
        device = devices.filter(pk=pk_or_404(request.GET.get("device", ""))).first()
        incident = selectors.device_open_incident(device) if device else None
        if incident is None:
            return JsonResponse({"incident": None})
        return JsonResponse(
            {
                "incident": {
                    "id": incident.pk,
                    "url": reverse("admin:incidents_incident_change", args=[incident.pk]),
                    "stage": incident.get_stage_display(),
                    "message": _(
                        "Device %(serial)s already has an open incident: #%(id)s, %(stage)s."
                    )
                    % {
                        "serial": device.serial_number,
                        "id": incident.pk,
                        "stage": incident.get_stage_display(),
                    },
                    "link": _("Open incident #%(id)s") % {"id": incident.pk},
                }
            }
        )

    def add_view(self, request, form_url="", extra_context=None):
        try:
            return super().add_view(request, form_url, extra_context)
        except IncidentAddRace as error:
            messages.error(request, str(error))
            return HttpResponseRedirect(request.get_full_path())

    def save_model(self, request, obj, form, change) -> None:
        """The change form edits details only, through the service that locks the row and
        writes just those, so it never undoes a transition made meanwhile."""
        if not change:
            return
        data = form.cleaned_data
        changed = {
            name: data[name]
            for name in services.INCIDENT_DETAIL_FIELDS
            if name in form.changed_data and name in data
        }
        if not changed:
            return
        try:
            services.incident_update(incident=obj, by=request.user, **changed)
        except services.WorkflowError as error:
            # Closed or otherwise refused since the form was opened: say so, change nothing.
            request._incident_refused = str(error.message)

    def response_change(self, request, obj):
        refused = getattr(request, "_incident_refused", None)
        if refused:
            messages.error(request, refused)
            return HttpResponseRedirect(request.path)
        return super().response_change(request, obj)

    def save_related(self, request, form, formsets, change) -> None:
        # incident_open or incident_update saved everything the form carries.
        return None

    @display(description=_("incident"), ordering="id")
    def number(self, incident: Incident) -> str:
        return f"#{incident.pk}"

    @display(description=_("unread"))
    def unread_messages(self, incident: Incident) -> str:
        count = getattr(incident, "unread_messages", 0)
        if not count:
            return ""
        return format_html(
            '<span class="adt-badge" title="{}" data-testid="unread">{}</span>',
            _("Unread chat messages"),
            count,
        )

    @display(description=_("stage"), ordering="stage")
    def stage_label(self, incident: Incident) -> str:
        return format_html(
            '<span class="adt-stage-step">{}{}</span>',
            label_html((incident.stage, incident.get_stage_display()), "—", STAGE_COLORS),
            label_html((incident.step, incident.get_step_display()), "—", STEP_COLORS),
        )

    @display(description=_("reporter"))
    def reported_by(self, incident: Incident) -> str:
        return _reported_by(incident)

    @display(description=_("stage"))
    def current_stage(self, incident: Incident) -> str:
        return incident.get_stage_display()

    @display(description=_("step"))
    def current_step(self, incident: Incident) -> str:
        return incident.get_step_display()

    @display(description=_("assignee"), ordering="assignee__display_name")
    def assignee_name(self, incident: Incident) -> str:
        return incident.assignee.get_full_name() if incident.assignee else "—"

    @display(description=_("problem group"), ordering="problem_group__number")
    def problem_group_number(self, incident: Incident) -> str:
        return incident.problem_group.number if incident.problem_group else "—"

    @display(description=_("fail item"), ordering="fail_item")
    def fail_item(self, incident: Incident) -> str:
        return incident.fail_item


def _summary(incident: Incident, timeline) -> dict:
    """The top of the incident page (summary.html): the selector's answers and how to show them."""
    stage_work_location = selectors.stage_work_location(incident) if incident.is_open else None
    return {
        **selectors.incident_summary(incident, timeline),
        "stage_color": STAGE_COLORS.get(incident.stage, "default"),
        "step_color": STEP_COLORS.get(incident.step, "default"),
        # False: imported without the time it entered its stage.
        "time_in_stage": incident.stage_entered_known
        and timesince(incident.stage_entered_at, depth=1),
        "test_log_is_link": incident.test_log_url.lower().startswith(("http://", "https://")),
        "at_work_location": stage_work_location is not None
        and incident.device.location_id == stage_work_location.pk,
        "reported_by": _reported_by(incident),
    }


def _reported_by(incident: Incident) -> str:
    """Who reported the incident: a person, or the line's station that opened it."""
    if line := selectors.incident_reported_by_line(incident):
        return _("Line · %(name)s") % {"name": line}
    return incident.reporter.get_full_name() if incident.reporter else "—"


def count_unread_messages(request, incidents) -> None:
    """Each of `incidents` (a list's page) with its number of unread chat messages for the
    person looking, as `unread_messages`: one query for the whole page."""
    page = list(incidents)
    unread = contributions.unread_by_incident(request.user, [i.pk for i in page])
    for incident in page:
        incident.unread_messages = unread.get(incident.pk, 0)


class IncidentAddRace(Exception):
    """The add form was valid but the device changed before it was saved."""
