import unicodedata

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from locations.choices import LocationKind
from locations.fields import CodeField, CodeKeyField, code_key
from locations.visibility import ProjectRowsManager


class Location(models.Model):
    """A place a device can be: building, area, shelf or lab, identified by its QR label code."""

    code = CodeField(
        _("code"), max_length=64, help_text=_("The code on the QR label, e.g. WH-B2-05.")
    )
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(
        _("kind"), max_length=16, choices=LocationKind.choices, default=LocationKind.AREA
    )
    parent = models.ForeignKey(
        "locations.Location",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("parent"),
    )
    is_active = models.BooleanField(
        _("active"), default=True, help_text=_("Inactive locations cannot receive devices.")
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["code"]
        verbose_name = _("location")
        verbose_name_plural = _("locations")
        constraints = [
            models.UniqueConstraint(
                fields=["code"],
                name="location_code_unique",
                violation_error_message=_("A location with this code already exists."),
            ),
            models.CheckConstraint(
                condition=~Q(parent=F("id")),
                name="location_not_own_parent",
                violation_error_message=_("A location cannot be its own parent."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"

    def ancestors(self) -> list["Location"]:
        """From the building down to the direct parent."""
        chain, node, seen = [], self.parent, {self.pk}
        while node is not None and node.pk not in seen:
            chain.append(node)
            seen.add(node.pk)
            node = node.parent
        return list(reversed(chain))


def project_key(name: str | None) -> str:
    """A project name as it is compared: Unicode-normalised (NFKC: full-width letters and digits
    are the ordinary ones), case-folded (Сокол, СОКОЛ and сокол are one; Straße is STRASSE) and
    without surrounding space. Stored beside each name (`project_key`), so the database compares
    keys, never names: neither SQLite's nor PostgreSQL's own case rules agree with Python's."""
    return unicodedata.normalize("NFKC", name or "").casefold().strip()


# What a device is, besides its serial number and custody: the columns of the legacy register,
# the device form and the import/export all list these. How it failed is a fact of each of its
# incidents, not of the device (a device can fail again on another station after a repair).
DEVICE_DETAIL_FIELDS = (
    "project",
    "hardware_version",
    "rom_version",
    "config",
)


class Device(models.Model):
    """A unit under test, identified by its serial number, wherever it is and whoever holds it."""

    project_path = "project"

    serial_number = CodeField(_("serial number"), max_length=64)
    # `code_key(serial_number)`, kept by save() and bulk inserts: what lookups and the unique
    # constraint compare (a serial in any case names one device, on either database).
    serial_key = CodeKeyField(max_length=200, source="serial_number")
    project = models.CharField(_("project"), max_length=100, blank=True)
    # `project_key(project)`, kept by save() and the bulk writers: what restrictions compare.
    project_key = models.CharField(max_length=200, blank=True, editable=False, db_index=True)
    hardware_version = models.CharField(_("hardware version"), max_length=50, blank=True)
    rom_version = models.CharField(_("ROM version"), max_length=50, blank=True)
    config = models.CharField(_("config"), max_length=100, blank=True)
    location = models.ForeignKey(
        "locations.Location",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="devices",
        verbose_name=_("current location"),
    )
    holder = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="held_devices",
        verbose_name=_("current holder"),
    )
    created_at = models.DateTimeField(_("registered at"), default=timezone.now)
    # The key follows the serial: its history is the serial's.
    history = HistoricalRecords(excluded_fields=["serial_key"])

    objects = ProjectRowsManager()

    class Meta:
        ordering = ["serial_number"]
        verbose_name = _("device")
        verbose_name_plural = _("devices")
        # Moving a device (scan station, hand-overs) is not editing what the device is.
        permissions = [("move_device", _("Can move devices and hand them over"))]
        constraints = [
            # The importer and the scan station match serial numbers ignoring case.
            models.UniqueConstraint(
                fields=["serial_key"],
                name="device_serial_key_unique",
                violation_error_message=_("A device with this serial number already exists."),
            ),
        ]
        indexes = [
            # The device list's order (the admin adds the key to make it certain): its first
            # page is read from here instead of sorting every device.
            models.Index(fields=["serial_number", "-id"], name="device_list_order"),
            # The list's project and hardware filters step through the pairs they offer here
            # (`selectors.device_kinds`) instead of reading every device for a distinct.
            models.Index(fields=["project", "hardware_version"], name="device_kinds"),
            # The list sorted by hardware version either way (the admin adds "-id"): a handful
            # of versions, each shared by thousands of devices, so the key is in the index too.
            models.Index(fields=["hardware_version", "-id"], name="device_hardware_order"),
            models.Index(fields=["-hardware_version", "-id"], name="device_hardware_order_desc"),
        ]

    def __str__(self) -> str:
        return self.serial_number

    def save(self, *args, **kwargs):
        self.project_key = project_key(self.project)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "project" in update_fields:
            update_fields = kwargs["update_fields"] = {*update_fields, "project_key"}
        if update_fields is not None and "serial_number" in update_fields:
            kwargs["update_fields"] = {*update_fields, "serial_key"}
        super().save(*args, **kwargs)

    def validate_constraints(self, exclude=None):
        super().validate_constraints(serial_key_checked(self, exclude))


def serial_key_checked(row, exclude):
    """Before a row's constraints are checked: its serial key follows the serial being
    validated, and is checked whenever the serial is (forms leave the key out, as nobody types
    it); the fields still left out."""
    row.serial_key = code_key(row.serial_number)
    if exclude and "serial_number" not in exclude:
        return set(exclude) - {"serial_key"}
    return exclude


class DeviceAlias(models.Model):
    """A serial number a device was registered under before it was corrected: scans, searches
    and imports still find the device by it, and no other device may take it."""

    device = models.ForeignKey(
        "locations.Device",
        on_delete=models.CASCADE,
        related_name="aliases",
        verbose_name=_("device"),
    )
    serial_number = CodeField(_("former serial number"), max_length=64)
    serial_key = CodeKeyField(max_length=200, source="serial_number")
    created_at = models.DateTimeField(_("corrected at"), default=timezone.now)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="device_aliases_given",
        verbose_name=_("corrected by"),
    )
    reason = models.CharField(_("reason"), max_length=500)

    class Meta:
        ordering = ["device", "-created_at", "-id"]
        verbose_name = _("former serial number")
        verbose_name_plural = _("former serial numbers")
        constraints = [
            models.UniqueConstraint(
                fields=["serial_key"],
                name="device_alias_serial_key_unique",
                violation_error_message=_("Another device was once registered under this serial."),
            ),
        ]

    def __str__(self) -> str:
        return self.serial_number

    def validate_constraints(self, exclude=None):
        super().validate_constraints(serial_key_checked(self, exclude))
