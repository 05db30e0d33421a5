"""The device and location admins as the product registers them: locations' plain admins (custody,
moves, labels, trails, the scan station) with what the workflow adds. A device's page lists its
failures and its list the open incident's stage and the last fail item; devices open incidents in
bulk; the scan station shows the waiting stage; lists, pages, trails, filters and the scan
station hold only the devices of projects open to the reader; and the import/export buttons
read and write the legacy workbook's sheets."""

from django import forms
from django.contrib import admin, messages
from django.db.models import F, FilteredRelation, OuterRef, Q, Subquery
from django.utils.translation import gettext_lazy as _
from unfold.contrib.filters.admin import AutocompleteSelectFilter
from unfold.decorators import action, display

from incidents import access, rules
from incidents import services as incident_services
from incidents.admin.incidents import STAGE_COLORS
from incidents.admin.inlines import ReadOnlyInline
from incidents.choices import OPEN_STAGES, Stage
from incidents.models import Incident
from incidents.resources import DeviceResource, LocationResource
from incidents.selectors import scan_station_device_status
from locations import selectors as location_selectors
from locations.admin import DeviceAdminBase, LocationAdminBase
from locations.admin import DeviceChangeForm as PlainDeviceChangeForm
from locations.models import Device, Location
from locations.scanning import ScanStation


class DeviceInline(ReadOnlyInline):
    model = Device
    fk_name = "location"
    fields = ["serial_number", "project", "hardware_version", "holder"]
    verbose_name_plural = _("devices here now")


@admin.register(Location)
class LocationAdmin(LocationAdminBase):
    resource_classes = [LocationResource]
    inlines = [DeviceInline]

    def visible(self, request, queryset):
        return access.restrict(queryset, request.user)


class DeviceKindFilter(admin.AllValuesFieldListFilter):
    """The device list's project or hardware-version filter, offering the values of the devices
    the reader may see, as Django's does, but read through `selectors.device_kinds` (one index
    walk shared by both filters of a request) instead of a distinct over every device."""

    def __init__(self, field, request, params, model, model_admin, field_path):
        super().__init__(field, request, params, model, model_admin, field_path)
        kinds = getattr(request, "_device_kinds", None)
        if kinds is None:
            sees = access.sees_project(request.user)
            kinds = [kind for kind in location_selectors.device_kinds() if sees(kind[0])]
            request._device_kinds = kinds
        column = 0 if field_path == "project" else 1
        self.lookup_choices = sorted({kind[column] for kind in kinds})


class IncidentInline(ReadOnlyInline):
    """The device's failures, one per incident, newest first: each failure is a fact of its
    incident (a device that was repaired can fail again on another station)."""

    model = Incident
    fields = ["failed_at", "fail_station", "fail_item", "stage", "problem_group", "closed_at"]
    ordering = ["-opened_at", "-id"]
    verbose_name = _("failure")
    verbose_name_plural = _("failures")


class DeviceChangeForm(PlainDeviceChangeForm):
    """What a device is; a project changed across a restriction is refused here with the reason
    (DeviceAdmin.get_form sets who is editing)."""

    person = None

    def clean_project(self):
        project = self.cleaned_data["project"]
        reason = access.project_change_refusal(self.instance, project, self.person)
        if reason:
            raise forms.ValidationError(reason)
        return project


@admin.register(Device)
class DeviceAdmin(DeviceAdminBase):
    resource_classes = [DeviceResource]
    change_form = DeviceChangeForm
    list_display = [
        "serial_number",
        "project",
        "hardware_version",
        "last_fail_item",
        "location",
        "holder",
        "open_stage",
    ]
    list_filter = [
        ("project", DeviceKindFilter),
        ("hardware_version", DeviceKindFilter),
        ("location", AutocompleteSelectFilter),
        ("holder", AutocompleteSelectFilter),
    ]
    search_fields = [
        "serial_number",
        # A serial number the device had before a correction still finds it.
        "aliases__serial_number",
        "project",
        "hardware_version",
        "incidents__fail_item",
        "location__code",
        "location__name",
        "holder__employee_number",
        "holder__display_name",
    ]
    inlines = [IncidentInline]
    actions = ["open_incidents", "print_labels"]

    def visible(self, request, queryset):
        return access.restrict(queryset, request.user)

    def scan_station(self, request) -> ScanStation:
        """The person's scanning session, with what the workflow knows of a device (for those who
        see incidents) and whether its project is open to them."""
        sees_incidents = request.user.has_perm("incidents.view_incident")
        return ScanStation(
            request.session,
            request.user,
            # Someone who only moves devices is not told about incidents.
            scan_station_device_status if sees_incidents else None,
            may_handle=lambda device: access.may_see_device(device, request.user),
        )

    def get_queryset(self, request):
        open_stage = Incident.objects.filter(device=OuterRef("pk"), stage__in=OPEN_STAGES)
        newest = Incident.objects.filter(device=OuterRef("pk")).order_by("-opened_at", "-id")
        return (
            super()
            .get_queryset(request)
            .annotate(
                open_stage=Subquery(open_stage.values("stage")[:1]),
                last_fail_item=Subquery(newest.values("fail_item")[:1]),
            )
            # The list sorted by the open stage joins the open incident (a device has at most
            # one, incident_one_open_per_device): one hash join, where ordering by the
            # subquery ran it for every device (0.5 s at 80,000). Joined only when sorting.
            .alias(
                open_incident=FilteredRelation(
                    "incidents", condition=Q(incidents__stage__in=OPEN_STAGES)
                )
            )
        )

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.person = request.user
        return form

    def has_correct_serial_permission(self, request, object_id=None) -> bool:
        return rules.may_correct_serial(request.user)

    @display(description=_("open incident"), ordering=F("open_incident__stage"), label=STAGE_COLORS)
    def open_stage(self, device: Device):
        if not device.open_stage:
            return "—"
        return device.open_stage, Stage(device.open_stage).label

    @display(description=_("last fail item"))
    def last_fail_item(self, device: Device) -> str:
        """What the device failed on last time: its newest incident's fail item."""
        return device.last_fail_item or "—"

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
