from django import forms
from django.contrib import admin, messages
from django.db.models import Count, OuterRef, Subquery
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin
from unfold.admin import ModelAdmin, TabularInline
from unfold.contrib.filters.admin import (
    AutocompleteSelectFilter,
    ChoicesCheckboxFilter,
    RelatedDropdownFilter,
)
from unfold.decorators import action, display

from incidents import services as incident_services
from incidents.admin import STAGE_COLORS
from incidents.choices import OPEN_STAGES, Stage
from incidents.models import Incident
from locations.models import Device, Location
from locations.services import location_would_cycle


class DeviceInline(TabularInline):
    model = Device
    fk_name = "location"
    fields = ["serial_number", "project", "holder", "fail_item"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True
    verbose_name_plural = _("devices here now")

    def has_add_permission(self, request, obj=None) -> bool:
        return False


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
class LocationAdmin(SimpleHistoryAdmin, ModelAdmin):
    form = LocationForm
    list_display = ["code", "name", "kind", "parent", "device_count", "is_active"]
    list_display_links = ["code", "name"]
    list_filter = [("kind", ChoicesCheckboxFilter), "is_active", ("parent", RelatedDropdownFilter)]
    search_fields = ["code", "name"]
    autocomplete_fields = ["parent"]
    list_select_related = ["parent"]
    inlines = [DeviceInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(device_count=Count("devices"))

    @display(description=_("devices"), ordering="device_count")
    def device_count(self, location: Location) -> int:
        return location.device_count


class IncidentInline(TabularInline):
    model = Incident
    fields = ["stage", "problem_group", "opened_at", "closed_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Device)
class DeviceAdmin(SimpleHistoryAdmin, ModelAdmin):
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
    actions = ["open_incidents"]
    fieldsets = (
        (
            None,
            {"fields": ("serial_number", "project", "hardware_version", "rom_version", "config")},
        ),
        (_("Failure"), {"fields": ("fail_station", "fail_item", "test_log_url")}),
        (_("Custody"), {"fields": ("location", "holder")}),
    )

    def get_queryset(self, request):
        open_stage = Incident.objects.filter(device=OuterRef("pk"), stage__in=OPEN_STAGES)
        return (
            super()
            .get_queryset(request)
            .annotate(open_stage=Subquery(open_stage.values("stage")[:1]))
        )

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
