from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count, OuterRef, Subquery
from django.urls import path
from django.utils.translation import gettext_lazy as _
from import_export.admin import ImportExportModelAdmin
from unfold.admin import ModelAdmin
from unfold.contrib.filters.admin import (
    AutocompleteSelectFilter,
    ChoicesCheckboxFilter,
    RelatedDropdownFilter,
)
from unfold.contrib.import_export.forms import ExportForm
from unfold.decorators import action, display
from unfold.widgets import UnfoldAdminTextInputWidget

from config.history_admin import KeptInTrailsAdminMixin, ReadOnlyHistoryAdmin
from config.lists import LeanListMixin
from config.spreadsheets import SpreadsheetAdminMixin
from incidents import services as incident_services
from incidents.admin import STAGE_COLORS
from incidents.admin.inlines import ReadOnlyInline
from incidents.choices import OPEN_STAGES, Stage
from incidents.models import Incident
from locations import reasons, selectors
from locations.label_admin import LabelAdminMixin
from locations.models import DEVICE_DETAIL_FIELDS, Device, Location
from locations.resources import DeviceResource, LocationResource
from locations.services import custody_check, location_update, location_would_cycle
from locations.views import ScanCommandSheetView, ScanStationApiView, ScanStationView

LABEL_ACTIONS = ["label_png_action", "label_svg_action"]


class DeviceInline(ReadOnlyInline):
    model = Device
    fk_name = "location"
    fields = ["serial_number", "project", "holder", "fail_item"]
    verbose_name_plural = _("devices here now")


class LocationForm(forms.ModelForm):
    class Meta:
        model = Location
        fields = ["code", "name", "kind", "parent", "is_active"]

    def clean_parent(self):
        parent = self.cleaned_data["parent"]
        if self.instance.pk and location_would_cycle(location=self.instance, parent=parent):
            raise forms.ValidationError(_("A location cannot sit inside itself."))
        return parent


@admin.register(Location)
class LocationAdmin(
    KeptInTrailsAdminMixin,
    LabelAdminMixin,
    SpreadsheetAdminMixin,
    ImportExportModelAdmin,
    ReadOnlyHistoryAdmin,
    ModelAdmin,
):
    resource_classes = [LocationResource]
    export_form_class = ExportForm
    form = LocationForm
    list_display = ["code", "name", "kind", "parent", "device_count", "is_active"]
    list_display_links = ["code", "name"]
    list_filter = [("kind", ChoicesCheckboxFilter), "is_active", ("parent", RelatedDropdownFilter)]
    search_fields = ["code", "name"]
    autocomplete_fields = ["parent"]
    list_select_related = ["parent"]
    inlines = [DeviceInline]
    actions = ["print_labels", "deactivate_selected"]
    actions_detail = LABEL_ACTIONS

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(device_count=Count("devices"))

    def deactivate(self, request, obj: Location) -> str | None:
        try:
            location_update(
                location=obj,
                by=request.user,
                is_active=False,
                reason=reasons.encode(reasons.DEACTIVATED),
            )
        except ValidationError as error:
            return f"{obj.code}: {' '.join(error.messages)}"
        return None

    @display(description=_("devices"), ordering="device_count")
    def device_count(self, location: Location) -> int:
        return location.device_count


class IncidentInline(ReadOnlyInline):
    model = Incident
    fields = ["stage", "problem_group", "opened_at", "closed_at"]


class DeviceForm(forms.ModelForm):
    move_reason = forms.CharField(
        label=_("Reason for the move"),
        required=False,
        max_length=100,
        widget=UnfoldAdminTextInputWidget,
        help_text=_("Kept in the device's trail when its location or holder changes."),
    )

    class Meta:
        model = Device
        fields = ["serial_number", *DEVICE_DETAIL_FIELDS, "location", "holder"]

    def clean(self):
        data = super().clean()
        changed = {"location", "holder"} & set(self.changed_data)
        try:
            custody_check(
                location=data.get("location") if "location" in changed else None,
                holder=data.get("holder") if "holder" in changed else None,
            )
        except ValidationError as error:
            raise forms.ValidationError(error.messages) from error
        return data


