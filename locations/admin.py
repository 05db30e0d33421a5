"""The physical world's admin, knowing no workflow: the plain location and device admins
(custody, moves, labels, trails, the scan station's pages), registered by no one here.
`incidents.admin.devices` registers them, adding what the workflow knows of a device (its
failures, its open stage, opening incidents), the import/export buttons and who may see which
device (confidential projects) through the `visible` and `scan_station` hooks."""

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseRedirect
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
from locations import reasons, selectors
from locations.history_admin import TrailHistoryAdmin
from locations.label_admin import LabelAdminMixin
from locations.models import DEVICE_DETAIL_FIELDS, Device, Location
from locations.scanning import ScanStation
from locations.serials import MAX_REASON_LENGTH, MAX_SERIAL_LENGTH, device_serial_correct
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


class DevicesSeenMixin:
    """The hook through which the registered admin narrows devices (and their past versions)
    to those a person may see: this floor knows no restriction, so here it is all of them."""

    def visible(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset


class LocationForm(forms.ModelForm):
    class Meta:
        model = Location
        fields = ["code", "name", "kind", "parent", "is_active"]

    def clean_parent(self):
        parent = self.cleaned_data["parent"]
        if self.instance.pk and location_would_cycle(location=self.instance, parent=parent):
            raise forms.ValidationError(_("A location cannot sit inside itself."))
        return parent


class LocationAdminBase(
    AutocompleteKeysMixin,
    DevicesSeenMixin,
    BoundedSearchMixin,
    LeanListMixin,
    KeptInTrailsAdminMixin,
    LabelAdminMixin,
    SpreadsheetAdminMixin,
    ImportExportModelAdmin,
    TrailHistoryAdmin,
    ModelAdmin,
):
    """Places: their tree, labels, trail and deactivation, each with the devices there now that
    the reader may see (`visible`)."""

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
    actions = ["print_labels", "deactivate_selected"]
    actions_detail = LABEL_ACTIONS

    def get_queryset(self, request):
        devices = self.visible(request, Device.objects.all())
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
    the custody rules and a trail entry."""

    class Meta:
        model = Device
        fields = list(DEVICE_DETAIL_FIELDS)


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


class DeviceSerialForm(forms.Form):
    """The Correct serial number button's form: the serial the device should have had, and why
    (the serial it has now stays its alias)."""

    serial_number = forms.CharField(
        label=_("Corrected serial number"),
        max_length=MAX_SERIAL_LENGTH,
        widget=UnfoldAdminTextInputWidget,
        help_text=_(
            "Labels printed from now on carry it; the serial it has now still finds the device "
            "(scans, searches, imports)."
        ),
    )
    reason = forms.CharField(
        label=_("Reason for the correction"),
        max_length=MAX_REASON_LENGTH,
        widget=UnfoldAdminTextInputWidget,
        help_text=_("Kept in the device's trail and in the configuration audit."),
    )


class DeviceAdminBase(
    AutocompleteKeysMixin,
    DevicesSeenMixin,
    LabelAdminMixin,
    IndexedSearchMixin,
    LeanListMixin,
    SpreadsheetAdminMixin,
    ImportExportModelAdmin,
    TrailHistoryAdmin,
    ModelAdmin,
):
    """Devices: registering one, what it is, where it is and who holds it (changed only by a
    move, with a reason), its labels and trail, and the scan station's pages. Only the devices
    the reader may see (`visible`); the scan station asks `scan_station` for the session."""

    export_form_class = ExportForm
    add_form = DeviceForm
    change_form = DeviceChangeForm
    form = DeviceForm
    list_display = ["serial_number", "project", "hardware_version", "location", "holder"]
    list_filter = [
        ("location", AutocompleteSelectFilter),
        ("holder", AutocompleteSelectFilter),
    ]
    list_filter_submit = True
    search_fields = [
        "serial_number",
        # A serial number the device had before a correction still finds it.
        "aliases__serial_number",
        "project",
        "hardware_version",
        "location__code",
        "location__name",
        "holder__employee_number",
        "holder__display_name",
    ]
    autocomplete_fields = ["location", "holder"]
    list_select_related = ["location", "holder"]
    actions = ["print_labels"]
    actions_detail = ["move_action", "correct_serial_action", *LABEL_ACTIONS]
    change_form_outer_after_template = "locations/device_trail.html"
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "serial_number",
                    "also_known_as",
                    "project",
                    "hardware_version",
                    "rom_version",
                    "config",
                )
            },
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

    def scan_station(self, request: HttpRequest) -> ScanStation:
        """The person's scanning session. The registered admin adds what other parts of the
        product know of a device and whether the person may handle it at all."""
        return ScanStation(request.session, request.user)

    def get_queryset(self, request):
        return self.visible(request, super().get_queryset(request))

    def visible_history(self, request, records):
        return self.visible(request, records)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        device = self.get_object(request, object_id)
        extra_context = {
            **(extra_context or {}),
            "trail": selectors.device_trail(device) if device else [],
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = self.change_form if obj is not None else self.add_form
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fieldsets(self, request, obj=None):
        return self.fieldsets if obj is not None else self.add_fieldsets

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is None:
            return readonly
        return [*readonly, "serial_number", "also_known_as", "location", "holder"]

    @display(description=_("also known as"))
    def also_known_as(self, device: Device) -> str:
        """The serial numbers the device had before a correction, newest first."""
        former = [alias.serial_number for alias in device.aliases.all()]
        return ", ".join(former) or "—"

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
        # The device has no many-to-many fields; its inlines are read-only.
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

    def has_move_permission(self, request, object_id=None) -> bool:
        return request.user.has_perm("locations.move_device")

    @action(
        description=_("Correct serial number"),
        url_path="correct-serial",
        icon="edit_note",
        permissions=["correct_serial"],
    )
    def correct_serial_action(self, request, object_id):
        """Correct a serial number mistyped at registration, with a reason, through
        device_serial_correct (which refuses whoever may not, whatever path they came by)."""
        device = get_object_or_404(self.get_queryset(request), pk=pk_or_404(object_id))
        change_url = reverse("admin:locations_device_change", args=[device.pk])
        form = DeviceSerialForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            old = device.serial_number
            try:
                device = device_serial_correct(
                    device=device,
                    serial_number=form.cleaned_data["serial_number"],
                    reason=form.cleaned_data["reason"],
                    by=request.user,
                )
            except ValidationError as error:
                form.add_error(None, error.messages)
            else:
                messages.success(
                    request,
                    _("%(old)s is now %(new)s; %(old)s still finds it.")
                    % {"old": old, "new": device.serial_number},
                )
                return HttpResponseRedirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": device,
            "aliases": [alias.serial_number for alias in device.aliases.all()],
            "title": _("Correct the serial number of %(serial)s")
            % {"serial": device.serial_number},
            "form": form,
            "media": self.media + form.media,
            "change_url": change_url,
        }
        return TemplateResponse(request, "admin/locations/device/serial_form.html", context)

    def has_correct_serial_permission(self, request, object_id=None) -> bool:
        """Who is offered the button; the registered admin asks the rules. The service refuses
        whoever the rules do not allow, whatever this says."""
        return request.user.is_active and request.user.is_superuser
