from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import OuterRef, Subquery
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from import_export.admin import ImportExportModelAdmin
from unfold.admin import ModelAdmin
from unfold.contrib.filters.admin import (
    AutocompleteSelectFilter,
    ChoicesCheckboxFilter,
)
from unfold.contrib.import_export.forms import ExportForm
from unfold.decorators import action, display
from unfold.widgets import UnfoldAdminSelect2Widget, UnfoldAdminTextInputWidget

from config.kit.history_admin import KeptInTrailsAdminMixin
from config.kit.ids import pk_or_404
from config.kit.lists import LeanListMixin, counted
from config.kit.search import BoundedSearchMixin, IndexedSearchMixin
from config.kit.spreadsheets import SpreadsheetAdminMixin
from config.kit.widgets import AutocompleteKeysMixin
from incidents import access
from incidents import services as incident_services
from incidents.admin import STAGE_COLORS
from incidents.admin.inlines import ReadOnlyInline
from incidents.choices import OPEN_STAGES, Stage
from incidents.models import Incident
from locations import reasons, selectors
from locations.history_admin import TrailHistoryAdmin
from locations.label_admin import LabelAdminMixin
from locations.models import DEVICE_DETAIL_FIELDS, Device, Location
from locations.resources import DeviceResource, LocationResource
from locations.services import (
    custody_check,
    device_move,
    device_register,
    device_update,
    location_update,
    location_would_cycle,
)
from locations.views import ScanCommandSheetView, ScanStationApiView, ScanStationView

LABEL_ACTIONS = ["label_png_action", "label_svg_action"]


class DeviceInline(ReadOnlyInline):
    model = Device
    fk_name = "location"
    fields = ["serial_number", "project", "hardware_version", "holder"]
    verbose_name_plural = _("devices here now")


class DeviceKindFilter(admin.AllValuesFieldListFilter):
    """The device list's project or hardware-version filter, offering the values of the devices
    the reader may see, as Django's does, but read through `selectors.device_kinds` (one index
    walk shared by both filters of a request) instead of a distinct over every device."""

    def __init__(self, field, request, params, model, model_admin, field_path):
        super().__init__(field, request, params, model, model_admin, field_path)
        kinds = getattr(request, "_device_kinds", None)
        if kinds is None:
            sees = access.sees_project(request.user)
            kinds = [kind for kind in selectors.device_kinds() if sees(kind[0])]
            request._device_kinds = kinds
        column = 0 if field_path == "project" else 1
        self.lookup_choices = sorted({kind[column] for kind in kinds})


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
    AutocompleteKeysMixin,
    BoundedSearchMixin,
    LeanListMixin,
    KeptInTrailsAdminMixin,
    LabelAdminMixin,
    SpreadsheetAdminMixin,
    ImportExportModelAdmin,
    TrailHistoryAdmin,
    ModelAdmin,
):
    resource_classes = [LocationResource]
    export_form_class = ExportForm
    form = LocationForm
    list_display = ["code", "name", "kind", "parent", "device_count", "is_active"]
    list_display_links = ["code", "name"]
    # Places within a place are typed for (a factory has hundreds of places).
    list_filter = [
        ("kind", ChoicesCheckboxFilter),
        "is_active",
        ("parent", AutocompleteSelectFilter),
    ]
    # Unfold's typed and ticked filters are form fields: they apply with the panel's button.
    list_filter_submit = True
    search_fields = ["code", "name"]
    autocomplete_fields = ["parent"]
    list_select_related = ["parent"]
    inlines = [DeviceInline]
    actions = ["print_labels", "deactivate_selected"]
    actions_detail = LABEL_ACTIONS

    def get_queryset(self, request):
        devices = access.restrict(Device.objects.all(), request.user)
        return super().get_queryset(request).annotate(device_count=counted(devices, "location"))

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
    """The device's failures, one per incident, newest first: each failure is a fact of its
    incident (a device that was repaired can fail again on another station)."""

    model = Incident
    fields = ["failed_at", "fail_station", "fail_item", "stage", "problem_group", "closed_at"]
    ordering = ["-opened_at", "-id"]
    verbose_name = _("failure")
    verbose_name_plural = _("failures")