@admin.register(Device)
class DeviceAdmin(
    LabelAdminMixin,
    LeanListMixin,
    SpreadsheetAdminMixin,
    ImportExportModelAdmin,
    ReadOnlyHistoryAdmin,
    ModelAdmin,
):
    resource_classes = [DeviceResource]
    export_form_class = ExportForm
    form = DeviceForm
    list_display = [
        "serial_number",
        "project",
        "hardware_version",
        "fail_item",
        "location",
        "holder",
        "open_stage",
    ]
    list_filter = [
        "project",
        "hardware_version",
        ("location", AutocompleteSelectFilter),
        ("holder", AutocompleteSelectFilter),
    ]
    search_fields = [
        "serial_number",
        "project",
        "fail_item",
        "location__code",
        "holder__employee_number",
        "holder__display_name",
    ]
    autocomplete_fields = ["location", "holder"]
    list_select_related = ["location", "holder"]
    inlines = [IncidentInline]
    actions = ["open_incidents", "print_labels"]
    actions_detail = LABEL_ACTIONS
    change_form_outer_after_template = "locations/device_trail.html"
    fieldsets = (
        (
            None,
            {"fields": ("serial_number", "project", "hardware_version", "rom_version", "config")},
        ),
        (_("Failure"), {"fields": ("fail_station", "fail_item", "test_log_url")}),
        (_("Custody"), {"fields": ("location", "holder", "move_reason")}),
    )

    def get_urls(self):
        return [
            path(
                "scan/",
                self.admin_site.admin_view(ScanStationView.as_view(model_admin=self)),
                name="locations_device_scan",
            ),
            path(
                "scan/api/",
                self.admin_site.admin_view(ScanStationApiView.as_view(model_admin=self)),
                name="locations_device_scan_api",
            ),
            path(
                "scan/commands/",
                self.admin_site.admin_view(ScanCommandSheetView.as_view(model_admin=self)),
                name="locations_device_scan_commands",
            ),
            *super().get_urls(),
        ]

    def get_queryset(self, request):
        open_stage = Incident.objects.filter(device=OuterRef("pk"), stage__in=OPEN_STAGES)
        return (
            super()
            .get_queryset(request)
            .annotate(open_stage=Subquery(open_stage.values("stage")[:1]))
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        device = self.get_object(request, object_id)
        extra_context = {
            **(extra_context or {}),
            "trail": selectors.device_trail(device) if device else [],
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change) -> None:
        if {"location", "holder"} & set(form.changed_data):
            obj._change_reason = form.cleaned_data.get("move_reason", "")
        super().save_model(request, obj, form, change)

    @display(description=_("open incident"), ordering="open_stage", label=STAGE_COLORS)
    def open_stage(self, device: Device):
        if not device.open_stage:
            return "—"
        return device.open_stage, Stage(device.open_stage).label

    def has_open_incidents_permission(self, request) -> bool:
        return request.user.has_perm("incidents.add_incident")

    @action(
        description=_("Open an incident for each selected device"),
        permissions=["open_incidents"],
    )
    def open_incidents(self, request, queryset):
        opened, refused = [], []
        for device in queryset.order_by("serial_number"):
            try:
                incident = incident_services.incident_open(device=device, reporter=request.user)
            except incident_services.WorkflowError as error:
                refused.append(error.message)
            else:
                opened.append(f"#{incident.pk} {device.serial_number}")
        if opened:
            messages.success(
                request,
                _("Opened %(count)d incident(s): %(list)s")
                % {"count": len(opened), "list": ", ".join(opened)},
            )
        for reason in refused:
            messages.warning(request, reason)