class DeviceForm(forms.ModelForm):
    """Registering a device: what it is, and where it is and who holds it to begin with."""

    class Meta:
        model = Device
        fields = ["serial_number", *DEVICE_DETAIL_FIELDS, "location", "holder"]

    def clean(self):
        data = super().clean()
        try:
            custody_check(location=data.get("location"), holder=data.get("holder"))
        except ValidationError as error:
            raise forms.ValidationError(error.messages) from error
        return data


class DeviceChangeForm(forms.ModelForm):
    """What a device is, and nothing else: its serial number names it on labels and in trails,
    and its place and holder change only by a move (the Move button, the scan station), with
    the custody rules and a trail entry. A project changed across a restriction is refused
    here with the reason (DeviceAdmin.get_form sets who is editing)."""

    person = None

    class Meta:
        model = Device
        fields = list(DEVICE_DETAIL_FIELDS)

    def clean_project(self):
        project = self.cleaned_data["project"]
        reason = access.project_change_refusal(self.instance, project, self.person)
        if reason:
            raise forms.ValidationError(reason)
        return project


class DeviceMoveForm(forms.Form):
    """The Move button's form: where the device goes and/or who takes it, and why."""

    location = forms.ModelChoiceField(
        label=_("New location"),
        queryset=Location.objects.filter(is_active=True),
        required=False,
        widget=UnfoldAdminSelect2Widget,
    )
    holder = forms.ModelChoiceField(
        label=_("New holder"),
        queryset=get_user_model().objects.filter(is_active=True),
        required=False,
        widget=UnfoldAdminSelect2Widget,
    )
    reason = forms.CharField(
        label=_("Reason for the move"),
        max_length=reasons.MAX_LENGTH,
        widget=UnfoldAdminTextInputWidget,
        help_text=_("Kept in the device's trail."),
    )

    def __init__(self, *args, device: Device, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["location"].help_text = _("Leave empty to keep it at %(where)s.") % {
            "where": device.location or _("no known place")
        }
        self.fields["holder"].help_text = _("Leave empty to keep %(holder)s as its holder.") % {
            "holder": device.holder.get_full_name() if device.holder else _("nobody")
        }


@admin.register(Device)
class DeviceAdmin(
    AutocompleteKeysMixin,
    LabelAdminMixin,
    IndexedSearchMixin,
    LeanListMixin,
    SpreadsheetAdminMixin,
    ImportExportModelAdmin,
    TrailHistoryAdmin,
    ModelAdmin,
):
    resource_classes = [DeviceResource]
    export_form_class = ExportForm
    form = DeviceForm
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
    list_filter_submit = True
    search_fields = [
        "serial_number",
        "project",
        "hardware_version",
        "incidents__fail_item",
        "location__code",
        "location__name",
        "holder__employee_number",
        "holder__display_name",
    ]
    autocomplete_fields = ["location", "holder"]
    list_select_related = ["location", "holder"]
    inlines = [IncidentInline]
    actions = ["open_incidents", "print_labels"]
    actions_detail = ["move_action", *LABEL_ACTIONS]
    change_form_outer_after_template = "locations/device_trail.html"
    fieldsets = (
        (
            None,
            {"fields": ("serial_number", "project", "hardware_version", "rom_version", "config")},
        ),
        (
            _("Custody"),
            {
                "fields": ("location", "holder"),
                "description": _(
                    "Where the device is and who holds it change only by a move: the Move "
                    "button above or the scan station, each with a reason kept in the trail."
                ),
            },
        ),
    )
    add_fieldsets = (
        (
            None,
            {"fields": ("serial_number", "project", "hardware_version", "rom_version", "config")},
        ),
        (_("Custody"), {"fields": ("location", "holder")}),
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
        newest = Incident.objects.filter(device=OuterRef("pk")).order_by("-opened_at", "-id")
        devices = (
            super()
            .get_queryset(request)
            .annotate(
                open_stage=Subquery(open_stage.values("stage")[:1]),
                last_fail_item=Subquery(newest.values("fail_item")[:1]),
            )
        )
        return access.restrict(devices, request.user)

    def visible_history(self, request, records):
        return access.restrict(records, request.user)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        device = self.get_object(request, object_id)
        extra_context = {
            **(extra_context or {}),
            "trail": selectors.device_trail(device) if device else [],
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = DeviceChangeForm if obj is not None else DeviceForm
        form = super().get_form(request, obj, change=change, **kwargs)
        form.person = request.user
        return form

    def get_fieldsets(self, request, obj=None):
        return self.fieldsets if obj is not None else self.add_fieldsets

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        return [*readonly, "serial_number", "location", "holder"] if obj is not None else readonly

    def save_form(self, request, form, change):
        # Nothing is written before the inlines are checked too (save_model writes): a page
        # shown again with an error (its inline's counts tampered with) left the device saved.
        return form.save(commit=False)

    def save_model(self, request, obj, form, change) -> None:
        """A new device is registered, a known one gets only its descriptive fields written,
        each through its service: the form never writes where a device is or who holds it."""
        data = form.cleaned_data
        if change:
            device_update(
                device=obj,
                by=request.user,
                **{name: data[name] for name in form.changed_data if name in DEVICE_DETAIL_FIELDS},
            )
            return
        device = device_register(
            serial_number=data["serial_number"],
            registered_by=request.user,
            location=data.get("location"),
            holder=data.get("holder"),
            **{name: data[name] for name in DEVICE_DETAIL_FIELDS},
        )
        # The page goes on with the device as registered (its address, the log of the addition).
        obj.pk = device.pk
        obj.refresh_from_db()

    def save_related(self, request, form, formsets, change) -> None:
        # The device has no many-to-many fields; its inline (incidents) is read-only.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    @action(
        description=_("Move"),
        url_path="move",
        icon="swap_horiz",
        permissions=["move"],
    )
    def move_action(self, request, object_id):
        """Move the device to a place and/or a person, with a reason, as the scan station
        does: through device_move, its custody rules and its trail."""
        device = get_object_or_404(
            self.get_queryset(request).select_related("location", "holder"),
            pk=pk_or_404(object_id),
        )
        change_url = reverse("admin:locations_device_change", args=[device.pk])
        form = DeviceMoveForm(request.POST or None, device=device)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                device = device_move(
                    device=device,
                    moved_by=request.user,
                    location=data["location"],
                    holder=data["holder"],
                    reason=data["reason"],
                )
            except ValidationError as error:
                form.add_error(None, error.messages)
            else:
                messages.success(
                    request,
                    _("%(serial)s is now at %(where)s, held by %(holder)s.")
                    % {
                        "serial": device.serial_number,
                        "where": device.location or _("no known place"),
                        "holder": device.holder.get_full_name() if device.holder else _("nobody"),
                    },
                )
                return HttpResponseRedirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": device,
            "title": _("Move %(serial)s") % {"serial": device.serial_number},
            "form": form,
            "media": self.media + form.media,
            "change_url": change_url,
        }
        return TemplateResponse(request, "admin/locations/device/move_form.html", context)

    @display(description=_("open incident"), ordering="open_stage", label=STAGE_COLORS)
    def open_stage(self, device: Device):
        if not device.open_stage:
            return "—"
        return device.open_stage, Stage(device.open_stage).label

    @display(description=_("last fail item"))
    def last_fail_item(self, device: Device) -> str:
        """What the device failed on last time: its newest incident's fail item."""
        return device.last_fail_item or "—"

    def has_move_permission(self, request, object_id=None) -> bool:
        return request.user.has_perm("locations.move_device")

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
